"""Sending outbox rows through their channels, right after commit and again from the worker."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from sqlalchemy import or_
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.delivery_status import record_send_result
from bot.outbound import compose
from channels.base import (
    Channel,
    ChannelError,
    RateLimited,
    Transient,
    Unreachable,
)
from storage.models import Outbox, Respondent
from storage.types import utcnow

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5


class OutboxSender:
    """Delivers pending outbox rows and records the result on each row."""

    def __init__(
        self, *, sessions: async_sessionmaker[AsyncSession], channels: Mapping[str, Channel]
    ) -> None:
        self._sessions = sessions
        self._channels = channels
        # Per channel, when its latest rate limit ends; rows sent before then wait for it.
        self._resume_at: dict[str, datetime] = {}

    async def deliver(self, outbox_ids: Iterable[str]) -> int:
        """Send the given rows in order; return how many were sent."""
        sent = 0
        for outbox_id in outbox_ids:
            sent += await self._deliver_one(outbox_id)
        return sent

    async def deliver_stale(self, *, older_than: timedelta = timedelta(seconds=30),
                            limit: int = 200) -> int:
        """Re-send rows a crash left pending between commit and send."""
        now = utcnow()
        cutoff = now - older_than
        async with self._sessions() as session:
            found = await session.exec(
                select(Outbox.id)
                .where(Outbox.status == "pending")
                .where(col(Outbox.created_at) < cutoff)
                .where(or_(col(Outbox.next_attempt_at).is_(None),
                           col(Outbox.next_attempt_at) <= now))
                .order_by(col(Outbox.created_at), col(Outbox.ordinal))
                .limit(limit)
            )
            stale = list(found)
        if stale:
            logger.info("re-sending %d outbox rows left pending", len(stale))
        return await self.deliver(stale)

    async def _deliver_one(self, outbox_id: str) -> int:
        async with self._sessions() as session:
            row = await session.get(Outbox, outbox_id)
            if row is None or row.status != "pending":
                return 0
            if self._must_wait(row, utcnow()):
                await session.commit()
                return 0
            channel = self._channels.get(row.channel)
            if channel is None:
                logger.warning("no channel %r is configured; outbox %s stays pending",
                               row.channel, outbox_id)
                return 0
            row.attempts += 1
            capabilities = channel.capabilities
            try:
                # Only a channel with a reply window needs the respondent's last message.
                respondent = (await session.get(Respondent, row.respondent_id)
                              if capabilities.window is not None else None)
                message = compose(row, respondent, capabilities, now=utcnow())
                delivery = await channel.send(message)
            except ChannelError as error:
                await self._record_failure(session, row, error, utcnow())
                await record_send_result(session, row, now=utcnow(), error=error)
                await session.commit()
                return 0
            row.status = "sent"
            row.sent_at = utcnow()
            row.provider_message_id = delivery.provider_message_id
            await record_send_result(session, row, now=utcnow(),
                                     reports=capabilities.status_reports)
            await session.commit()
        logger.info("sent outbox %s (%s) on %s", outbox_id, row.message_key, row.channel)
        return 1

    def _must_wait(self, row: Outbox, now: datetime) -> bool:
        """Return whether the row's own retry time, or its channel's rate limit, is ahead.

        A row held back by its channel's limit gets that time, so the worker waits too.
        """
        if row.next_attempt_at is not None and row.next_attempt_at > now:
            return True
        resume_at = self._resume_at.get(row.channel)
        if resume_at is None or resume_at <= now:
            return False
        row.next_attempt_at = resume_at
        return True

    async def _record_failure(
        self, session: AsyncSession, row: Outbox, error: ChannelError, now: datetime
    ) -> None:
        row.last_error = f"{type(error).__name__}: {error}"
        if isinstance(error, Unreachable):
            row.status = "failed"
            respondent = await session.get(Respondent, row.respondent_id)
            if respondent is not None:
                respondent.unreachable_at = now
            logger.warning("respondent %s is unreachable on %s; outbox %s failed",
                           row.respondent_id, row.channel, row.id)
        elif isinstance(error, RateLimited | Transient) and row.attempts < MAX_ATTEMPTS:
            if isinstance(error, RateLimited):
                # The platform names the wait; nothing goes to this channel before it ends.
                row.next_attempt_at = now + timedelta(seconds=error.retry_after)
                self._resume_at[row.channel] = row.next_attempt_at
            logger.warning("outbox %s not sent (%s); it stays pending for a retry",
                           row.id, row.last_error)
        else:
            row.status = "failed"
            logger.error("outbox %s failed after %d attempts: %s",
                         row.id, row.attempts, row.last_error)
