"""Messages in an alert's Slack thread: reminders, replies sent to the customer, and the
customer's answers.

Each message is first an ``AlertThreadPost`` row, committed with whatever caused it (the
reminder mark, the reply's outbox row, the customer's inbound message), and then posted.
A crash or a Slack outage in between leaves the row pending for the next worker pass.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.slack.alerts import MessagePoster, PostFailed
from bot.slack.blocks import TEXT_LIMIT, quote
from bot.slack.mrkdwn import escape
from bot.surveys import SurveysFile
from storage.models import Alert, AlertThreadPost, Respondent, Response

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
RETRY_PAUSE = timedelta(seconds=30)
# How long after a reply the customer's next message still belongs in the alert's thread.
ANSWER_WINDOW = timedelta(days=7)


def queue_thread_post(session: AsyncSession, *, alert_id: str, kind: str, text: str,
                      now: datetime) -> AlertThreadPost:
    """Add a pending thread message to the open transaction."""
    row = AlertThreadPost(alert_id=alert_id, kind=kind, text=text[:TEXT_LIMIT], created_at=now)
    session.add(row)
    return row


async def thread_customer_answer(
    session: AsyncSession, *, respondent: Respondent, text: str, channel: str, now: datetime
) -> str | None:
    """Queue a customer's message for the thread of the alert last replied to within
    ``ANSWER_WINDOW``; return the alert id, or None when no reply is waiting for an answer."""
    found = await session.exec(
        select(Alert)
        .join(Response, col(Response.id) == col(Alert.response_id))
        .where(col(Response.respondent_id) == respondent.id)
        .where(col(Alert.last_reply_at) >= now - ANSWER_WINDOW)
        .order_by(col(Alert.last_reply_at).desc())
        .limit(1)
    )
    alert = found.first()
    if alert is None:
        return None
    name = escape(respondent.display_name or "The customer")
    body = quote(text or "(an empty message)", limit=TEXT_LIMIT - 200)
    queue_thread_post(session, alert_id=alert.id, kind="customer_answer",
                      text=f"*{name}* answered on {escape(channel)}:\n{body}", now=now)
    logger.info("queued the answer of respondent %s for the thread of alert %s",
                respondent.id, alert.id)
    return alert.id


class ThreadPoster:
    """Posts pending thread messages and queues the one reminder of an unclaimed alert."""

    def __init__(self, *, sessions: async_sessionmaker[AsyncSession], poster: MessagePoster,
                 surveys: SurveysFile) -> None:
        self._sessions = sessions
        self._poster = poster
        self._surveys = surveys

    async def deliver(self, *, now: datetime, limit: int = 100) -> int:
        """Post pending thread messages of posted alerts, oldest first; return how many."""
        async with self._sessions() as session:
            found = await session.exec(
                select(AlertThreadPost.id)
                .join(Alert, col(Alert.id) == col(AlertThreadPost.alert_id))
                .where(col(AlertThreadPost.status) == "pending")
                .where(col(Alert.slack_ts).is_not(None))
                .where(or_(col(AlertThreadPost.next_attempt_at).is_(None),
                           col(AlertThreadPost.next_attempt_at) <= now))
                .order_by(col(AlertThreadPost.created_at))
                .limit(limit)
            )
            pending = list(found)
        posted = 0
        for post_id in pending:
            posted += await self._post_one(post_id, now)
        return posted

    async def _post_one(self, post_id: str, now: datetime) -> int:
        async with self._sessions() as session, session.begin():
            row = await session.get(AlertThreadPost, post_id)
            alert = await session.get(Alert, row.alert_id) if row else None
            if row is None or alert is None or not (alert.slack_ts and alert.slack_channel):
                return 0
            # Claim the row by its attempt count, so two workers never post it together.
            taken = await session.exec(
                update(AlertThreadPost)
                .where(col(AlertThreadPost.id) == post_id,
                       col(AlertThreadPost.status) == "pending",
                       col(AlertThreadPost.attempts) == row.attempts)
                .values(attempts=row.attempts + 1, next_attempt_at=now + RETRY_PAUSE)
                .execution_options(synchronize_session=False)
            )
            if taken.rowcount != 1:
                return 0
        # NOTE: unlike alerts, a thread message whose post ends in a 5xx is posted again
        # without a lookup, so Slack may show it twice; the alert itself is never repeated.
        try:
            posted = await self._poster.post(
                channel=alert.slack_channel, thread_ts=alert.slack_ts, text=row.text,
                blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": row.text}}])
        except PostFailed as error:
            await self._record(post_id, now, error=error, attempts=row.attempts + 1)
            return 0
        await self._record(post_id, now, ts=posted.ts)
        logger.info("posted %s %s in the thread of alert %s", row.kind, post_id, alert.id)
        return 1

    async def _record(self, post_id: str, now: datetime, *, ts: str | None = None,
                      error: PostFailed | None = None, attempts: int = 0) -> None:
        async with self._sessions() as session, session.begin():
            row = await session.get(AlertThreadPost, post_id)
            if row is None:
                return
            if error is None:
                row.status, row.slack_ts, row.posted_at = "posted", ts, now
                return
            row.last_error = str(error)
            row.next_attempt_at = now + RETRY_PAUSE * 2 ** (attempts - 1)
            if attempts >= MAX_ATTEMPTS:
                row.status = "failed"
                logger.error("thread message %s failed after %d attempts: %s",
                             post_id, attempts, error)
            else:
                logger.warning("thread message %s not posted (%s); retrying later",
                               post_id, error)

    async def remind_unclaimed(self, *, now: datetime, limit: int = 100) -> int:
        """Queue one reminder for each alert left unclaimed ``reminder_hours`` after posting."""
        hours = self._surveys.slack.reminder_hours
        async with self._sessions() as session:
            found = await session.exec(
                select(Alert.id)
                .where(col(Alert.status) == "open")
                .where(col(Alert.reminded_at).is_(None))
                .where(col(Alert.posted_at) < now - timedelta(hours=hours))
                .where(col(Alert.slack_ts).is_not(None))
                .limit(limit)
            )
            due = list(found)
        reminded = 0
        for alert_id in due:
            reminded += await self._remind(alert_id, hours, now)
        if reminded:
            await self.deliver(now=now)
        return reminded

    async def _remind(self, alert_id: str, hours: float, now: datetime) -> int:
        async with self._sessions() as session, session.begin():
            # Marking and queueing commit together; the condition makes it happen once.
            marked = await session.exec(
                update(Alert)
                .where(col(Alert.id) == alert_id, col(Alert.reminded_at).is_(None),
                       col(Alert.status) == "open")
                .values(reminded_at=now)
                .execution_options(synchronize_session=False)
            )
            if marked.rowcount != 1:
                return 0
            queue_thread_post(session, alert_id=alert_id, kind="reminder", now=now,
                              text=f":alarm_clock: Nobody has claimed this detractor in "
                                   f"{hours:g} hours. Claim it to let the team know it is "
                                   "in hand.")
        logger.info("queued the reminder of alert %s", alert_id)
        return 1
