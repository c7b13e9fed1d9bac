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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, case, func, or_
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Invitation, InvitationWeekly, Respondent, Response, ResponseWeekly

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
    """Count answers per window (and per ``by`` value and scale) in one grouped query.

    Returns one mapping per window, in the order given. Windows may be periods to compare
    or the buckets of a trend; they must not overlap.
    """
    found: list[dict[FigureKey, NpsFigures]] = [{} for _ in windows]
    base, weekly = _parts(session, windows)
    queries = []
    if base:
        queries.append(figures_query(windows=[part for _, part in base], by=by, filters=filters,
                                     labels=[index for index, _ in base]))
    if weekly:
        queries.append(_weekly_figures_query([part for _, part in weekly],
                                             [index for index, _ in weekly], by, filters))
    for query in queries:
        for row in await session.exec(query):
            figures = _figures(row[-4:])
            if figures.n == 0:
                continue
            key = (_none_if_empty(row[2]) if by else None, row[1])
            found[row[0]][key] = found[row[0]].get(key, EMPTY) + figures
    return found


def figures_query(*, windows: Sequence[Window], by: str | None = None,
                  filters: Mapping[str, str] | None = None,
                  labels: Sequence[int] | None = None) -> Select[Any]:
    """Build the grouped count of responses behind ``figures_by_window``: one row per window
    label (the window's index unless ``labels`` is given), scale and ``by`` value, with n,
    promoters, passives and detractors last."""
    check_fields([*(filters or {}), *([by] if by else [])])
    created = col(Response.created_at)
    label = case(*((_in_window(created, window), index)
                   for window, index in zip(windows, labels or range(len(windows)), strict=True)))
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

    NOTE: invitations do not copy the segment, so base rows use the respondent's current
    one and the PostgreSQL rollup the one when the invitation was counted. The two differ
    only for a customer who moved segment.
    """
    found: list[dict[str | None, Rate]] = [{} for _ in windows]
    base, weekly = _parts(session, windows)
    queries = []
    if base:
        queries.append(rates_query(windows=[part for _, part in base], by=by, filters=filters,
                                   labels=[index for index, _ in base]))
    if weekly:
        queries.append(_weekly_rates_query([part for _, part in weekly],
                                           [index for index, _ in weekly], by, filters))
    for query in queries:
        for row in await session.exec(query):
            key = _none_if_empty(row[1]) if by else None
            old = found[row[0]].get(key, Rate(0, 0))
            found[row[0]][key] = Rate(old.sent + int(row[-2]), old.answered + int(row[-1]))
    return found


def rates_query(*, windows: Sequence[Window], by: str | None = None,
                filters: Mapping[str, str] | None = None,
                labels: Sequence[int] | None = None) -> Select[Any]:
    """Build the grouped count of invitations behind ``rates_by_window``: window label,
    ``by`` value, sent, answered."""
    for name in [*(filters or {}), *([by] if by else [])]:
        if name not in _RATE_COLUMNS:
            raise UnknownSegmentField(f"response rates cannot be split by {name!r}")
    due = col(Invitation.due_at)
    label = case(*((_in_window(due, window), index)
                   for window, index in zip(windows, labels or range(len(windows)), strict=True)))
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


def _figures(row: Any) -> NpsFigures:
    n, promoters, passives, detractors = (int(value or 0) for value in row)
    return NpsFigures(n=n, promoters=promoters, passives=passives, detractors=detractors)


# -- weekly rollups (PostgreSQL) -----------------------------------------------------------

WEEK = timedelta(weeks=1)
# Columns of invitation_weekly by the names reports use.
_WEEKLY_RATE_COLUMNS = {"language": "locale"}


def split_weeks(window: Window) -> tuple[Window | None, list[Window]]:
    """Split ``window`` into whole UTC weeks (Monday 00:00) and the partial weeks at its
    edges: the whole weeks are read from the rollups, the edges from the base tables."""
    first = _monday(window.start)
    if first < window.start:
        first += WEEK
    last = _monday(window.end)
    if first >= last:
        return None, [window]
    edges = [Window(window.start, first)] if window.start < first else []
    if last < window.end:
        edges.append(Window(last, window.end))
    return Window(first, last), edges


def _monday(moment: datetime) -> datetime:
    utc = moment.astimezone(UTC)
    day = utc.date() - timedelta(days=utc.weekday())
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _parts(session: AsyncSession, windows: Sequence[Window]
           ) -> tuple[list[tuple[int, Window]], list[tuple[int, Window]]]:
    """Pair each window's index with the parts read from base rows and from rollups; only
    PostgreSQL keeps rollups (by trigger), so SQLite reads every part from base rows."""
    if session.get_bind().dialect.name != "postgresql":
        return list(enumerate(windows)), []
    base: list[tuple[int, Window]] = []
    weekly: list[tuple[int, Window]] = []
    for index, window in enumerate(windows):
        whole, edges = split_weeks(window)
        if whole is not None:
            weekly.append((index, whole))
        base += [(index, edge) for edge in edges]
    return base, weekly


def _none_if_empty(value: Any) -> Any:
    return None if value == "" else value


def _weekly_figures_query(windows: Sequence[Window], labels: Sequence[int], by: str | None,
                          filters: Mapping[str, str] | None) -> Select[Any]:
    week = col(ResponseWeekly.week_start)
    count = col(ResponseWeekly.n)
    category = col(ResponseWeekly.category)
    label = case(*((_in_window(week, window), index)
                   for window, index in zip(windows, labels, strict=True)))
    group: list[Any] = [label.label("window"), col(ResponseWeekly.scale)]
    if by:
        group.append(getattr(ResponseWeekly, by))
    return (
        select(*group, func.sum(count), func.sum(count).filter(category == "promoter"),
               func.sum(count).filter(category == "passive"),
               func.sum(count).filter(category == "detractor"))
        .where(or_(*(_in_window(week, window) for window in windows)))
        .where(*(getattr(ResponseWeekly, name) == value
                 for name, value in (filters or {}).items()))
        .group_by(*group)
    )


def _weekly_rates_query(windows: Sequence[Window], labels: Sequence[int], by: str | None,
                        filters: Mapping[str, str] | None) -> Select[Any]:
    week = col(InvitationWeekly.week_start)
    count = col(InvitationWeekly.n)
    label = case(*((_in_window(week, window), index)
                   for window, index in zip(windows, labels, strict=True)))
    group: list[Any] = [label.label("window")]
    if by:
        group.append(getattr(InvitationWeekly, _WEEKLY_RATE_COLUMNS.get(by, by)))
    return (
        select(*group, func.sum(count),
               func.sum(count).filter(col(InvitationWeekly.status) == "answered"))
        .where(or_(*(_in_window(week, window) for window in windows)))
        .where(col(InvitationWeekly.status).not_in(_NOT_SENT))
        .where(*(getattr(InvitationWeekly, _WEEKLY_RATE_COLUMNS.get(name, name)) == value
                 for name, value in (filters or {}).items()))
        .group_by(*group)
    )
