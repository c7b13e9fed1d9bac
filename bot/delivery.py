"""Sending outbox rows through their channels, right after commit and again from the worker."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, or_, update
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
from storage.models import Invitation, Outbox, Respondent
from storage.types import utcnow

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5

_OUTBOX = Outbox.metadata.tables[Outbox.__tablename__]
_INVITATION = Invitation.metadata.tables[Invitation.__tablename__]
# Executed once per batch with one parameter set per row. The status condition leaves alone
# a row that something else has moved on, such as a failure or a status report.
_MARK_SENT = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id == bindparam("b_id"), _OUTBOX.c.status == "pending")
    .values(status="sent", sent_at=bindparam("b_sent_at"), attempts=_OUTBOX.c.attempts + 1,
            provider_message_id=bindparam("b_provider_id"))
)
# An invitation follows its first accepted message, as ``record_send_result`` does it.
_INVITATION_SENT = (
    update(_INVITATION)
    .where(_INVITATION.c.id == bindparam("b_id"), _INVITATION.c.status == "scheduled")
    .values(status="sent", updated_at=bindparam("b_sent_at"),
            attempts=_INVITATION.c.attempts + 1, provider_message_id=bindparam("b_provider_id"))
)


@dataclass(frozen=True)
class SentRow:
    """One accepted send, waiting to be written to its outbox row."""

    outbox_id: str
    invitation_id: str | None
    sent_at: datetime
    provider_message_id: str | None


class SentLog:
    """Marks outbox rows sent in batches: every send that finishes while one batch is being
    written goes into the next, so concurrent sends share a transaction (group commit).

    ``record`` returns once its own batch has committed, so the caller still knows that
    its row is marked, exactly as when each send committed alone.
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._waiting: list[tuple[SentRow, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def record(self, sent: SentRow) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((sent, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_all(), name="outbox sent log")
        await future

    async def _write_all(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                await self._write([sent for sent, _ in batch])
            except Exception as error:
                # The rows stay pending, and the worker sends them again later.
                _settle(batch, error)
            except BaseException:
                for _, future in batch + self._waiting:
                    future.cancel()
                self._waiting = []
                raise
            else:
                _settle(batch, None)

    async def _write(self, batch: list[SentRow]) -> None:
        rows = [{"b_id": sent.outbox_id, "b_sent_at": sent.sent_at,
                 "b_provider_id": sent.provider_message_id} for sent in batch]
        invited = [{**row, "b_id": sent.invitation_id}
                   for row, sent in zip(rows, batch, strict=True) if sent.invitation_id]
        async with self._sessions() as session, session.begin():
            await session.exec(_MARK_SENT, params=rows)
            if invited:
                await session.exec(_INVITATION_SENT, params=invited)


def _settle(batch: list[tuple[SentRow, asyncio.Future[None]]], error: Exception | None) -> None:
    for _, future in batch:
        if future.done():
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)


class OutboxSender:
    """Delivers pending outbox rows and records the result on each row."""

    def __init__(
        self, *, sessions: async_sessionmaker[AsyncSession], channels: Mapping[str, Channel]
    ) -> None:
        self._sessions = sessions
        self._channels = channels
        # Per channel, when its latest rate limit ends; rows sent before then wait for it.
        self._resume_at: dict[str, datetime] = {}
        self._sent = SentLog(sessions)

    async def deliver(self, outbox_ids: Iterable[str]) -> int:
        """Send the given rows in order; return how many were sent."""
        sent = 0
        for outbox_id in outbox_ids:
            sent += await self._deliver_one(outbox_id)
        return sent

    async def deliver_committed(self, rows: Sequence[Outbox]) -> int:
        """Send rows that a conversation step has just committed, in order; return how many
        were sent.

        The rows are in memory as they were written, and the worker leaves rows this young
        alone, so they are sent without being read back. Rows whose channel needs the
        database to compose or record a send (a reply window, status reports) take the
        usual path, as do rows for a channel that is rate-limited now.
        """
        sent = 0
        for row in rows:
            channel = self._channels.get(row.channel)
            if channel is not None and self._sends_fresh(channel, row.channel, utcnow()):
                sent += await self._send_fresh(channel, row)
            else:
                sent += await self._deliver_one(row.id)
        return sent

    def _sends_fresh(self, channel: Channel, name: str, now: datetime) -> bool:
        capabilities = channel.capabilities
        if capabilities.window is not None or capabilities.status_reports:
            return False
        resume_at = self._resume_at.get(name)
        return resume_at is None or resume_at <= now

    async def _send_fresh(self, channel: Channel, row: Outbox) -> int:
        try:
            message = compose(row, None, channel.capabilities, now=utcnow())
            delivery = await channel.send(message)
        except ChannelError as error:
            await self._record_fresh_failure(row.id, error)
            return 0
        await self._sent.record(SentRow(row.id, row.invitation_id, utcnow(),
                                        delivery.provider_message_id))
        logger.info("sent outbox %s (%s) on %s", row.id, row.message_key, row.channel)
        return 1

    async def _record_fresh_failure(self, outbox_id: str, error: ChannelError) -> None:
        async with self._sessions() as session, session.begin():
            row = await session.get(Outbox, outbox_id)
            if row is None or row.status != "pending":
                return
            row.attempts += 1
            now = utcnow()
            await self._record_failure(session, row, error, now)
            await record_send_result(session, row, now=now, error=error)

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
