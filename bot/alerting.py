"""Posting detractor alerts once the respondent has had the chance to say why."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import or_
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.masking import mask_address
from bot.slack.alerts import AlertPoster, AlertPostFailed
from bot.slack.blocks import AlertView
from bot.surveys import SurveysFile
from flows import Scale, Step
from storage.models import Alert, Conversation, Respondent, Response
from storage.types import utcnow

logger = logging.getLogger(__name__)

# An alert waits for the comment, but not forever: a detractor who never answers "why?" is
# still worth a call.
COMMENT_WAIT = timedelta(minutes=15)
_SEGMENT_FIELDS = ("region", "country", "customer_type", "buyer_type", "security_maturity")


class AlertDispatcher:
    def __init__(
        self, *, sessions: async_sessionmaker[AsyncSession], poster: AlertPoster,
        surveys: SurveysFile,
    ) -> None:
        self._sessions = sessions
        self._poster = poster
        self._surveys = surveys

    async def post_ready(self, *, limit: int = 100) -> int:
        """Post every unposted alert whose comment is in or no longer expected."""
        waited_since = utcnow() - COMMENT_WAIT
        async with self._sessions() as session:
            found = await session.exec(
                select(Alert.id)
                .join(Response, col(Response.id) == col(Alert.response_id))
                .join(Conversation, col(Conversation.id) == col(Response.conversation_id))
                .where(col(Alert.posted_at).is_(None))
                .where(or_(col(Conversation.step) != Step.REASON.value,
                           col(Alert.created_at) < waited_since))
                .order_by(col(Alert.created_at))
                .limit(limit)
            )
            ready = list(found)
        posted = 0
        for alert_id in ready:
            posted += await self._post_one(alert_id)
        return posted

    async def _post_one(self, alert_id: str) -> int:
        async with self._sessions() as session:
            alert = await session.get(Alert, alert_id)
            if alert is None or alert.posted_at is not None:
                return 0
            response = await session.get(Response, alert.response_id)
            respondent = await session.get(Respondent, response.respondent_id) if response else None
            if response is None or respondent is None:
                logger.error("alert %s refers to a missing response or respondent", alert_id)
                return 0
            channel = self._surveys.slack.channel_for(response.region)
            try:
                posted = await self._poster.post(_view(alert, response, respondent),
                                                 channel=channel)
            except AlertPostFailed:
                logger.exception("alert %s was not posted; the worker will retry", alert_id)
                return 0
            alert.slack_channel = posted.channel
            alert.slack_ts = posted.ts
            alert.posted_at = utcnow()
            await session.commit()
        return 1


def _view(alert: Alert, response: Response, respondent: Respondent) -> AlertView:
    segment = {name: str(getattr(response, name)) for name in _SEGMENT_FIELDS
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
    )
