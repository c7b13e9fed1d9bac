"""Alert Block Kit and the mrkdwn escaping of what respondents write."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime

from bot.slack.blocks import TEXT_LIMIT, AlertView, alert_blocks, fallback_text
from bot.slack.mrkdwn import escape

HOSTILE = "R&D <!channel> <@U1> <https://x.example|y>"
HOSTILE_ESCAPED = "R&amp;D &lt;!channel&gt; &lt;@U1&gt; &lt;https://x.example|y&gt;"


def _view(comment: str | None) -> AlertView:
    return AlertView(
        alert_id="alert-1", score=2, scale_high=10, customer="Ana <Example>",
        masked_address="+55 •• ••••• 0000", channel="whatsapp", locale="pt_BR",
        comment=comment, comment_language="pt_BR", segment={"region": "LATAM"},
        answered_at=datetime(2026, 12, 4, 10, 30, tzinfo=UTC),
    )


def test_escape_hostile_comment() -> None:
    assert escape(HOSTILE) == HOSTILE_ESCAPED


def test_escape_keeps_existing_entities_literal() -> None:
    assert escape("&amp;") == "&amp;amp;"


def test_alert_comment_escaped_once() -> None:
    blocks = alert_blocks(_view(HOSTILE))
    comment_block = blocks[2]["text"]["text"]

    assert comment_block == f">{HOSTILE_ESCAPED}"
    serialized = json.dumps(blocks)
    assert "<!channel>" not in serialized
    assert "&amp;amp;" not in serialized


def test_customer_name_escaped() -> None:
    fields = [field["text"] for field in alert_blocks(_view(None))[1]["fields"]]

    assert "*Customer*\nAna &lt;Example&gt; (+55 •• ••••• 0000)" in fields
    assert fallback_text(_view(None)) == "Detractor 2/10 from Ana &lt;Example&gt;"


def test_long_comment_cut_to_limit() -> None:
    text = alert_blocks(_view("x" * 5000))[2]["text"]["text"]

    assert len(text) == TEXT_LIMIT
    assert text.endswith("the full text is stored with the response)_")


def test_multiline_comment_quoted_per_line() -> None:
    text = alert_blocks(_view("first\nsecond"))[2]["text"]["text"]

    assert text == ">first\n>second"


def test_missing_comment_says_so() -> None:
    assert alert_blocks(_view(None))[2]["text"]["text"] == "_No comment given._"


def test_language_names_comment_language_when_different() -> None:
    view = dataclasses.replace(_view("la app se cae"), locale="es", comment_language="en")
    fields = [field["text"] for field in alert_blocks(view)[1]["fields"]]

    assert "*Language*\nes (comment in en)" in fields


def test_language_single_when_same() -> None:
    fields = [field["text"] for field in alert_blocks(_view("ok"))[1]["fields"]]

    assert "*Language*\npt_BR" in fields
