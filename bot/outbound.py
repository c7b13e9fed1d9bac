"""Turning an outbox row into the message a channel sends, within the platform's rules.

The decision is taken at send time, not when the row is queued, because the window can
close in between: a row re-sent by the worker a day later may need a template.
"""

from __future__ import annotations

from datetime import datetime

from channels.base import Button, Capabilities, OutboundMessage, OutsideWindow
from storage.models import Outbox, Respondent

# Catalog keys of the score question and its re-ask, which carry the score buttons.
_SCORE_KEY_PREFIX = "score."


def window_open(respondent: Respondent | None, capabilities: Capabilities, now: datetime) -> bool:
    """Whether free-form messages may go to ``respondent`` now.

    WhatsApp counts 24 hours from the customer's last message; our own messages never
    reopen the window, so a respondent who has never written is outside it.
    """
    if capabilities.window is None:
        return True
    last = respondent.last_inbound_at if respondent is not None else None
    return last is not None and now - last < capabilities.window


def compose(
    row: Outbox, respondent: Respondent | None, capabilities: Capabilities, *, now: datetime
) -> OutboundMessage:
    """Build the message for ``row``: text with buttons, or a template where one is needed.

    Outside the window the channel's approved ``window_template`` carries the text as
    variable ``1``; inside it the score question uses ``score_template`` when there is one,
    so its quick-reply buttons appear. Raises OutsideWindow when a template is needed and
    the channel has none configured.
    """
    if row.template_sid:
        return OutboundMessage(address=row.address, text=row.text, template_id=row.template_sid,
                               template_variables=dict(row.template_variables))

    if not window_open(respondent, capabilities, now):
        if capabilities.window_template is None:
            raise OutsideWindow(
                f"outbox {row.id}: the respondent's last message is older than the "
                f"{capabilities.window} window and no approved template is configured"
            )
        return _template(row, capabilities.window_template)

    if capabilities.score_template and row.message_key.startswith(_SCORE_KEY_PREFIX):
        return _template(row, capabilities.score_template)

    buttons: tuple[Button, ...] = ()
    if capabilities.buttons:
        buttons = tuple(Button(item["label"], item["payload"]) for item in row.buttons)
    return OutboundMessage(address=row.address, text=row.text, buttons=buttons)


def _template(row: Outbox, template_id: str) -> OutboundMessage:
    # WhatsApp rejects template variables that contain line breaks.
    variables = {"1": " ".join(row.text.split())}
    return OutboundMessage(address=row.address, text=row.text, template_id=template_id,
                           template_variables=variables)
