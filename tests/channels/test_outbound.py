"""Choosing free text, buttons or a template for an outbox row at send time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.outbound import compose, window_open
from channels.base import Button, Capabilities, OutsideWindow
from storage.models import Outbox, Respondent

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
WHATSAPP = Capabilities(buttons=False, window=timedelta(hours=24), window_template="HXw",
                        score_template="HXs")
TELEGRAM = Capabilities(buttons=True, max_buttons=12, user_starts=True)
BUTTONS = [{"label": "0", "payload": "nps:0"}, {"label": "10", "payload": "nps:10"}]


def _row(key: str = "consent.prompt", text: str = "Is that OK?\nReply YES") -> Outbox:
    return Outbox(respondent_id="r1", channel="whatsapp", address="whatsapp:+5511999990000",
                  message_key=key, text=text, buttons=list(BUTTONS))


def _respondent(hours_ago: float | None) -> Respondent:
    last = None if hours_ago is None else NOW - timedelta(hours=hours_ago)
    return Respondent(channel="whatsapp", address="whatsapp:+5511999990000",
                      last_inbound_at=last)


@pytest.mark.parametrize(("hours_ago", "is_open"), [(None, False), (1, True), (23.9, True),
                                                    (24, False), (25, False)])
def test_window_counts_from_last_inbound(hours_ago: float | None, is_open: bool) -> None:
    assert window_open(_respondent(hours_ago), WHATSAPP, NOW) is is_open


def test_no_window_always_open() -> None:
    assert window_open(None, TELEGRAM, NOW) is True


def test_inside_window_free_text() -> None:
    message = compose(_row(), _respondent(1), WHATSAPP, now=NOW)

    assert message.template_id is None
    assert message.text == "Is that OK?\nReply YES"
    assert message.buttons == ()


def test_outside_window_template() -> None:
    message = compose(_row(), _respondent(30), WHATSAPP, now=NOW)

    assert message.template_id == "HXw"
    assert message.template_variables == {"1": "Is that OK? Reply YES"}


def test_outside_window_without_template() -> None:
    capabilities = Capabilities(buttons=False, window=timedelta(hours=24))

    with pytest.raises(OutsideWindow, match="no approved template"):
        compose(_row(), _respondent(None), capabilities, now=NOW)


def test_score_prompt_uses_score_template() -> None:
    message = compose(_row("score.prompt_0_10", "0-10?"), _respondent(1), WHATSAPP, now=NOW)

    assert message.template_id == "HXs"
    assert message.template_variables == {"1": "0-10?"}


def test_score_outside_window_uses_window_template() -> None:
    message = compose(_row("score.hint_0_10", "0-10?"), _respondent(48), WHATSAPP, now=NOW)

    assert message.template_id == "HXw"


def test_buttons_kept_where_supported() -> None:
    message = compose(_row(), None, TELEGRAM, now=NOW)

    assert message.buttons == (Button("0", "nps:0"), Button("10", "nps:10"))
    assert message.template_id is None


def test_row_template_wins() -> None:
    row = _row()
    row.template_sid = "HXrow"
    row.template_variables = {"1": "x"}

    message = compose(row, _respondent(None), WHATSAPP, now=NOW)

    assert message.template_id == "HXrow"
    assert message.template_variables == {"1": "x"}
