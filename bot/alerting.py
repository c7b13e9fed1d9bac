"""Posting one Slack alert per detractor, once the respondent has had the chance to say why.

Each alert is claimed with a lease before it is posted, so two processes never post it at
the same time. ``post_started_at`` is committed before ``chat.postMessage`` goes out and
stays until the post is recorded: an attempt that finds it set (after a 5xx, a timeout or a
restart) looks the message up by its metadata before posting again.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import ColumnElement, or_, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from bot.masking import mask_address
from bot.slack.alerts import Marker, MessagePoster, PostedMessage, PostFailed
from bot.slack.blocks import AlertView, alert_blocks, fallback_text
from bot.slack.threads import ThreadPoster
from bot.surveys import SurveysFile
from flows import Scale, Step
from storage.models import Alert, Conversation, Respondent, Response
from storage.types import utcnow

logger = logging.getLogger(__name__)

# An alert waits for the comment, but not forever: a detractor who never answers "why?" is
# still worth a call.
COMMENT_WAIT = timedelta(minutes=15)
# Longer than one post can take: slack_sdk's 30 s timeout plus up to three Retry-After waits.
POST_LEASE = timedelta(minutes=5)
# Pause before retrying a failed post, doubled per attempt up to the maximum.
RETRY_PAUSE = timedelta(seconds=30)
MAX_RETRY_PAUSE = timedelta(minutes=30)
ALERT_EVENT = "nps_alert"
SEGMENT_FIELDS = ("region", "country", "customer_type", "buyer_type", "security_maturity",
                  "touchpoint")


def alert_marker(alert_id: str) -> Marker:
    return Marker(event_type=ALERT_EVENT, key=alert_id)


class AlertDispatcher:
    """Posts ready alerts and their pending thread messages, and reminds about unclaimed ones."""

    def __init__(
        self, *, sessions: async_sessionmaker[AsyncSession], poster: MessagePoster,
        surveys: SurveysFile,
    ) -> None:
        self._sessions = sessions
        self._poster = poster
        self._surveys = surveys
        self.threads = ThreadPoster(sessions=sessions, poster=poster, surveys=surveys)

    @property
    def poster(self) -> MessagePoster:
        return self._poster

    async def post_ready(self, *, limit: int = 100, now: datetime | None = None) -> int:
        """Post every unposted alert whose comment is in or no longer expected, then the
        pending thread messages; return how many alerts were posted."""
        now = now or utcnow()
        posted = await self._post_found(_ready_alerts(now).limit(limit), now)
        await self.threads.deliver(now=now)
        return posted

    async def post_for(self, conversation_id: str, *, now: datetime | None = None) -> int:
        """Post the alert of one conversation if it is ready; return 1 if it was posted.

        Called right after the step that made it ready. A new alert has no thread messages
        yet, and alerts whose post failed earlier wait for the worker, so this reads one row.
        """
        now = now or utcnow()
        # Claiming checks that it is unposted and unleased, which is all a scan would add.
        return await self._post_one(col(Response.conversation_id) == conversation_id, now)

    async def _post_found(self, query: SelectOfScalar[str], now: datetime) -> int:
        async with self._sessions() as session:
            ready = list(await session.exec(query))
        posted = 0
        for alert_id in ready:
            posted += await self._post_one(col(Alert.id) == alert_id, now)
        return posted

    async def remind_unclaimed(self, *, now: datetime | None = None) -> int:
        return await self.threads.remind_unclaimed(now=now or utcnow())

    async def _post_one(self, condition: ColumnElement[bool], now: datetime) -> int:
        """Claim and post the alert that ``condition`` selects; return 1 if it is in Slack."""
        claimed = await self._claim(condition, now)
        if claimed is None:
            return 0
        alert_id, view, channel, uncertain, created_at = claimed
        if uncertain:
            found = await self._find(channel, alert_id, created_at)
            if found is not None:
                logger.info("alert %s was already in %s; recorded without posting again",
                            alert_id, found.channel)
                await self._record_posted(alert_id, found, now)
                return 1
        try:
            posted = await self._poster.post(channel=channel, text=fallback_text(view),
                                             blocks=alert_blocks(view),
                                             marker=alert_marker(alert_id))
        except PostFailed as error:
            await self._record_failure(alert_id, error, now)
            return 0
        await self._record_posted(alert_id, posted, now)
        logger.info("posted alert %s to %s", alert_id, posted.channel)
        return 1

    async def _claim(
        self, condition: ColumnElement[bool], now: datetime
    ) -> tuple[str, AlertView, str, bool, datetime] | None:
        """Take the alert for posting; None when it is posted or another process holds it."""
        async with self._sessions() as session, session.begin():
            # The alert, its response and the respondent in one round trip.
            found = await session.exec(
                select(Alert, Response, Respondent)
                .join(Response, col(Response.id) == col(Alert.response_id))
                .join(Respondent, col(Respondent.id) == col(Response.respondent_id))
                .where(condition, col(Alert.posted_at).is_(None))
            )
            loaded = found.first()
            if loaded is None:
                return None
            alert, response, respondent = loaded
            alert_id = alert.id
            view = build_view(alert, response, respondent, self._surveys.slack.zone)
            channel = self._surveys.slack.channel_for(response.region, segment_of(response))
            uncertain = alert.post_started_at is not None
            taken = await session.exec(
                update(Alert)
                .where(col(Alert.id) == alert_id, col(Alert.posted_at).is_(None))
                .where(or_(col(Alert.post_lease_until).is_(None),
                           col(Alert.post_lease_until) < now))
                .values(post_started_at=now, post_lease_until=now + POST_LEASE,
                        post_attempts=col(Alert.post_attempts) + 1, slack_channel=channel)
                .execution_options(synchronize_session=False)
            )
            if taken.rowcount != 1:
                return None
        return alert_id, view, channel, uncertain, alert.created_at

    async def _find(self, channel: str, alert_id: str, since: datetime) -> PostedMessage | None:
        """Look for an earlier attempt's post; None when not found or when Slack cannot say."""
        try:
            return await self._poster.find(channel=channel, marker=alert_marker(alert_id),
                                           since=since)
        except PostFailed:
            # A failed lookup must not hold the alert back for ever. The post that follows is
            # then at worst a duplicate, which is better than a detractor left unseen.
            logger.exception("could not look up earlier posts of alert %s in %s",
                             alert_id, channel)
            return None

    async def _record_posted(self, alert_id: str, posted: PostedMessage, now: datetime) -> None:
        async with self._sessions() as session, session.begin():
            await session.exec(
                update(Alert)
                .where(col(Alert.id) == alert_id)
                .values(slack_channel=posted.channel, slack_ts=posted.ts, posted_at=now,
                        post_lease_until=None, post_error=None)
                .execution_options(synchronize_session=False)
            )

    async def _record_failure(self, alert_id: str, error: PostFailed, now: datetime) -> None:
        async with self._sessions() as session, session.begin():
            alert = await session.get(Alert, alert_id)
            if alert is None:
                return
            if not error.maybe_posted:
                alert.post_started_at = None
            pause = min(RETRY_PAUSE * 2 ** max(alert.post_attempts - 1, 0), MAX_RETRY_PAUSE)
            alert.post_lease_until = now + pause
            alert.post_error = str(error)
        logger.warning("alert %s not posted (attempt %d, %s); next try after %s",
                       alert_id, alert.post_attempts, error,
                       "a lookup" if error.maybe_posted else "a pause")

    async def refresh(self, alert_id: str) -> bool:
        """Redraw a posted alert with ``chat.update`` from its row; False if not posted."""
        async with self._sessions() as session:
            alert = await session.get(Alert, alert_id)
            if alert is None or alert.slack_ts is None or alert.slack_channel is None:
                return False
            loaded = await load_view(session, alert, self._surveys.slack.zone)
        if loaded is None:
            return False
        view, _ = loaded
        await self._poster.update(channel=alert.slack_channel, ts=alert.slack_ts,
                                  text=fallback_text(view), blocks=alert_blocks(view))
        return True


