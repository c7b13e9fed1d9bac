"""The conversation state that travels between ``step`` calls and is persisted between them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from flows.catalog import SUPPORTED_LOCALES
from flows.language import LocaleSource
from flows.scoring import Category, Scale

DEFAULT_EXPIRY = timedelta(hours=72)


class Step(StrEnum):
    """The step a conversation is at; ``DONE`` is the terminal state."""

    CONSENT = "consent"
    SCORE = "score"
    REASON = "reason"
    EFFORT = "effort"
    DONE = "done"


class Outcome(StrEnum):
    """The reason a conversation reached ``DONE``."""

    COMPLETED = "completed"
    DECLINED = "declined"
    OPTED_OUT = "opted_out"
    EXPIRED = "expired"
    UNREADABLE = "unreadable"


class StateError(ValueError):
    """A stored state that this version of the conversation cannot continue."""


@dataclass(frozen=True)
class SurveySpec:
    """What the conversation needs to know about the survey it runs."""

    survey_id: str
    product: str
    scale: Scale = Scale.ZERO_TO_TEN
    ask_effort: bool = False
    policy_url: str = ""
    policy_version: str = "1"
    jurisdiction: str = "default"
    expiry: timedelta = DEFAULT_EXPIRY


@dataclass(frozen=True)
class ConversationState:
    """One respondent's progress through one survey.

    ``pending_score`` is a score sent before consent (``pending_raw`` the text it came in). It
    is recorded only once consent is given, and dropped if the conversation ends without it.
    ``reasks`` counts unreadable answers at the current step. ``version`` increases on every
    step so that a stale cached copy can be told from the durable one.
    """

    survey: SurveySpec
    step: Step
    locale: str
    locale_source: LocaleSource
    deadline: datetime
    reasks: int = 0
    pending_score: int | None = None
    pending_raw: str | None = None
    score: int | None = None
    category: Category | None = None
    outcome: Outcome | None = None
    version: int = 0

    @property
    def finished(self) -> bool:
        return self.step is Step.DONE

    def advance(self, **changes: Any) -> ConversationState:
        """Return a copy with ``changes`` applied and the version bumped."""
        return replace(self, version=self.version + 1, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Serialise to plain JSON types."""
        data = asdict(self)
        data["survey"]["expiry"] = self.survey.expiry.total_seconds()
        data["locale_source"] = int(self.locale_source)
        data["deadline"] = self.deadline.isoformat()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConversationState:
        """Rebuild a state from ``to_dict`` output; raise StateError if it cannot be read."""
        try:
            survey_data = dict(data["survey"])
            survey_data["scale"] = Scale(survey_data["scale"])
            survey_data["expiry"] = timedelta(seconds=float(survey_data["expiry"]))
            deadline = datetime.fromisoformat(data["deadline"])
            locale = str(data["locale"])
            if deadline.tzinfo is None:
                raise ValueError(f"deadline {data['deadline']!r} has no time zone")
            if locale not in SUPPORTED_LOCALES:
                raise ValueError(f"locale {locale!r} is not supported")
            return cls(
                survey=SurveySpec(**survey_data),
                step=Step(data["step"]),
                locale=locale,
                locale_source=LocaleSource(int(data["locale_source"])),
                deadline=deadline,
                reasks=int(data["reasks"]),
                pending_score=_optional_int(data.get("pending_score")),
                pending_raw=data.get("pending_raw"),
                score=_optional_int(data.get("score")),
                category=Category(data["category"]) if data.get("category") else None,
                outcome=Outcome(data["outcome"]) if data.get("outcome") else None,
                version=int(data["version"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise StateError(f"cannot read conversation state: {error!r}") from error


def _optional_int(value: Any) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"expected a whole number or null, got {value!r}")
    return value
