"""Slack ``mrkdwn`` escaping for text that respondents wrote."""

from __future__ import annotations

import re

# Slack's formatting guide: only &, < and > need escaping, and nothing else may be escaped.
# Escaping "<" is what stops "<!channel>" from pinging everyone and "<url|label>" from hiding
# a link behind other words.
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,3}$")


def escape(text: str) -> str:
    """Escape ``&``, ``<`` and ``>`` once, so the text shows literally in a mrkdwn field.

    Call it exactly once on raw text: the ``&`` of an existing ``&amp;`` is escaped again on
    purpose, because the respondent typed those five characters.
    """
    return text.translate(_ESCAPES)


def truncate(text: str, limit: int, note: str) -> str:
    """Cut ``text`` so that it plus ``note`` fits in ``limit`` characters; unchanged if it fits."""
    if len(text) <= limit:
        return text
    keep = max(limit - len(note), 0)
    # Never cut an entity such as &amp; in half: Slack would show the broken rest literally.
    return _PARTIAL_ENTITY.sub("", text[:keep]) + note