def _ready_alerts(now: datetime) -> SelectOfScalar[str]:
    """Unposted alerts, not leased to another poster, whose comment is in or overdue."""
    return (
        select(Alert.id)
        .join(Response, col(Response.id) == col(Alert.response_id))
        .join(Conversation, col(Conversation.id) == col(Response.conversation_id))
        .where(col(Alert.posted_at).is_(None))
        .where(or_(col(Alert.post_lease_until).is_(None), col(Alert.post_lease_until) < now))
        .where(or_(col(Conversation.step) != Step.REASON.value,
                   col(Alert.created_at) < now - COMMENT_WAIT))
        .order_by(col(Alert.created_at))
    )


def segment_of(response: Response) -> dict[str, Any]:
    return {name: getattr(response, name) for name in
            ("region", "country", "language", "customer_type", "buyer_type",
             "security_maturity", "channel", "survey_id", "touchpoint")}


async def load_view(
    session: AsyncSession, alert: Alert, zone: tzinfo
) -> tuple[AlertView, Response] | None:
    """Build what the alert shows from its rows, masking the customer's address."""
    response = await session.get(Response, alert.response_id)
    respondent = await session.get(Respondent, response.respondent_id) if response else None
    if response is None or respondent is None:
        return None
    return build_view(alert, response, respondent, zone), response


def build_view(alert: Alert, response: Response, respondent: Respondent,
               zone: tzinfo) -> AlertView:
    """Build what the alert shows from rows already loaded, masking the address."""
    segment = {name: str(getattr(response, name)) for name in SEGMENT_FIELDS
               if getattr(response, name)}
    return AlertView(
        alert_id=alert.id,
        score=response.score,
        scale_high=Scale(response.scale).high,
        customer=respondent.display_name or "Unnamed customer",
        masked_address=mask_address(respondent.address),
        channel=response.channel,
        locale=response.locale,
        comment=response.comment,
        comment_language=response.comment_language,
        segment=segment,
        answered_at=response.created_at,
        zone=zone,
        status=alert.status,
        claimed_by=alert.claimed_by,
        claimed_at=alert.claimed_at,
        resolved_by=alert.resolved_by,
        resolved_at=alert.resolved_at,
        replies=len(alert.replies),
    )
