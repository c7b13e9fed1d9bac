"""Block Kit for detractor alerts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.slack.mrkdwn import escape, truncate

# Block Kit: a text object holds at most 3,000 characters.
TEXT_LIMIT = 3000
_CUT_NOTE = "\n_(comment shortened to fit Slack; the full text is stored with the response)_"

CLAIM_ACTION = "alert_claim"
RESOLVE_ACTION = "alert_resolve"
REPLY_ACTION = "alert_reply"


@dataclass(frozen=True)
class AlertView:
    """What an alert shows, with personal data already masked."""

    alert_id: str
    score: int
    scale_high: int
    customer: str
    masked_address: str
    channel: str
    locale: str
    comment: str | None
    comment_language: str | None
    segment: dict[str, str]
    answered_at: datetime


def _quote(comment: str) -> str:
    escaped = escape(comment)
    quoted = "\n".join(f">{line}" for line in escaped.splitlines()) or ">"
    return truncate(quoted, TEXT_LIMIT, _CUT_NOTE)


def fallback_text(view: AlertView) -> str:
    """The notification text, shown where blocks are not (push notifications, screen readers)."""
    return escape(f"Detractor {view.score}/{view.scale_high} from {view.customer}")


def alert_blocks(view: AlertView) -> list[dict[str, Any]]:
    """Build the alert message: score, who, segment, the comment, and the triage buttons."""
    segment = ", ".join(f"{key}: {value}" for key, value in view.segment.items() if value)
    fields = [
        f"*Score*\n{view.score} / {view.scale_high}",
        f"*Customer*\n{escape(view.customer)} ({escape(view.masked_address)})",
        f"*Channel*\n{escape(view.channel)}",
        f"*Language*\n{escape(view.comment_language or view.locale)}",
    ]
    if segment:
        fields.append(f"*Segment*\n{escape(segment)}")
    comment = _quote(view.comment) if view.comment else "_No comment given._"
    return [
        {"type": "header",
         "text": {"type": "plain_text", "text": f"Detractor: {view.score}/{view.scale_high}"}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": field} for field in fields]},
        {"type": "section", "text": {"type": "mrkdwn", "text": comment}},
        {"type": "context", "elements": [
            {"type": "mrkdwn", "text": f"Answered {view.answered_at:%Y-%m-%d %H:%M %Z}"}]},
        {"type": "actions", "block_id": "alert_actions", "elements": [
            _button("Claim", CLAIM_ACTION, view.alert_id, style="primary"),
            _button("Resolve", RESOLVE_ACTION, view.alert_id),
            _button("Reply to customer", REPLY_ACTION, view.alert_id),
        ]},
    ]


def _button(label: str, action_id: str, value: str, *, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "action_id": action_id,
        "value": value,
        "text": {"type": "plain_text", "text": label},
    }
    if style:
        button["style"] = style
    return button
