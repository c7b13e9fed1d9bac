"""The ``/nps`` command's grammar: parse its text into a query with concrete periods.

``/nps [filters] [period] [by FIELD] [trend weekly|monthly|quarterly] [detractors [open]]
[public] [help]``. Every error message ends with the grammar, so the person who typed the
command sees how to fix it.
"""

from __future__ import annotations

import html
import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo

from bot.analytics import Window
from flows.catalog import SUPPORTED_LOCALES
from flows.language import normalize_locale

GRAMMAR = (
    "*Usage:* `/nps [filters] [period] [by FIELD] [trend weekly|monthly|quarterly] "
    "[detractors [open]] [public] [help]`\n"
    "• *filters:* `field=value`, with field one of "
    "region, country, language, customer_type, buyer_type, maturity, channel, survey, "
    "touchpoint\n"
    "• *period:* `last 7d`, `last 30d`, `last 90d`, `last 12w`, `quarter` (this quarter so "
    "far) or `since YYYY-MM-DD`; `last 30d` when none is given\n"
    "• `by FIELD` splits the figures by one of the filter fields\n"
    "• `trend` shows NPS per week, month or quarter\n"
    "• `detractors` lists the latest detractors; `detractors open` only those whose alert "
    "is not resolved\n"
    "• `public` posts the answer to the channel instead of only to you\n"
    "*Examples:* `/nps region=APAC quarter`, `/nps by region last 90d`, "
    "`/nps country=BR trend weekly`"
)

# The names people type, and the response column each one reads.
FIELDS: dict[str, str] = {
    "region": "region", "country": "country", "language": "language",
    "customer_type": "customer_type", "buyer_type": "buyer_type",
    "maturity": "security_maturity", "channel": "channel", "survey": "survey_id",
    "touchpoint": "touchpoint",
}
LAST_PERIODS: dict[str, timedelta] = {
    "7d": timedelta(days=7), "30d": timedelta(days=30), "90d": timedelta(days=90),
    "12w": timedelta(weeks=12),
}
TREND_INTERVALS = ("weekly", "monthly", "quarterly")
# The span a trend covers when no period is given: 12 weeks, 12 months or 8 quarters.
_TREND_BUCKETS = {"weekly": 12, "monthly": 12, "quarterly": 8}
# Typed on phones, quotes often arrive curly.
_QUOTES = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'"})
_TREND_UNITS = {"weekly": "weeks", "monthly": "months", "quarterly": "quarters"}


class GrammarError(ValueError):
    """The command text does not follow the grammar; the message says what and how."""

    def __init__(self, problem: str) -> None:
        super().__init__(f"{problem}\n\n{GRAMMAR}")
        self.problem = problem


@dataclass(frozen=True)
class Period:
    """The period asked for and the one it is compared with, with labels for people."""

    label: str
    current: Window
    previous: Window
    previous_label: str


@dataclass(frozen=True)
class NpsQuery:
    period: Period
    filters: dict[str, str] = field(default_factory=dict)
    by: str | None = None
    trend: str | None = None
    detractors: bool = False
    open_only: bool = False
    public: bool = False
    help: bool = False


@dataclass
class _Parts:
    filters: dict[str, str] = field(default_factory=dict)
    period: tuple[str, str | None] | None = None
    by: str | None = None
    trend: str | None = None
    detractors: bool = False
    open_only: bool = False
    public: bool = False
    help: bool = False


def parse(text: str, *, now: datetime, zone: tzinfo, regions: Iterable[str] = ()) -> NpsQuery:
    """Parse ``/nps`` text; raise GrammarError naming the first thing that does not fit."""
    # Slack escapes &, < and > in slash command text.
    cleaned = html.unescape(text).translate(_QUOTES)
    try:
        tokens = shlex.split(cleaned)
    except ValueError as error:
        raise GrammarError(f"Could not read `{text}`: {error}.") from error
    parts = _Parts()
    index = 0
    while index < len(tokens):
        index = _read_token(tokens, index, parts, list(regions))
    period = _period(parts, now=now, zone=zone)
    return NpsQuery(period=period, filters=parts.filters, by=parts.by, trend=parts.trend,
                    detractors=parts.detractors, open_only=parts.open_only,
                    public=parts.public, help=parts.help)


def _read_token(tokens: list[str], index: int, parts: _Parts, regions: list[str]) -> int:
    """Apply the token at ``index`` (and its argument) to ``parts``; return the next index."""
    token = tokens[index]
    word = token.lower()
    following = tokens[index + 1] if index + 1 < len(tokens) else None
    if "=" in token:
        name, value = _filter(token, regions)
        parts.filters[name] = value
        return index + 1
    if word in ("last", "since"):
        if following is None:
            raise GrammarError(f"`{word}` needs a value, e.g. `last 30d` or `since 2026-01-31`.")
        _set_period(parts, (word, following))
        return index + 2
    if word == "quarter":
        _set_period(parts, ("quarter", None))
        return index + 1
    if word == "by":
        if following is None or following.lower() not in FIELDS:
            raise GrammarError(f"`by` needs a field: one of {', '.join(FIELDS)}.")
        parts.by = FIELDS[following.lower()]
        return index + 2
    if word == "trend":
        if following is None or following.lower() not in TREND_INTERVALS:
            raise GrammarError("`trend` needs an interval: weekly, monthly or quarterly.")
        parts.trend = following.lower()
        return index + 2
    if word == "detractors":
        parts.detractors = True
        if following is not None and following.lower() == "open":
            parts.open_only = True
            return index + 2
        return index + 1
    if word in ("public", "help"):
        setattr(parts, word, True)
        return index + 1
    raise GrammarError(f"`{token}` is not part of the `/nps` grammar.")


