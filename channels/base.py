"""The contract every messaging channel implements, and the few errors it may raise.

A channel turns its platform's webhooks into ``InboundMessage`` and sends ``OutboundMessage``.
Platform SDK exceptions never leave a channel: each is mapped to one of the errors below and
raised ``from`` the original, so nothing above this package depends on Twilio or Telegram
codes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol


@dataclass(frozen=True)
class Button:
    label: str
    payload: str


@dataclass(frozen=True)
class InboundMessage:
    """One message from a respondent, already verified and parsed from the platform's format."""

    channel: str
    address: str
    provider_message_id: str
    received_at: datetime
    text: str = ""
    payload: str | None = None
    display_name: str | None = None
    language_code: str | None = None


@dataclass(frozen=True)
class OutboundMessage:
    """A message to one respondent: free text with optional buttons, or an approved template."""

    address: str
    text: str
    buttons: tuple[Button, ...] = ()
    template_id: str | None = None
    template_variables: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Delivery:
    """The platform's receipt for an accepted message."""

    provider_message_id: str | None


@dataclass(frozen=True)
class Capabilities:
    """The properties of a channel that the conversation service works with.

    ``window`` is how long after the respondent's last message free-form messages are allowed
    (WhatsApp: 24 hours); outside it only the approved ``window_template`` may be sent.
    ``score_template`` is a template whose quick-reply buttons carry the score payloads, for
    platforms where buttons exist only in templates. ``user_starts`` means the platform lets a
    bot write only to people who wrote to it first (Telegram), so an address must come from
    an earlier message. ``status_reports`` means the platform reports what happened to each
    sent message later (Twilio's status callbacks).
    """

    buttons: bool
    max_buttons: int = 0
    window: timedelta | None = None
    window_template: str | None = None
    score_template: str | None = None
    user_starts: bool = False
    status_reports: bool = False


class DeliveryState(StrEnum):
    """The delivery state of a sent message, which every platform's status words map to."""

    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


@dataclass(frozen=True)
class DeliveryReport:
    """A platform's report on a message we sent, such as a Twilio status callback.

    ``status`` is the platform's own word (``undelivered``), ``state`` its meaning here.
    ``error`` is set for failures: the channel error kind the platform's code maps to.
    """

    channel: str
    provider_message_id: str
    status: str
    state: DeliveryState
    received_at: datetime
    error_code: str | None = None
    error: ChannelError | None = None


class ChannelError(Exception):
    """Base of the errors a channel raises when a send fails."""


class Unreachable(ChannelError):
    """The respondent cannot be messaged on this channel (blocked the bot, invalid number)."""


class RateLimited(ChannelError):
    """The platform asked us to slow down; try again after ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class OutsideWindow(ChannelError):
    """Free-form messages are not allowed now; send an approved template instead."""


class Transient(ChannelError):
    """A network error or platform outage; the same send may succeed later."""


class InvalidWebhook(ValueError):
    """A webhook body that is not in the platform's format or lacks a required field."""


class Channel(Protocol):
    """A messaging platform adapter."""

    name: str
    capabilities: Capabilities

    async def send(self, message: OutboundMessage) -> Delivery:
        """Send ``message``; raise one of the ChannelError kinds on failure."""
        ...
