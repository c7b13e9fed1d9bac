"""Masking of personal data for Slack and logs: enough to recognise, not enough to reuse."""

from __future__ import annotations

import phonenumbers

_BULLET = "•"


def mask_address(address: str) -> str:
    """Mask a channel address: ``whatsapp:+5511999990000`` -> ``+55 •• ••••• 0000``.

    Phone numbers keep their country code and last four digits, grouped as the number is
    usually written; other addresses (chat ids, openids) keep their last four characters.
    """
    _, _, bare = address.rpartition(":")
    try:
        number = phonenumbers.parse(bare, None)
    except phonenumbers.NumberParseException:
        number = None
    if number is not None and phonenumbers.is_possible_number(number):
        return _mask_phone(number)
    if len(bare) <= 4:
        return _BULLET * len(bare)
    return _BULLET * 4 + bare[-4:]


def _mask_phone(number: phonenumbers.PhoneNumber) -> str:
    international = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    prefix = f"+{number.country_code}"
    rest = international.removeprefix(prefix)
    digits_total = sum(char.isdigit() for char in rest)
    shown_from = digits_total - 4
    seen = 0
    masked = []
    for char in rest:
        if char.isdigit():
            masked.append(char if seen >= shown_from else _BULLET)
            seen += 1
        else:
            masked.append(" " if char in " -" else char)
    return prefix + "".join(masked)
