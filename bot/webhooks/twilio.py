"""Twilio webhooks: incoming WhatsApp and SMS messages, and status callbacks.

Every request must carry a valid ``X-Twilio-Signature`` over the URL that Twilio called,
which is rebuilt from NPS_PUBLIC_BASE_URL. Behind a proxy that ends TLS, the URL this server
receives (``http://``, another host or port) is not the one Twilio signed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from aiohttp import web

from bot.channel_registry import public_url
from bot.conversation import HandleResult, RespondentProfile
from bot.delivery_status import ReportOutcome, apply_report
from bot.invitations import country_of
from bot.webhooks.inbound import HTTP_STATUS, InboundPipeline, Outcome
from channels.base import InvalidWebhook
from channels.whatsapp import SIGNATURE_HEADER, TwilioAccount, parse_inbound, parse_status
from storage.types import utcnow

logger = logging.getLogger(__name__)

# An empty TwiML document: the reply goes out through the REST API after the response.
_EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


class TwilioWebhooks:
    """Routes for one Twilio account; both WhatsApp and SMS arrive on the messages route."""

    def __init__(self, pipeline: InboundPipeline, account: TwilioAccount) -> None:
        self._pipeline = pipeline
        self._runtime = pipeline.runtime
        self._account = account

    async def messages(self, request: web.Request) -> web.Response:
        """Handle an incoming message: verify, claim its MessageSid, record it, reply later."""
        form = await self._verified_form(request)
        if form is None:
            return web.Response(status=403, text="invalid signature")
        try:
            message = parse_inbound(form, received_at=utcnow())
        except InvalidWebhook as error:
            logger.warning("Twilio message rejected: %s", error)
            return web.Response(status=400, text=str(error))
        if message.channel not in self._runtime.channels:
            logger.warning("message %s arrived on %s, which is not configured; ignored",
                           message.provider_message_id, message.channel)
            return _twiml(Outcome.IGNORED)

        profile = RespondentProfile(display_name=message.display_name,
                                    country=country_of(message.address))

        async def work() -> HandleResult:
            return await self._runtime.conversations.handle(message, profile=profile)

        outcome = await self._pipeline.process(f"twilio:message:{message.provider_message_id}",
                                               work, after=self._pipeline.send_replies)
        return _twiml(outcome)

    async def status(self, request: web.Request) -> web.Response:
        """A status callback: one per status of a message, deduplicated on sid and status."""
        form = await self._verified_form(request)
        if form is None:
            return web.Response(status=403, text="invalid signature")
        try:
            report = parse_status(form, received_at=utcnow())
        except InvalidWebhook as error:
            logger.warning("Twilio status callback rejected: %s", error)
            return web.Response(status=400, text=str(error))
        if report is None:
            return web.Response(status=200, text=Outcome.IGNORED.value)

        async def work() -> ReportOutcome:
            return await apply_report(self._runtime.sessions, report)

        key = f"twilio:status:{report.provider_message_id}:{report.status}"
        outcome = await self._pipeline.process(key, work)
        return web.Response(status=HTTP_STATUS[outcome], text=outcome.value)

    async def _verified_form(self, request: web.Request) -> Mapping[str, str] | None:
        """The form fields if the signature matches, else None (nothing else is read)."""
        if request.content_type != "application/x-www-form-urlencoded":
            logger.warning("Twilio webhook rejected: content type %r", request.content_type)
            return None
        posted = await request.post()
        if not all(isinstance(value, str) for value in posted.values()):
            logger.warning("Twilio webhook rejected: the form contains a file")
            return None
        # Repeated fields stay repeated in the signed text, so the whole multidict is passed.
        url = public_url(self._runtime.settings, request.path_qs)
        if not self._account.verify(url, posted, request.headers.get(SIGNATURE_HEADER)):
            logger.warning("Twilio webhook rejected: missing or invalid %s for %s",
                           SIGNATURE_HEADER, request.path)
            return None
        return {key: str(posted[key]) for key in posted}


def _twiml(outcome: Outcome) -> web.Response:
    status = HTTP_STATUS[outcome]
    if status != 200:
        return web.Response(status=status, text=outcome.value)
    return web.Response(status=200, text=_EMPTY_TWIML, content_type="text/xml")
