"""The weekly summary: posted by the worker once per week at the time set in ``surveys.toml``
(``[slack.summary]``, Monday 09:00 in ``slack.timezone`` by default).

The ``slack_summary`` row, unique per period, makes a second summary for a week impossible.
Progress is recorded after each step (first message, each thread message, the chart), so a
worker that restarts continues where the last one stopped instead of starting again. The
first message carries a metadata marker, so a post whose outcome was lost is looked up
rather than repeated.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from slack_sdk.errors import SlackApiError, SlackRequestError
from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.analytics import Window
from bot.runtime import Runtime
from bot.slack.alerts import Marker, MessagePoster, PostedMessage, PostFailed
from bot.slack.blocks import chunk_blocks
from bot.slack.config import SlackConfig
from bot.slack.digest import Digest, build_digest
from storage.models import SlackSummary
from storage.types import utcnow

logger = logging.getLogger(__name__)

SUMMARY_EVENT = "nps_weekly_summary"
LEASE = timedelta(minutes=10)
RETRY_PAUSE = timedelta(minutes=2)


def summary_week(now: datetime, config: SlackConfig) -> Window:
    """Return the week that ends at the latest scheduled time at or before ``now``."""
    zone = config.zone
    local = now.astimezone(zone)
    clock = config.summary.clock
    days_back = (local.weekday() - config.summary.weekday_index) % 7
    day = local.date() - timedelta(days=days_back)
    end = datetime(day.year, day.month, day.day, clock.hour, clock.minute, tzinfo=zone)
    if end > now:
        end -= timedelta(days=7)
    return Window(end - timedelta(days=7), end)


async def post_weekly_summary(runtime: Runtime, *, now: datetime | None = None) -> int:
    """Post the summary of the last finished week unless it is posted; return 1 if posted."""
    config = runtime.surveys.slack
    if not config.summary.enabled or runtime.slack_client is None:
        return 0
    now = now or utcnow()
    week = summary_week(now, config)
    summary_id = await _claim(runtime.sessions, week, config.summary_channel, now)
    if summary_id is None:
        return 0
    async with runtime.sessions() as session:
        digest = await build_digest(session, week=week, config=config, now=now)
    publisher = _Publisher(runtime.sessions, runtime.alerts.poster, runtime)
    try:
        await publisher.publish(summary_id, digest, now)
    except (PostFailed, SlackApiError, SlackRequestError) as error:
        await publisher.record_failure(summary_id, error, now)
        return 0
    logger.info("posted the weekly summary %s for the week to %s", summary_id,
                week.end.isoformat())
    return 1


async def _claim(sessions: async_sessionmaker[AsyncSession], week: Window, channel: str,
                 now: datetime) -> str | None:
    """Create the week's row if missing, then lease it; None when posted or leased."""
    try:
        async with sessions() as session, session.begin():
            session.add(SlackSummary(period_start=week.start, period_end=week.end,
                                     channel=channel, created_at=now))
    except IntegrityError:
        pass  # The row exists: this week was started before, here or by another worker.
    async with sessions() as session, session.begin():
        found = await session.exec(select(SlackSummary).where(
            col(SlackSummary.kind) == "weekly", col(SlackSummary.period_start) == week.start))
        row = found.one()
        taken = await session.exec(
            update(SlackSummary)
            .where(col(SlackSummary.id) == row.id, col(SlackSummary.status) == "posting")
            .where(or_(col(SlackSummary.lease_until).is_(None),
                       col(SlackSummary.lease_until) < now))
            .values(lease_until=now + LEASE)
            .execution_options(synchronize_session=False)
        )
        return row.id if taken.rowcount == 1 else None


class _Publisher:
    """Posts the parts of one summary that are not posted yet, recording each one."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], poster: MessagePoster,
                 runtime: Runtime) -> None:
        self._sessions = sessions
        self._poster = poster
        self._client = runtime.slack_client

    async def publish(self, summary_id: str, digest: Digest, now: datetime) -> None:
        chunks = chunk_blocks(digest.blocks)
        row = await self._load(summary_id)
        if row.parts_posted == 0:
            first = await self._first(row, digest, chunks[0], now)
            row = await self._save(summary_id, slack_channel=first.channel, slack_ts=first.ts,
                                   parts_posted=1)
        assert row.slack_channel is not None and row.slack_ts is not None
        # NOTE: a thread part whose post is lost in a crash is posted again on resume.
        for index in range(row.parts_posted, len(chunks)):
            await self._poster.post(channel=row.slack_channel, thread_ts=row.slack_ts,
                                    text=f"{digest.title} (part {index + 1} of {len(chunks)})",
                                    blocks=chunks[index])
            row = await self._save(summary_id, parts_posted=index + 1)
        if digest.chart is not None and not row.chart_posted and self._client is not None:
            await self._client.files_upload_v2(
                channel=row.slack_channel, thread_ts=row.slack_ts, content=digest.chart,
                filename="nps-trend-by-region.png", title="NPS by region, 12 weeks",
                alt_txt="Line chart of weekly NPS per region over the last 12 weeks")
            await self._save(summary_id, chart_posted=True)
        await self._save(summary_id, status="posted", posted_at=now, lease_until=None)

    async def _first(self, row: SlackSummary, digest: Digest, blocks: list[dict[str, object]],
                     now: datetime) -> PostedMessage:
        marker = Marker(event_type=SUMMARY_EVENT, key=row.id)
        if row.post_started_at is not None:
            found = await self._poster.find(channel=row.channel, marker=marker,
                                            since=row.created_at)
            if found is not None:
                logger.info("summary %s was already posted; continuing in its thread", row.id)
                return found
        await self._save(row.id, post_started_at=now)
        return await self._poster.post(channel=row.channel, text=digest.title,
                                       blocks=list(blocks), marker=marker)

    async def record_failure(self, summary_id: str, error: Exception, now: datetime) -> None:
        await self._save(summary_id, last_error=str(error)[:500], lease_until=now + RETRY_PAUSE)
        logger.warning("weekly summary %s not finished (%s); retrying after %s",
                       summary_id, error, RETRY_PAUSE)

    async def _load(self, summary_id: str) -> SlackSummary:
        async with self._sessions() as session:
            row = await session.get(SlackSummary, summary_id)
        if row is None:
            raise LookupError(f"slack_summary {summary_id} not found")
        return row

    async def _save(self, summary_id: str, **values: object) -> SlackSummary:
        async with self._sessions() as session, session.begin():
            row = await session.get(SlackSummary, summary_id)
            if row is None:
                raise LookupError(f"slack_summary {summary_id} not found")
            for name, value in values.items():
                setattr(row, name, value)
        return row
