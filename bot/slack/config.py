"""The ``[slack]`` table of ``surveys.toml``: alert routing and thresholds, reminders, reply
templates and the weekly summary."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import time as TimeOfDay
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from flows import Scale

# The fields a segment route or a summary may name; ``maturity`` and ``survey`` are the
# short names that /nps also accepts.
ROUTE_FIELDS = ("region", "country", "language", "customer_type", "buyer_type",
                "security_maturity", "channel", "survey_id", "touchpoint")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

# Standard NPS detractors: 0-6 on 0-10. On 1-5 a 1 or 2 is a detractor.
DEFAULT_ALERT_MAX_SCORE: dict[Scale, int] = {Scale.ZERO_TO_TEN: 6, Scale.ONE_TO_FIVE: 2}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"{name!r} is not an IANA time zone such as 'Europe/Berlin'") from error
    return name


class SegmentRoute(_Strict):
    """Alerts of responses whose ``field`` equals ``value`` go to ``channel``."""

    field: Literal["region", "country", "language", "customer_type", "buyer_type",
                   "security_maturity", "channel", "survey_id", "touchpoint"]
    value: str
    channel: str


class ReplyTemplate(_Strict):
    """An approved message template, sent in place of free text outside a channel's window
    (WhatsApp allows free text only within 24 hours of the customer's last message)."""

    id: str = Field(description="Template id at the platform, e.g. a Twilio ContentSid.")
    preview: str = Field(description="The template's text, shown in the reply dialog.")
    variables: dict[str, str] = Field(default_factory=dict)


class SummaryConfig(_Strict):
    """The weekly summary: where, when (in ``SlackConfig.timezone``) and by which segments."""

    enabled: bool = True
    channel: str | None = Field(default=None, description="Defaults to slack.default_channel.")
    weekday: Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                     "sunday"] = "monday"
    time: str = "09:00"
    by: list[str] = Field(default_factory=lambda: ["region", "customer_type"])
    response_rate_target: float = Field(default=0.20, gt=0, le=1)

    @field_validator("time")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
            raise ValueError(f"{value!r} is not a time of day written as HH:MM, e.g. 09:00")
        return value

    @field_validator("by")
    @classmethod
    def _known_fields(cls, fields: list[str]) -> list[str]:
        unknown = [name for name in fields if name not in ROUTE_FIELDS]
        if unknown:
            raise ValueError(f"unknown segment field {unknown[0]!r}; "
                             f"choose from {', '.join(ROUTE_FIELDS)}")
        return fields

    @property
    def clock(self) -> TimeOfDay:
        hours, minutes = self.time.split(":")
        return TimeOfDay(int(hours), int(minutes))

    @property
    def weekday_index(self) -> int:
        return WEEKDAYS.index(self.weekday)


class SlackConfig(_Strict):
    """Where detractor alerts go and how the team is reminded and summarised.

    Routing: the first segment route that matches, else the channel of the response's region,
    else ``default_channel``.
    """

    default_channel: str = "#cx-alerts"
    routes: dict[str, str] = Field(default_factory=dict)
    segment_routes: list[SegmentRoute] = Field(default_factory=list)
    timezone: str = "UTC"
    alert_max_score: dict[Scale, int] = Field(default_factory=lambda: dict(DEFAULT_ALERT_MAX_SCORE))
    reminder_hours: float = Field(default=4.0, gt=0)
    reply_templates: dict[str, ReplyTemplate] = Field(default_factory=dict)
    summary: SummaryConfig = Field(default_factory=SummaryConfig)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return _zone(value)

    @field_validator("alert_max_score")
    @classmethod
    def _scores_on_scale(cls, limits: dict[Scale, int]) -> dict[Scale, int]:
        for scale, limit in limits.items():
            if not scale.low <= limit < scale.high:
                raise ValueError(f"alert_max_score for {scale.value} must be from {scale.low} "
                                 f"to {scale.high - 1}, not {limit}")
        return {**DEFAULT_ALERT_MAX_SCORE, **limits}

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def channel_for(self, region: str | None,
                    segment: Mapping[str, str | None] | None = None) -> str:
        """Return the Slack channel for an alert on a response of ``region`` and ``segment``."""
        for route in self.segment_routes:
            if segment is not None and segment.get(route.field) == route.value:
                return route.channel
        return self.routes.get(region or "", self.default_channel)

    def alerts_on(self, scale: Scale, score: int) -> bool:
        """Return whether a score is low enough to alert the team."""
        return score <= self.alert_max_score[scale]

    @property
    def summary_channel(self) -> str:
        return self.summary.channel or self.default_channel
