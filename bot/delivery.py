"""Sending outbox rows through their channels, right after commit and again from the worker."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from channels.base import (
    Button,
    Channel,
    ChannelError,
    OutboundMessage,
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

    async def deliver(self, outbox_ids: Iterable[str]) -> int:
        """Send the given rows in order; return how many were sent."""
        sent = 0
        for outbox_id in outbox_ids:
            sent += await self._deliver_one(outbox_id)
        return sent

    async def deliver_stale(self, *, older_than: timedelta = timedelta(seconds=30),
                            limit: int = 200) -> int:
        """Re-send rows a crash left pending between commit and send."""
        cutoff = utcnow() - older_than
        async with self._sessions() as session:
            found = await session.exec(
                select(Outbox.id)
                .where(Outbox.status == "pending")
                .where(col(Outbox.created_at) < cutoff)
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
            channel = self._channels.get(row.channel)
            if channel is None:
                logger.warning("no channel %r is configured; outbox %s stays pending",
                               row.channel, outbox_id)
                return 0
            message = OutboundMessage(
                address=row.address,
                text=row.text,
                buttons=tuple(Button(item["label"], item["payload"]) for item in row.buttons),
                template_id=row.template_sid,
                template_variables=dict(row.template_variables),
            )
            row.attempts += 1
            try:
                delivery = await channel.send(message)
            except ChannelError as error:
                await self._record_failure(session, row, error, utcnow())
                await session.commit()
                return 0
            row.status = "sent"
            row.sent_at = utcnow()
            row.provider_message_id = delivery.provider_message_id
            await session.commit()
        logger.info("sent outbox %s (%s) on %s", outbox_id, row.message_key, row.channel)
        return 1

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
            logger.warning("outbox %s not sent (%s); it stays pending for a retry",
                           row.id, row.last_error)
        else:
            row.status = "failed"
            logger.error("outbox %s failed after %d attempts: %s",
                         row.id, row.attempts, row.last_error)
