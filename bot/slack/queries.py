"""Record queries behind ``/nps detractors`` and the weekly summary: latest detractors, their
comments, and open alerts by age. Each is bounded by a period or a row limit."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.analytics import Window
from storage.models import Alert, Respondent, Response

# Ages of open alerts in the summary, as (label, upper bound).
AGE_BUCKETS: tuple[tuple[str, timedelta | None], ...] = (
    ("under 4 h", timedelta(hours=4)),
    ("4-24 h", timedelta(hours=24)),
    ("1-7 days", timedelta(days=7)),
    ("over 7 days", None),
)


@dataclass(frozen=True)
class Detractor:
    response_id: str
    score: int
    scale: str
    comment: str | None
    language: str | None
    created_at: datetime
    segment: dict[str, str | None]
    customer: str | None
    address: str
    alert_status: str | None
    claimed_by: str | None


async def latest_detractors(
    session: AsyncSession,
    *,
    window: Window,
    filters: Mapping[str, str] | None = None,
    open_only: bool = False,
    limit: int = 10,
) -> list[Detractor]:
    """Return the newest detractor answers in ``window``; ``open_only`` keeps those whose
    alert is not resolved."""
    query = (
        select(Response, Respondent.display_name, Respondent.address, Alert.status,
               Alert.claimed_by)
        .join(Respondent, col(Respondent.id) == col(Response.respondent_id))
        .outerjoin(Alert, col(Alert.response_id) == col(Response.id))
        .where(col(Response.category) == "detractor")
        .where(col(Response.created_at) >= window.start, col(Response.created_at) < window.end)
        .where(*(getattr(Response, name) == value for name, value in (filters or {}).items()))
        .order_by(col(Response.created_at).desc())
        .limit(limit)
    )
    if open_only:
        query = query.where(col(Alert.status).is_not(None), col(Alert.status) != "resolved")
    rows = await session.exec(query)
    return [
        Detractor(
            response_id=response.id, score=response.score, scale=response.scale,
            comment=response.comment, language=response.comment_language or response.language,
            created_at=response.created_at,
            segment={"region": response.region, "country": response.country,
                     "customer_type": response.customer_type, "channel": response.channel},
            customer=name, address=address, alert_status=status, claimed_by=claimed_by,
        )
        for response, name, address, status, claimed_by in rows
    ]


@dataclass(frozen=True)
class Comment:
    score: int
    scale: str
    language: str
    text: str
    region: str | None
    country: str | None
    customer_type: str | None
    channel: str


async def detractor_comments(
    session: AsyncSession, *, window: Window, limit: int = 2000
) -> list[Comment]:
    """Return the detractor comments of ``window``, newest first, at most ``limit``."""
    rows = await session.exec(
        select(Response.score, Response.scale, Response.comment_language, Response.language,
               Response.comment, Response.region, Response.country, Response.customer_type,
               Response.channel)
        .where(col(Response.category) == "detractor")
        .where(col(Response.created_at) >= window.start, col(Response.created_at) < window.end)
        .where(col(Response.comment).is_not(None))
        .order_by(col(Response.created_at).desc())
        .limit(limit)
    )
    return [
        Comment(score=score, scale=scale, language=comment_language or language or "und",
                text=text or "", region=region, country=country, customer_type=customer_type,
                channel=channel)
        for (score, scale, comment_language, language, text, region, country, customer_type,
             channel) in rows
    ]


async def open_alert_ages(session: AsyncSession, *, now: datetime) -> dict[str, int]:
    """Count alerts not yet resolved by how long ago they were raised."""
    created = col(Alert.created_at)
    bucket = case(
        *((created > now - bound, label) for label, bound in AGE_BUCKETS if bound is not None),
        else_=AGE_BUCKETS[-1][0],
    )
    rows = await session.exec(
        select(bucket, func.count()).where(col(Alert.status) != "resolved").group_by(bucket)
    )
    counts = dict.fromkeys((label for label, _ in AGE_BUCKETS), 0)
    counts.update({str(label): int(count) for label, count in rows})
    return counts