def _set_period(parts: _Parts, period: tuple[str, str | None]) -> None:
    if parts.period is not None:
        raise GrammarError("Give at most one period.")
    parts.period = period


def _filter(token: str, regions: list[str]) -> tuple[str, str]:
    name, _, value = token.partition("=")
    key = name.strip().lower()
    value = value.strip()
    if key not in FIELDS:
        raise GrammarError(f"`{name}` cannot be filtered on; use one of {', '.join(FIELDS)}.")
    if not value:
        raise GrammarError(f"`{name}=` needs a value, e.g. `region=APAC`.")
    column = FIELDS[key]
    return column, _normalize(column, value, regions)


def _normalize(column: str, value: str, regions: list[str]) -> str:
    """Write a value the way responses store it: BR, pt_BR, APAC, whatsapp."""
    if column == "country":
        if len(value) != 2 or not value.isalpha():
            raise GrammarError(f"`country={value}` is not a two-letter country code such as BR.")
        return value.upper()
    if column == "language":
        locale = normalize_locale(value)
        if locale is None:
            raise GrammarError(f"`language={value}` is not a supported language; "
                               f"use one of {', '.join(SUPPORTED_LOCALES)}.")
        return locale
    if column == "region" and regions:
        for region in regions:
            if region.lower() == value.lower():
                return region
        raise GrammarError(f"`region={value}` is not a configured region; "
                           f"use one of {', '.join(regions)}.")
    if column == "channel":
        return value.lower()
    return value


def _period(parts: _Parts, *, now: datetime, zone: tzinfo) -> Period:
    kind, argument = parts.period or (None, None)
    if kind is None and parts.trend is not None:
        start = trend_start(parts.trend, now=now, zone=zone)
        return _span(f"the last {_TREND_BUCKETS[parts.trend]} {_TREND_UNITS[parts.trend]}",
                     Window(start, now))
    if kind is None:
        kind, argument = "last", "30d"
    if kind == "last":
        span = LAST_PERIODS.get((argument or "").lower())
        if span is None:
            raise GrammarError(f"`last {argument}` is not a period; use "
                               f"{', '.join('last ' + name for name in LAST_PERIODS)}.")
        return _span(f"the last {_plain(argument or '')}", Window(now - span, now))
    if kind == "since":
        start = _since(argument or "", now=now, zone=zone)
        return _span(f"since {argument}", Window(start, now))
    return _quarter(now, zone)


def _span(label: str, current: Window) -> Period:
    """The period and the one of equal length just before it."""
    previous = Window(current.start - current.length, current.start)
    return Period(label=label, current=current, previous=previous,
                  previous_label="the period before")


def _plain(span: str) -> str:
    number, unit = span[:-1], span[-1].lower()
    return f"{number} {'days' if unit == 'd' else 'weeks'}"


def _since(text: str, *, now: datetime, zone: tzinfo) -> datetime:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise GrammarError(f"`since {text}` is not a date; write it as YYYY-MM-DD.") from None
    start = datetime(day.year, day.month, day.day, tzinfo=zone)
    if start >= now:
        raise GrammarError(f"`since {text}` is in the future.")
    return start


def quarter_start(moment: datetime, zone: tzinfo, *, back: int = 0) -> datetime:
    """Return the start of the calendar quarter of ``moment`` in ``zone``, ``back`` earlier."""
    local = moment.astimezone(zone)
    index = local.year * 4 + (local.month - 1) // 3 - back
    return datetime(index // 4, (index % 4) * 3 + 1, 1, tzinfo=zone)


def _quarter(now: datetime, zone: tzinfo) -> Period:
    """This quarter so far, against the same number of days from the start of the last one."""
    start = quarter_start(now, zone)
    previous_start = quarter_start(now, zone, back=1)
    elapsed = now - start
    previous = Window(previous_start, min(previous_start + elapsed, start))
    return Period(label="this quarter so far", current=Window(start, now), previous=previous,
                  previous_label="the same days of last quarter")


def trend_start(interval: str, *, now: datetime, zone: tzinfo) -> datetime:
    """Return where a trend without a period starts: 12 weeks, 12 months or 8 quarters ago."""
    count = _TREND_BUCKETS[interval]
    return bucket_start(interval, now, zone, back=count - 1)


def bucket_start(interval: str, moment: datetime, zone: tzinfo, *, back: int = 0) -> datetime:
    """Return the start of the week (Monday), month or quarter of ``moment`` in ``zone``."""
    local = moment.astimezone(zone)
    if interval == "weekly":
        monday = local.date() - timedelta(days=local.weekday() + 7 * back)
        return datetime(monday.year, monday.month, monday.day, tzinfo=zone)
    if interval == "quarterly":
        return quarter_start(moment, zone, back=back)
    index = local.year * 12 + local.month - 1 - back
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=zone)


def trend_windows(interval: str, period: Window, zone: tzinfo) -> list[Window]:
    """Split ``period`` into calendar buckets; the first and last may be partial."""
    windows: list[Window] = []
    start = period.start
    while start < period.end:
        following = bucket_start(interval, start, zone, back=-1)
        end = min(following, period.end)
        windows.append(Window(start, end))
        start = end
    return windows
