"""Block Kit for detractor alerts and the reply dialog.

Limits from Slack's Block Kit reference: a text object holds at most 3,000 characters, a
message at most 50 blocks, a modal title 24 characters and a button label 75.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from bot.slack.mrkdwn import escape, truncate

TEXT_LIMIT = 3000
MAX_BLOCKS = 50
_CUT_NOTE = "\n_(comment shortened to fit Slack; the full text is stored with the response)_"

CLAIM_ACTION = "alert_claim"
RESOLVE_ACTION = "alert_resolve"
REPLY_ACTION = "alert_reply"
REPLY_VIEW = "alert_reply_view"
REPLY_BLOCK = "reply_text"
REPLY_INPUT = "reply_input"

# Twilio accepts at most 1,600 characters in a WhatsApp or SMS body; the other channels allow
# more, so this one limit fits every channel.
REPLY_MAX_LENGTH = 1600

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


@dataclass(frozen=True)
class AlertView:
    """The content of an alert message, with personal data already masked."""

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
    zone: tzinfo = UTC
    status: str = "open"
    claimed_by: str | None = None
    claimed_at: datetime | None = None
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    replies: int = 0


def mention(user_id: str | None) -> str:
    """Return ``<@U123>`` for a Slack user id; anything else is escaped as text."""
    if user_id and _USER_ID.match(user_id):
        return f"<@{user_id}>"
    return escape(user_id or "someone")


def local_time(moment: datetime, zone: tzinfo) -> str:
    return f"{moment.astimezone(zone):%Y-%m-%d %H:%M %Z}"


def quote(text: str, *, limit: int = TEXT_LIMIT, note: str = _CUT_NOTE) -> str:
    """Escape ``text`` once, quote each line, and cut the result to ``limit`` characters."""
    escaped = escape(text)
    quoted = "\n".join(f">{line}" for line in escaped.splitlines()) or ">"
    return truncate(quoted, limit, note)


def fallback_text(view: AlertView) -> str:
    """Return the notification text, shown where blocks are not (push, screen readers)."""
    return escape(f"Detractor {view.score}/{view.scale_high} from {view.customer}")


def _languages(view: AlertView) -> str:
    """Return the survey's language, and the comment's where detection found another."""
    if view.comment_language and view.comment_language != view.locale:
        return f"{view.locale} (comment in {view.comment_language})"
    return view.locale


def alert_blocks(view: AlertView) -> list[dict[str, Any]]:
    """Build the alert message: score, who, segment, the comment, its state and the buttons."""
    segment = ", ".join(f"{key}: {value}" for key, value in view.segment.items() if value)
    fields = [
        f"*Score*\n{view.score} / {view.scale_high}",
        f"*Customer*\n{escape(view.customer)} ({escape(view.masked_address)})",
        f"*Channel*\n{escape(view.channel)}",
        f"*Language*\n{escape(_languages(view))}",
    ]
    if segment:
        fields.append(f"*Segment*\n{escape(segment)}")
    comment = quote(view.comment) if view.comment else "_No comment given._"
    return [
        {"type": "header",
         "text": {"type": "plain_text", "text": f"Detractor: {view.score}/{view.scale_high}"}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": text} for text in fields]},
        {"type": "section", "text": {"type": "mrkdwn", "text": comment}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": line}
                                         for line in _state_lines(view)]},
        {"type": "actions", "block_id": "alert_actions", "elements": _buttons(view)},
    ]


def _state_lines(view: AlertView) -> list[str]:
    lines = [f"Answered {local_time(view.answered_at, view.zone)}"]
    if view.claimed_at is not None:
        lines.append(f"Claimed by {mention(view.claimed_by)} at "
                     f"{local_time(view.claimed_at, view.zone)}")
    if view.resolved_at is not None:
        lines.append(f"Resolved by {mention(view.resolved_by)} at "
                     f"{local_time(view.resolved_at, view.zone)}")
    if view.replies:
        lines.append(f"{view.replies} {'reply' if view.replies == 1 else 'replies'} sent "
                     "to the customer")
    return lines


def _buttons(view: AlertView) -> list[dict[str, Any]]:
    buttons = []
    if view.status == "open":
        buttons.append(_button("Claim", CLAIM_ACTION, view.alert_id, style="primary"))
    if view.status != "resolved":
        buttons.append(_button("Resolve", RESOLVE_ACTION, view.alert_id))
    buttons.append(_button("Reply to customer", REPLY_ACTION, view.alert_id))
    return buttons


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


@dataclass(frozen=True)
class ReplyForm:
    """The options of the reply dialog: free text, an approved template, or none, with why."""

    alert_id: str
    mode: str  # "text", "template" or "unavailable"
    channel: str
    reason: str = ""
    template_preview: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


def reply_modal(form: ReplyForm) -> dict[str, Any]:
    """Build the reply dialog; ``private_metadata`` carries the alert id and the mode."""
    blocks: list[dict[str, Any]] = []
    if form.reason:
        blocks.append(_section(form.reason))
    if form.mode == "text":
        blocks.append({
            "type": "input", "block_id": REPLY_BLOCK,
            "label": {"type": "plain_text", "text": f"Message to the customer on {form.channel}"},
            "element": {"type": "plain_text_input", "action_id": REPLY_INPUT,
                        "multiline": True, "max_length": REPLY_MAX_LENGTH},
        })
    elif form.mode == "template" and form.template_preview is not None:
        blocks.append(_section(f"The approved template that will be sent:\n"
                               f"{quote(form.template_preview, limit=2800)}"))
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": REPLY_VIEW,
        "private_metadata": json.dumps({"alert_id": form.alert_id, "mode": form.mode}),
        "title": {"type": "plain_text", "text": "Reply to customer"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
    }
    if form.mode != "unavailable":
        label = "Send" if form.mode == "text" else "Send template"
        view["submit"] = {"type": "plain_text", "text": label}
    return view


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def chunk_blocks(blocks: list[dict[str, Any]],
                 size: int = MAX_BLOCKS) -> list[list[dict[str, Any]]]:
    """Split blocks into messages of at most ``size`` (Slack rejects more than 50 per message)."""
    return [blocks[start:start + size] for start in range(0, len(blocks), size)] or [[]]
