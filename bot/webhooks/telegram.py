"""The Telegram webhook, the same handling for long polling, and ``/start`` deep links.

Telegram repeats an update until it gets a 2xx answer, so the handler claims ``update_id``
before any work and answers 503 while an earlier delivery of it is still in progress.
"""

from __future__ import annotations

import asyncio
import logging
import re

from aiohttp import web
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.conversation import HandleResult, RespondentProfile
from bot.runtime import Runtime
from bot.webhooks.inbound import HTTP_STATUS, InboundPipeline, Outcome
from channels.base import InboundMessage, InvalidWebhook
from channels.telegram import SECRET_HEADER, TelegramChannel, TelegramUpdate, parse_update
from storage.models import Conversation, Invitation, Respondent
from storage.types import utcnow

logger = logging.getLogger(__name__)

# A deep link carries an invitation id: t.me/<bot>?start=<32 hex digits>.
_INVITATION_TOKEN = re.compile(r"[0-9a-f]{32}")
_OPEN_INVITATION = ("scheduled", "sent", "delivered", "failed")
_SEGMENT_FIELDS = ("country", "region", "customer_type", "buyer_type", "security_maturity")


class TelegramWebhook:
    """Handles updates from the webhook route and from long polling alike."""

    def __init__(self, pipeline: InboundPipeline, channel: TelegramChannel) -> None:
        self._pipeline = pipeline
        self._runtime = pipeline.runtime
        self._channel = channel

    async def handle_request(self, request: web.Request) -> web.Response:
        """Handle the webhook route: 403 without the secret, 400 for a body that is no update."""
        if not self._channel.verify_secret(request.headers.get(SECRET_HEADER)):
            logger.warning("Telegram webhook rejected: wrong or missing %s", SECRET_HEADER)
            return web.Response(status=403, text="invalid secret token")
        try:
            update = self._channel.parse_webhook(await request.read(), received_at=utcnow())
        except InvalidWebhook as error:
            logger.warning("Telegram webhook rejected: %s", error)
            return web.Response(status=400, text=str(error))
        outcome = await self.process(update)
        return web.Response(status=HTTP_STATUS[outcome], text=outcome.value)

    async def process(self, update: TelegramUpdate) -> Outcome:
        """Claim the update id, then record the message and queue the reply."""
        message = update.message
        if message is None:
            return Outcome.IGNORED

        async def work() -> HandleResult:
            if update.callback_query_id is not None:
                # Answered at once so the tapped button stops its loading animation.
                self._pipeline.tasks.spawn(self._channel.answer_callback(update.callback_query_id),
                                           name=f"answer callback of update {update.update_id}")
            if update.is_start:
                return await open_survey(self._runtime, message, update.start_parameter)
            return await self._runtime.conversations.handle(message)

        return await self._pipeline.process(f"telegram:update:{update.update_id}", work,
                                            after=self._pipeline.send_replies)

    async def run_polling(self) -> None:
        """Feed updates from long polling through ``process`` until cancelled.

        NOTE: the SDK confirms an update to Telegram as soon as it is fetched, so an update
        whose processing fails is logged and lost. Polling is for local use, and webhooks are
        for production.
        """
        async for update in self._channel.poll():
            parsed = parse_update(update, received_at=utcnow())
            outcome = await self.process(parsed)
            if outcome is Outcome.FAILED:
                logger.error("update %s failed while polling and will not come again",
                             parsed.update_id)


async def open_survey(
    runtime: Runtime, message: InboundMessage, parameter: str | None
) -> HandleResult:
    """Open the survey for the sender of ``/start``, for the invitation it names if any.

    Sending /start is an explicit request, so it also lifts an earlier opt-out, even when
    no survey opens. Without a deep-link parameter, the respondent's own pending invitation
    is used; without that, the default survey opens. Everything happens in the transaction
    that records the message.
    """

    async def choose(session: AsyncSession, respondent: Respondent,
                     new: bool) -> Invitation | None:
        if respondent.opted_out_at is not None:
            respondent.opted_out_at = None
            logger.info("respondent %s opted back in with /start", respondent.id)
        if new and parameter is None:
            # Only a deep link can name an invitation for a chat seen for the first time.
            return None
        return await _invitation_for(session, respondent, parameter)

    profile = RespondentProfile(display_name=message.display_name)
    return await runtime.conversations.start_for_sender(message, choose=choose, profile=profile)


async def _invitation_for(
    session: AsyncSession, respondent: Respondent, parameter: str | None
) -> Invitation | None:
    """Return the open invitation a deep link names, else the respondent's newest one."""
    if parameter is not None:
        if not _INVITATION_TOKEN.fullmatch(parameter):
            logger.info("deep link parameter of respondent %s is not an invitation id",
                        respondent.id)
            return None
        invitation = await session.get(Invitation, parameter)
        if invitation is None or not await _is_unopened(session, invitation):
            logger.info("deep link of respondent %s names no open invitation", respondent.id)
            return None
        if invitation.respondent_id != respondent.id:
            await _adopt_segment(session, respondent, invitation.respondent_id)
        return invitation

    found = await session.exec(
        select(Invitation)
        .where(Invitation.respondent_id == respondent.id)
        .where(col(Invitation.status).in_(_OPEN_INVITATION))
        .order_by(col(Invitation.created_at).desc())
    )
    for invitation in found:
        if await _is_unopened(session, invitation):
            return invitation
    return None


async def _is_unopened(session: AsyncSession, invitation: Invitation) -> bool:
    if invitation.status not in _OPEN_INVITATION:
        return False
    found = await session.exec(
        select(Conversation.id).where(Conversation.invitation_id == invitation.id).limit(1)
    )
    return found.first() is None


async def _adopt_segment(session: AsyncSession, respondent: Respondent, source_id: str) -> None:
    """Copy the segment of the person an invitation was made for onto the Telegram respondent.

    An invitation sent by e-mail or SMS with a Telegram link identifies the person, but the
    chat that opens it does not. Fields the respondent already has are kept.
    """
    source = await session.get(Respondent, source_id)
    if source is None:
        return
    for name in _SEGMENT_FIELDS:
        if getattr(respondent, name) is None and getattr(source, name) is not None:
            setattr(respondent, name, getattr(source, name))
    respondent.attributes = {**source.attributes, **respondent.attributes}


def start_polling(handler: TelegramWebhook) -> asyncio.Task[None]:
    """Start long polling in a task; cancel the task to stop it."""
    task = asyncio.create_task(handler.run_polling(), name="telegram polling")
    task.add_done_callback(_report_polling_end)
    return task


def _report_polling_end(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("Telegram polling stopped: %s", task.exception())
