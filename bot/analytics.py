"""NPS figures computed in the database: counts per segment and period, then NPS, its margin
of error, the significance of a change, and response rates.

Only grouped counts leave the database, so a report over a million responses moves a few
rows, not a million. Every query is bounded by a period on an indexed timestamp
(``response.created_at``, ``invitation.due_at``).

Answers on a 1-5 scale are never mixed with 0-10 answers: every figure is keyed by scale,
and a 1-5 NPS is computed from its own categories (5 promoter, 3-4 passive, 1-2 detractor).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

from sqlalchemy import Select, and_, case, func, or_, text
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    Invitation,
    InvitationDaily,
    InvitationMonthly,
    InvitationRollup,
    Respondent,
    Response,
    ResponseDaily,
    ResponseMonthly,
    ResponseRollup,
)

SEGMENT_FIELDS: tuple[str, ...] = (
    "region", "country", "language", "customer_type", "buyer_type", "security_maturity",
    "channel", "survey_id", "touchpoint", "scale",
)

Z_95 = 1.959963984540054  # two-sided 95 % quantile of the standard normal distribution

# Invitations that never went out do not count against the response rate.
_NOT_SENT = ("scheduled", "suppressed", "failed")


@dataclass(frozen=True)
class NpsFigures:
    n: int
    promoters: int
    passives: int
    detractors: int

    @property
    def nps(self) -> float | None:
        """Share of promoters minus share of detractors, in points from -100 to 100."""
        if self.n == 0:
            return None
        return 100.0 * (self.promoters - self.detractors) / self.n

    @property
    def variance(self) -> float | None:
        """Variance of one answer scored +1 (promoter), 0 (passive) or -1 (detractor).

        With shares p and d: E[x^2] = p + d and E[x] = p - d, so the variance is
        p + d - (p - d)^2.
        """
        if self.n == 0:
            return None
        promoter_share = self.promoters / self.n
        detractor_share = self.detractors / self.n
        return max(promoter_share + detractor_share - (promoter_share - detractor_share) ** 2,
                   0.0)

    @property
    def margin_of_error(self) -> float | None:
        """Half-width of the 95 % confidence interval of the NPS, in points.

        The NPS is the mean of the +1/0/-1 scores, so its standard error is
        sqrt(variance / n).
        """
        if self.variance is None:
            return None
        return 100.0 * Z_95 * math.sqrt(self.variance / self.n)

    def __add__(self, other: NpsFigures) -> NpsFigures:
        return NpsFigures(self.n + other.n, self.promoters + other.promoters,
                          self.passives + other.passives, self.detractors + other.detractors)

    def as_dict(self) -> dict[str, Any]:
        return {
            "nps": _round(self.nps),
            "n": self.n,
            "promoters": self.promoters,
            "passives": self.passives,
            "detractors": self.detractors,
            "margin_of_error": _round(self.margin_of_error),
        }


EMPTY = NpsFigures(0, 0, 0, 0)


@dataclass(frozen=True)
class Change:
    """The change of the NPS from a previous period, in points, and its z statistic."""

    delta: float
    z: float | None

    @property
    def significant(self) -> bool:
        """Whether the change is significant at the 95 % level (two-sided)."""
        return self.z is not None and abs(self.z) >= Z_95


def compare(current: NpsFigures, previous: NpsFigures) -> Change | None:
    """Test the difference of two independent periods' NPS.

    The standard error of the difference is sqrt(var1 / n1 + var2 / n2); with both variances
    zero (every answer alike in each period) there is no z, and the change is not marked.
    """
    if current.nps is None or previous.nps is None:
        return None
    delta = current.nps - previous.nps
    assert current.variance is not None and previous.variance is not None
    standard_error = math.sqrt(current.variance / current.n + previous.variance / previous.n)
    z = None if standard_error == 0 else (delta / 100.0) / standard_error
    return Change(delta=delta, z=z)


@dataclass(frozen=True)
class Rate:
    """Invitations sent in a period and how many of them were answered."""

    sent: int
    answered: int

    @property
    def rate(self) -> float | None:
        return None if self.sent == 0 else self.answered / self.sent


@dataclass(frozen=True)
class Window:
    """A half-open period [start, end) in UTC."""

    start: datetime
    end: datetime

    @property
    def length(self) -> Any:
        return self.end - self.start


@dataclass(frozen=True)
class Segment:
    key: dict[str, str | None]
    figures: NpsFigures


@dataclass(frozen=True)
class NpsReport:
    overall: NpsFigures
    segments: tuple[Segment, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "overall": self.overall.as_dict(),
            "segments": [{"key": segment.key, **segment.figures.as_dict()}
                         for segment in self.segments],
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


class UnknownSegmentField(ValueError):
    """A ``--by`` field that responses are not segmented on."""


def check_fields(names: Sequence[str]) -> None:
    """Raise UnknownSegmentField naming the first field that is not a segment field."""
    for name in names:
        if name not in SEGMENT_FIELDS:
            raise UnknownSegmentField(
                f"cannot segment by {name!r}; choose from {', '.join(SEGMENT_FIELDS)}"
            )


def _counts() -> tuple[Any, ...]:
    category = col(Response.category)
    return (
        func.count().label("n"),
        func.count().filter(category == "promoter").label("promoters"),
        func.count().filter(category == "passive").label("passives"),
        func.count().filter(category == "detractor").label("detractors"),
    )


def _filters(filters: Mapping[str, str] | None) -> list[ColumnElement[bool]]:
    return [getattr(Response, name) == value for name, value in (filters or {}).items()]


def _in_window(column: Any, window: Window) -> ColumnElement[bool]:
    return and_(column >= window.start, column < window.end)


async def nps_report(
    session: AsyncSession,
    *,
    by: tuple[str, ...] = (),
    since: datetime | None = None,
    until: datetime | None = None,
    filters: dict[str, str] | None = None,
) -> NpsReport:
    """Count promoters, passives and detractors overall and per combination of ``by`` fields."""
    check_fields((*by, *(filters or {})))
    conditions = _filters(filters)
    if since is not None:
        conditions.append(col(Response.created_at) >= since)
    if until is not None:
        conditions.append(col(Response.created_at) < until)

    overall_row = (await session.exec(select(*_counts()).where(*conditions))).one()
    overall = _figures(overall_row)

    segments: list[Segment] = []
    if by:
        columns = [getattr(Response, name) for name in by]
        query = (select(*columns, *_counts()).where(*conditions)
                 .group_by(*columns).order_by(*columns))
        for row in await session.exec(query):
            key = {name: row[index] for index, name in enumerate(by)}
            segments.append(Segment(key=key, figures=_figures(row[len(by):])))
    return NpsReport(overall=overall, segments=tuple(segments))


# A figure's key: the ``by`` value (None without ``by`` or for a missing value) and the scale.
FigureKey = tuple[str | None, str]


async def figures_by_window(
    session: AsyncSession,
    *,
    windows: Sequence[Window],
    by: str | None = None,
    filters: Mapping[str, str] | None = None,
) -> list[dict[FigureKey, NpsFigures]]:
    """Count answers per window (and per ``by`` value and scale) with one grouped query per
    source: base rows, and on PostgreSQL the daily and monthly rollups.

    Returns one mapping per window, in the order given. Windows may be periods to compare
    or the buckets of a trend; they must not overlap.
    """
    check_fields([*(filters or {}), *([by] if by else [])])
    await _turn_off_jit(session)
    base, days, months = _plans(session, windows)
    queries = []
    if base.windows:
        queries.append((base, figures_query(windows=base.windows, by=by, filters=filters)))
    for table, plan in ((ResponseDaily, days), (ResponseMonthly, months)):
        if plan.windows:
            queries.append((plan, _rollup_figures_query(table, plan.windows, by, filters)))
    found: list[dict[FigureKey, NpsFigures]] = [{} for _ in windows]
    for plan, query in queries:
        for row in await session.exec(query):
            key = (_none_if_empty(row[2]) if by else None, row[1])
            for index, sign in plan.owners[row[0]]:
                found[index][key] = found[index].get(key, EMPTY) + _figures(row[-4:], sign)
    # Subtracted hours, and rollup rows whose responses were all deleted or moved, leave
    # keys with nothing counted.
    return [{key: value for key, value in bucket.items() if value.n} for bucket in found]


def figures_query(*, windows: Sequence[Window], by: str | None = None,
                  filters: Mapping[str, str] | None = None) -> Select[Any]:
    """Build the grouped count of responses behind ``figures_by_window``: one row per window
    index, scale and ``by`` value, with n, promoters, passives and detractors last."""
    check_fields([*(filters or {}), *([by] if by else [])])
    created = col(Response.created_at)
    label = case(*((_in_window(created, window), index) for index, window in enumerate(windows)))
    group: list[Any] = [label.label("window"), col(Response.scale)]
    if by:
        group.append(getattr(Response, by))
    return (
        select(*group, *_counts())
        .where(or_(*(_in_window(created, window) for window in windows)), *_filters(filters))
        .group_by(*group)
    )


# Invitations carry the survey and touchpoint; the other segment fields are the respondent's.
_RATE_COLUMNS: dict[str, Any] = {
    "region": Respondent.region, "country": Respondent.country, "language": Respondent.locale,
    "customer_type": Respondent.customer_type, "buyer_type": Respondent.buyer_type,
    "security_maturity": Respondent.security_maturity, "channel": Respondent.channel,
    "survey_id": Invitation.survey_id, "touchpoint": Invitation.touchpoint,
}


async def rates_by_window(
    session: AsyncSession,
    *,
    windows: Sequence[Window],
    by: str | None = None,
    filters: Mapping[str, str] | None = None,
) -> list[dict[str | None, Rate]]:
    """Count invitations sent (by ``due_at``) and answered per window and ``by`` value.

    Invitations do not copy the segment: both the base rows and the PostgreSQL rollup use
    the respondent's current one (see ``storage.rollups`` for how the rollup follows it).
    """
    _check_rate_fields([*(filters or {}), *([by] if by else [])])
    await _turn_off_jit(session)
    base, days, months = _plans(session, windows)
    queries = []
    if base.windows:
        queries.append((base, rates_query(windows=base.windows, by=by, filters=filters)))
    for table, plan in ((InvitationDaily, days), (InvitationMonthly, months)):
        if plan.windows:
            queries.append((plan, _rollup_rates_query(table, plan.windows, by, filters)))
    found: list[dict[str | None, Rate]] = [{} for _ in windows]
    for plan, query in queries:
        for row in await session.exec(query):
            key = _none_if_empty(row[1]) if by else None
            # A rollup SUM over a group without an answered invitation is NULL.
            sent, answered = int(row[-2]), int(row[-1] or 0)
            for index, sign in plan.owners[row[0]]:
                old = found[index].get(key, Rate(0, 0))
                found[index][key] = Rate(old.sent + sign * sent, old.answered + sign * answered)
    return [{key: value for key, value in bucket.items() if value.sent} for bucket in found]


def _check_rate_fields(names: Sequence[str]) -> None:
    for name in names:
        if name not in _RATE_COLUMNS:
            raise UnknownSegmentField(f"response rates cannot be split by {name!r}")


def rates_query(*, windows: Sequence[Window], by: str | None = None,
                filters: Mapping[str, str] | None = None) -> Select[Any]:
    """Build the grouped count of invitations behind ``rates_by_window``: window index,
    ``by`` value, sent, answered."""
    _check_rate_fields([*(filters or {}), *([by] if by else [])])
    due = col(Invitation.due_at)
    label = case(*((_in_window(due, window), index) for index, window in enumerate(windows)))
    group: list[Any] = [label.label("window")]
    if by:
        group.append(_RATE_COLUMNS[by])
    return (
        select(*group, func.count(), func.count().filter(col(Invitation.status) == "answered"))
        .join(Respondent, col(Respondent.id) == col(Invitation.respondent_id))
        .where(or_(*(_in_window(due, window) for window in windows)))
        .where(col(Invitation.status).not_in(_NOT_SENT))
        .where(*(_RATE_COLUMNS[name] == value for name, value in (filters or {}).items()))
        .group_by(*group)
    )


def _figures(row: Any, sign: int = 1) -> NpsFigures:
    n, promoters, passives, detractors = (sign * int(value or 0) for value in row)
    return NpsFigures(n=n, promoters=promoters, passives=passives, detractors=detractors)


# -- rollups (PostgreSQL) ------------------------------------------------------------------

DAY = timedelta(days=1)
# Columns of the invitation rollups by the names reports use.
_ROLLUP_RATE_COLUMNS = {"language": "locale"}


@dataclass(frozen=True)
class WindowParts:
    """A window as parts whose counts add up to the window's. Whole UTC months come from
    the monthly rollups and the other whole UTC days from the daily rollups. Base rows of at
    most half a day at each end are ``added`` to them or ``subtracted`` from them."""

    months: Window | None
    days: tuple[Window, ...]
    added: tuple[Window, ...]
    subtracted: tuple[Window, ...]


def split_window(window: Window) -> WindowParts:
    """Cut ``window`` into the parts each source counts.

    Both ends move to the nearest UTC midnight, so a bucket edge at a local midnight reads
    the hours of its zone's UTC offset from base rows, not the rest of the day.
    """
    start, end = _nearest_midnight(window.start), _nearest_midnight(window.end)
    if start >= end:
        return WindowParts(None, (), (window,), ())
    added = (Window(window.start, start), Window(end, window.end))
    subtracted = (Window(start, window.start), Window(window.end, end))
    months, days = _split(Window(start, end), _month_start, _next_month)
    return WindowParts(months, tuple(days), tuple(part for part in added if part.start < part.end),
                       tuple(part for part in subtracted if part.start < part.end))


def _split(window: Window, floor: Callable[[datetime], datetime],
           following: Callable[[datetime], datetime]) -> tuple[Window | None, list[Window]]:
    """Split ``window`` into the whole periods inside it and the parts at its edges.

    ``floor`` returns the start of the period that contains a moment, and ``following`` the
    start of the next period. A window without a whole period is returned as its only edge.
    """
    first = floor(window.start)
    if first < window.start:
        first = following(first)
    last = floor(window.end)
    if first >= last:
        return None, [window]
    edges = [Window(window.start, first)] if window.start < first else []
    if last < window.end:
        edges.append(Window(last, window.end))
    return Window(first, last), edges


def _nearest_midnight(moment: datetime) -> datetime:
    day = moment.astimezone(UTC).date()
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return midnight + DAY if moment - midnight > DAY / 2 else midnight


def _month_start(moment: datetime) -> datetime:
    utc = moment.astimezone(UTC)
    return datetime(utc.year, utc.month, 1, tzinfo=UTC)


def _next_month(start: datetime) -> datetime:
    return datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class _Plan:
    """The windows one source is read over, none overlapping another, and for each the
    (index of the requested window, +1 or -1) pairs its counts go to."""

    windows: list[Window]
    owners: list[list[tuple[int, int]]]


def _plans(session: AsyncSession, windows: Sequence[Window]) -> tuple[_Plan, _Plan, _Plan]:
    """Plan the reads of ``windows`` from base rows, daily rollups and monthly rollups.

    Only PostgreSQL keeps rollups (by trigger), so SQLite reads every window from base rows.
    """
    if session.get_bind().dialect.name != "postgresql":
        everything = _plan([(index, 1, window) for index, window in enumerate(windows)])
        return everything, _plan([]), _plan([])
    base: list[tuple[int, int, Window]] = []
    days: list[tuple[int, int, Window]] = []
    months: list[tuple[int, int, Window]] = []
    for index, window in enumerate(windows):
        parts = split_window(window)
        base += [(index, 1, part) for part in parts.added]
        base += [(index, -1, part) for part in parts.subtracted]
        days += [(index, 1, part) for part in parts.days]
        if parts.months is not None:
            months.append((index, 1, parts.months))
    return _plan(base), _plan(days), _plan(months)


def _plan(parts: list[tuple[int, int, Window]]) -> _Plan:
    """Cut signed ``parts`` at every start and end into windows that do not overlap.

    One grouped query gives each row one window label, but parts may overlap: where two
    adjacent buckets meet at a local midnight, one subtracts the hours the other adds.
    """
    bounds = sorted({moment for _, _, part in parts for moment in (part.start, part.end)})
    plan = _Plan([], [])
    for start, end in pairwise(bounds):
        owners = [(index, sign) for index, sign, part in parts
                  if part.start <= start and end <= part.end]
        if owners:
            plan.windows.append(Window(start, end))
            plan.owners.append(owners)
    return plan


async def _turn_off_jit(session: AsyncSession) -> None:
    """Turn off PostgreSQL's JIT compilation until the transaction ends.

    A report query over a few hundred thousand rows costs enough for PostgreSQL 15 to
    compile it, and compiling took longer than running it: 158 ms of a 238 ms query in
    ``bench/nps_query.py`` (``trend weekly`` with Europe/Berlin weeks).
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.exec(text("SET LOCAL jit = off"))


