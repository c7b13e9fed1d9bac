"""WhatsApp and SMS through Twilio's Python SDK with its asyncio HTTP client.

Both channels share one Twilio account: the REST client that creates messages and the auth
token that signs every webhook (``X-Twilio-Signature``). Addresses carry their channel as a
prefix, the way Twilio writes them: ``whatsapp:+5511999990000`` and ``sms:+14155550123``.

Twilio error codes never leave this module; ``error_for_code`` maps them to channel errors.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from channels.base import (
    Capabilities,
    ChannelError,
    Delivery,
    DeliveryReport,
    DeliveryState,
    InboundMessage,
    InvalidWebhook,
    OutboundMessage,
    OutsideWindow,
    RateLimited,
    Transient,
    Unreachable,
)

logger = logging.getLogger(__name__)
# twilio-python logs eight INFO lines per request; only its warnings belong in our logs.
_sdk_logger = logging.getLogger(f"{__name__}.sdk")
_sdk_logger.setLevel(logging.WARNING)

WHATSAPP = "whatsapp"
SMS = "sms"
SIGNATURE_HEADER = "X-Twilio-Signature"
# WhatsApp accepts free-form business messages only within 24 hours of the customer's last
# message. Outside that window only an approved template may be sent (else error 63016).
WHATSAPP_WINDOW = timedelta(hours=24)
# Twilio's 429 carries no Retry-After that the SDK exposes, so this is a guess.
# NOTE: raise it if Twilio keeps returning 429 right after this pause.
DEFAULT_RETRY_AFTER_SECONDS = 1.0

# Twilio's own error messages may quote the phone number, so only the code and these
# descriptions reach errors and logs.
_CODES: dict[int, tuple[type[ChannelError], str]] = {
    63016: (OutsideWindow, "free-form message outside the 24-hour window"),
    21211: (Unreachable, "invalid 'To' phone number"),
    21610: (Unreachable, "the recipient replied STOP to this sender"),
    21614: (Unreachable, "'To' is not a mobile number"),
    30005: (Unreachable, "unknown destination handset"),
    30006: (Unreachable, "landline or unreachable carrier"),
    63003: (Unreachable, "the channel could not find the 'To' address"),
    63024: (Unreachable, "invalid message recipient"),
    20429: (RateLimited, "too many requests"),
    14107: (RateLimited, "SMS send rate limit exceeded"),
    63018: (RateLimited, "rate limit exceeded for the WhatsApp sender"),
    30001: (Transient, "queue overflow"),
    30003: (Transient, "unreachable destination handset"),
    30008: (Transient, "unknown error"),
}

_STATES = {
    "accepted": DeliveryState.QUEUED, "scheduled": DeliveryState.QUEUED,
    "queued": DeliveryState.QUEUED, "sending": DeliveryState.QUEUED,
    "sent": DeliveryState.SENT, "delivered": DeliveryState.DELIVERED,
    "read": DeliveryState.READ, "failed": DeliveryState.FAILED,
    "undelivered": DeliveryState.FAILED, "canceled": DeliveryState.FAILED,
}


class _HeaderAuthHttpClient(AsyncTwilioHttpClient):
    """twilio-python's aiohttp client, with the credentials sent as an Authorization header.

    twilio 9.x hands aiohttp a ``BasicAuth`` through ``auth=``, both deprecated since
    aiohttp 3.14; the header is the same bytes on the wire.
    """

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 (the SDK's own signature)
        allow_redirects: bool = False,
    ) -> Response:
        if auth is not None:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode("latin-1")).decode("ascii")
            headers = {**(headers or {}), "Authorization": f"Basic {token}"}
        return await super().request(method, url, params, data, headers, None, timeout,
                                     allow_redirects)


class TwilioAccount:
    """One Twilio account: its REST client and the webhook signature check.

    ``base_url`` replaces ``https://api.twilio.com`` (a local fake in tests); TWILIO_EDGE and
    TWILIO_REGION from the environment are then ignored, because they would rewrite its host.
    """

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        base_url: str | None = None,
        status_callback_url: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self._account_sid = account_sid
        self._validator = RequestValidator(auth_token)
        self._auth_token = auth_token
        self._base_url = base_url
        self._timeout = timeout
        self._client: Client | None = None
        self._http: AsyncTwilioHttpClient | None = None
        self.status_callback_url = status_callback_url

    def verify(self, url: str, params: Mapping[str, Any], signature: str | None) -> bool:
        """Whether ``signature`` signs ``url`` and the form ``params`` with our auth token.

        ``url`` must be the public URL Twilio called (from settings, not the request), so a
        proxy that ends TLS or drops ``:443`` does not break the check. The SDK accepts the
        URL with and without its default port.
        """
        if not signature:
            return False
        return bool(self._validator.validate(url, params, signature))

    async def create_message(self, **params: Any) -> Any:
        """Create a message through the REST API; raise a channel error if Twilio refuses."""
        try:
            created = await self._rest().messages.create_async(**params)
        except TwilioRestException as error:
            raise error_for_code(error.code, status=error.status) from error
        except (aiohttp.ClientError, TimeoutError) as error:
            raise Transient(f"Twilio could not be reached: {error!r}") from error
        except TwilioException as error:
            raise ChannelError(str(error)) from error
        if created.error_code:
            raise error_for_code(int(created.error_code))
        return created

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None
            self._client = None

    def _rest(self) -> Client:
        # aiohttp sessions belong to a running event loop, so the client is built on first use.
        if self._client is None:
            self._http = _HeaderAuthHttpClient(timeout=self._timeout, logger=_sdk_logger)
            client = Client(self._account_sid, self._auth_token, http_client=self._http)
            if self._base_url:
                client.api.base_url = self._base_url.rstrip("/")
                client.edge = None
                client.region = None
            self._client = client
        return self._client


class TwilioChannel:
    """WhatsApp or SMS through one Twilio sender.

    WhatsApp buttons exist only inside Content templates, so ``capabilities.buttons`` is
    False and the score's quick replies come from ``score_template``. SMS has no buttons,
    no templates and no window.
    """

    def __init__(
        self,
        account: TwilioAccount,
        *,
        name: str,
        sender: str,
        window_template: str | None = None,
        score_template: str | None = None,
    ) -> None:
        if name not in (WHATSAPP, SMS):
            raise ValueError(f"channel name {name!r} is not {WHATSAPP!r} or {SMS!r}")
        self.name = name
        self._account = account
        self._sender = _with_prefix(sender, WHATSAPP) if name == WHATSAPP else _bare(sender)
        if name == WHATSAPP:
            self.capabilities = Capabilities(buttons=False, window=WHATSAPP_WINDOW,
                                             window_template=window_template,
                                             score_template=score_template,
                                             status_reports=True)
        else:
            self.capabilities = Capabilities(buttons=False, status_reports=True)

    @property
    def account(self) -> TwilioAccount:
        return self._account

    async def send(self, message: OutboundMessage) -> Delivery:
        """Send free text, or the template in ``message.template_id`` with its variables."""
        params: dict[str, Any] = {"to": self._to(message.address), "from_": self._sender}
        if self._account.status_callback_url:
            params["status_callback"] = self._account.status_callback_url
        if message.template_id:
            params["content_sid"] = message.template_id
            if message.template_variables:
                params["content_variables"] = json.dumps(message.template_variables,
                                                         ensure_ascii=False)
        else:
            params["body"] = message.text
        created = await self._account.create_message(**params)
        return Delivery(provider_message_id=created.sid)

    async def aclose(self) -> None:
        await self._account.aclose()

    def _to(self, address: str) -> str:
        if self.name == WHATSAPP:
            if not address.startswith(f"{WHATSAPP}:"):
                raise Unreachable("a WhatsApp address must start with 'whatsapp:'")
            return address
        if not address.startswith(f"{SMS}:"):
            raise Unreachable("an SMS address must start with 'sms:'")
        return _bare(address)


def parse_inbound(form: Mapping[str, str], *, received_at: datetime) -> InboundMessage:
    """Parse an incoming-message webhook (WhatsApp or SMS); raise InvalidWebhook if malformed.

    A tapped quick reply arrives with ``ButtonPayload`` (the button id) next to ``Body``
    (its label); the payload is what the survey reads.
    """
    sid = form.get("MessageSid")
    sender = form.get("From")
    if not sid or not sender:
        raise InvalidWebhook("the message webhook lacks MessageSid or From")
    if sender.startswith(f"{WHATSAPP}:"):
        channel, address = WHATSAPP, sender
    elif ":" not in sender:
        channel, address = SMS, f"{SMS}:{sender}"
    else:
        raise InvalidWebhook(f"message {sid} comes from an unsupported channel "
                             f"{sender.split(':', 1)[0]!r}")
    return InboundMessage(
        channel=channel,
        address=address,
        provider_message_id=sid,
        received_at=received_at,
        text=form.get("Body", ""),
        payload=form.get("ButtonPayload") or None,
        display_name=form.get("ProfileName") or None,
    )


def parse_status(form: Mapping[str, str], *, received_at: datetime) -> DeliveryReport | None:
    """Parse a status callback; return None for a status that is not about delivery.

    Twilio sends one callback per status change with the same ``MessageSid`` (sent,
    delivered, read), so a report is identified by the sid and the status together.
    """
    sid = form.get("MessageSid")
    status = (form.get("MessageStatus") or form.get("SmsStatus") or "").lower()
    if not sid or not status:
        raise InvalidWebhook("the status callback lacks MessageSid or MessageStatus")
    state = _STATES.get(status)
    if state is None:
        return None
    recipient = form.get("To", "")
    channel = WHATSAPP if recipient.startswith(f"{WHATSAPP}:") else SMS
    code = form.get("ErrorCode") or None
    error = None
    if state is DeliveryState.FAILED:
        error = error_for_code(_int_or_none(code))
    return DeliveryReport(channel=channel, provider_message_id=sid, status=status, state=state,
                          received_at=received_at, error_code=code, error=error)


def error_for_code(code: int | None, *, status: int | None = None) -> ChannelError:
    """Map a Twilio error code (and HTTP status, for REST errors) to a channel error."""
    kind, description = _CODES.get(code or 0, (ChannelError, "see the Twilio error reference"))
    if kind is ChannelError and status == 429:
        kind, description = RateLimited, "too many requests"
    elif kind is ChannelError and status is not None and status >= 500:
        kind, description = Transient, "Twilio server error"
    where = f" (HTTP {status})" if status is not None else ""
    text = f"Twilio error {code or 'without a code'}{where}: {description}"
    if kind is RateLimited:
        return RateLimited(text, retry_after=DEFAULT_RETRY_AFTER_SECONDS)
    return kind(text)


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _with_prefix(number: str, prefix: str) -> str:
    return number if number.startswith(f"{prefix}:") else f"{prefix}:{number}"


def _bare(address: str) -> str:
    return address.split(":", 1)[1] if address.startswith(f"{SMS}:") else address
