from __future__ import annotations

import pytest

from bot.masking import mask_address


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("whatsapp:+5511999990000", "+55 •• ••••• 0000"),
        ("+14155550100", "+1 ••• ••• 0100"),
        ("sms:+819012345678", "+81 •• •••• 5678"),
        ("123456789", "••••6789"),
        ("abc", "•••"),
    ],
    ids=["whatsapp-br", "us", "sms-jp", "chat-id", "short"],
)
def test_mask_address(address: str, masked: str) -> None:
    assert mask_address(address) == masked
