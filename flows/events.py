"""What ``step`` receives (events) and what it asks the caller to do (actions)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flows.language import LocaleSource
from flows.scoring import Category, Scale
from flows.state import Outcome


@dataclass(frozen=True)
class Reply:
    """A message from the respondent: typed text, a button payload, or both."""

    text: str
    received_at: datetime
    payload: str | None = None


@dataclass(frozen=True)
class Tick:
    """A clock event from the worker, used to expire conversations left unanswered."""

    now: datetime


Event = Reply | Tick


@dataclass(frozen=True)
class Button:
    label: str
    payload: str


@dataclass(frozen=True)
class Send:
    """Send a rendered message; ``key`` names the catalog entry it came from."""

    key: str
    text: str
    locale: str
    buttons: tuple[Button, ...] = field(default=())


@dataclass(frozen=True)
class RecordConsent:
    """Store the consent decision with the exact text the respondent was shown."""

    granted: bool
    text_shown: str
    locale: str
    catalog_version: str
    policy_version: str
    jurisdiction: str


@dataclass(frozen=True)
class RecordScore:
    score: int
    scale: Scale
    category: Category
    raw: str


@dataclass(frozen=True)
class RecordComment:
    text: str
    language: str | None


@dataclass(frozen=True)
class RecordEffort:
    """Store the customer effort score (CES, 1-7)."""

    score: int
    raw: str


@dataclass(frozen=True)
class OptOut:
    """Opt the respondent out of every survey on every channel."""


@dataclass(frozen=True)
class SetLocale:
    """Remember the respondent's language; ``source`` is the signal it came from."""

    locale: str
    source: LocaleSource


@dataclass(frozen=True)
class Finish:
    outcome: Outcome


Action = (
    Send | RecordConsent | RecordScore | RecordComment | RecordEffort | OptOut | SetLocale | Finish
)