def _none_if_empty(value: Any) -> Any:
    return None if value == "" else value


def _rollup_figures_query(table: type[ResponseRollup], windows: list[Window], by: str | None,
                          filters: Mapping[str, str] | None) -> Select[Any]:
    start = col(table.period_start)
    label = case(*((_in_window(start, window), index) for index, window in enumerate(windows)))
    group: list[Any] = [label.label("window"), col(table.scale)]
    if by:
        group.append(getattr(table, by))
    return (
        select(*group, func.sum(table.n), func.sum(table.promoters), func.sum(table.passives),
               func.sum(table.detractors))
        .where(or_(*(_in_window(start, window) for window in windows)))
        .where(*(getattr(table, name) == value for name, value in (filters or {}).items()))
        .group_by(*group)
    )


def _rollup_rates_query(table: type[InvitationRollup], windows: list[Window], by: str | None,
                        filters: Mapping[str, str] | None) -> Select[Any]:
    start = col(table.period_start)
    count = col(table.n)
    label = case(*((_in_window(start, window), index) for index, window in enumerate(windows)))
    group: list[Any] = [label.label("window")]
    if by:
        group.append(getattr(table, _ROLLUP_RATE_COLUMNS.get(by, by)))
    return (
        select(*group, func.sum(count), func.sum(count).filter(col(table.status) == "answered"))
        .where(or_(*(_in_window(start, window) for window in windows)))
        .where(col(table.status).not_in(_NOT_SENT))
        .where(*(getattr(table, _ROLLUP_RATE_COLUMNS.get(name, name)) == value
                 for name, value in (filters or {}).items()))
        .group_by(*group)
    )
