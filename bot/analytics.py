"""NPS figures computed in the database: counts per segment, then NPS and its margin of error.

Only grouped counts leave the database, so a report over a million responses moves a few
rows, not a million.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Response

SEGMENT_FIELDS: tuple[str, ...] = (
    "region", "country", "language", "customer_type", "buyer_type", "security_maturity",
    "channel", "survey_id", "touchpoint", "scale",
)

Z_95 = 1.959963984540054  # two-sided 95 % quantile of the standard normal distribution


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
    def margin_of_error(self) -> float | None:
        """Half-width of the 95 % confidence interval of the NPS, in points.

        Each answer is +1 (promoter), 0 (passive) or -1 (detractor); the NPS is their mean, so
        its standard error is sqrt(variance / n) with variance = p + d - (p - d)^2.
        """
        if self.n == 0:
            return None
        promoter_share = self.promoters / self.n
        detractor_share = self.detractors / self.n
        variance = promoter_share + detractor_share - (promoter_share - detractor_share) ** 2
        return 100.0 * Z_95 * math.sqrt(max(variance, 0.0) / self.n)

    def as_dict(self) -> dict[str, Any]:
        return {
            "nps": _round(self.nps),
            "n": self.n,
            "promoters": self.promoters,
            "passives": self.passives,
            "detractors": self.detractors,
            "margin_of_error": _round(self.margin_of_error),
        }


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


async def nps_report(
    session: AsyncSession,
    *,
    by: tuple[str, ...] = (),
    since: datetime | None = None,
    until: datetime | None = None,
    filters: dict[str, str] | None = None,
) -> NpsReport:
    """Count promoters, passives and detractors overall and per combination of ``by`` fields."""
    for name in (*by, *(filters or {})):
        if name not in SEGMENT_FIELDS:
            raise UnknownSegmentField(
                f"cannot segment by {name!r}; choose from {', '.join(SEGMENT_FIELDS)}"
            )
    conditions = []
    if since is not None:
        conditions.append(col(Response.created_at) >= since)
    if until is not None:
        conditions.append(col(Response.created_at) < until)
    for name, value in (filters or {}).items():
        conditions.append(getattr(Response, name) == value)

    counts = (
        func.count().label("n"),
        func.sum(case((col(Response.category) == "promoter", 1), else_=0)).label("promoters"),
        func.sum(case((col(Response.category) == "passive", 1), else_=0)).label("passives"),
        func.sum(case((col(Response.category) == "detractor", 1), else_=0)).label("detractors"),
    )
    overall_row = (await session.exec(select(*counts).where(*conditions))).one()
    overall = _figures(overall_row)

    segments: list[Segment] = []
    if by:
        columns = [getattr(Response, name) for name in by]
        query = select(*columns, *counts).where(*conditions).group_by(*columns).order_by(*columns)
        for row in await session.exec(query):
            key = {name: row[index] for index, name in enumerate(by)}
            segments.append(Segment(key=key, figures=_figures(row[len(by):])))
    return NpsReport(overall=overall, segments=tuple(segments))


def _figures(row: Any) -> NpsFigures:
    n, promoters, passives, detractors = (int(value or 0) for value in row)
    return NpsFigures(n=n, promoters=promoters, passives=passives, detractors=detractors)
