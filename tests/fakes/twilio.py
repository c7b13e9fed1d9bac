"""A fake Twilio REST API on 127.0.0.1 for tests that drive the real twilio-python SDK.

It serves ``POST /2010-04-01/Accounts/{sid}/Messages.json`` with HTTP Basic auth, answers
in the documented message shape and records every message. Faults can be queued: 429
(code 20429), 500, a REST error with any code (21211 ...), or ``OUTSIDE_WINDOW``, which
accepts the message and then reports it ``undelivered`` with ErrorCode 63016, as WhatsApp
does for a free-form message outside the 24-hour window.

Status callbacks behave like Twilio's where signatures are concerned: each is signed with
the auth token over the ``StatusCallback`` URL exactly as the sender gave it, and then
posted to wherever that public URL really leads (``route_callbacks``), as a proxy would.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any

import aiohttp
from aiohttp import web
from twilio.request_validator import RequestValidator

from tests.fakes.loopback import serve_on_loopback

ACCOUNT_SID = "AC00000000000000000000000000000000"
AUTH_TOKEN = "fake-twilio-auth-token"
WHATSAPP_FROM = "whatsapp:+14155550100"
SMS_FROM = "+14155550101"

RATE_LIMITED = "rate_limited"
SERVER_ERROR = "server_error"
OUTSIDE_WINDOW = "outside_window"
REST_ERROR = "rest_error"


@dataclass
class Fault:
    kind: str
    code: int | None = None
    status: int = 400
    to: str | None = None


@dataclass
class CreatedMessage:
    sid: str
    to: str
    from_: str
    body: str | None
    content_sid: str | None
    content_variables: str | None
    status_callback: str | None
    at: float


@dataclass
class FakeTwilio:
    """Run with ``async with FakeTwilio() as twilio``; ``base_url`` replaces api.twilio.com."""

    account_sid: str = ACCOUNT_SID
    auth_token: str = AUTH_TOKEN
    messages: list[CreatedMessage] = field(default_factory=list)
    rejected: list[dict[str, str]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    # Statuses reported for every accepted message, when callbacks are routed.
    statuses: tuple[str, ...] = ()
    callback_responses: list[int] = field(default_factory=list)
    port: int = 0

    def __post_init__(self) -> None:
        self._sids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._routes: dict[str, str] = {}
        self._callbacks: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> FakeTwilio:
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", self._create)
        self._runner, self.port = await serve_on_loopback(app)
        self._session = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.settle()
        assert self._runner is not None and self._session is not None
        await self._session.close()
        await self._runner.cleanup()

    # -- what tests use --------------------------------------------------------------------

    def fail_next(self, kind: str, *, code: int | None = None, status: int = 400,
                  to: str | None = None) -> None:
        self.faults.append(Fault(kind, code, status, to))

    def route_callbacks(self, public_base: str, actual_base: str) -> None:
        """Deliver callbacks for URLs under ``public_base`` to ``actual_base`` instead."""
        self._routes[public_base.rstrip("/")] = actual_base.rstrip("/")

    def sign(self, url: str, params: dict[str, str]) -> str:
        """The X-Twilio-Signature Twilio would send for ``params`` posted to ``url``."""
        return str(RequestValidator(self.auth_token).compute_signature(url, params))

    def sent_to(self, to: str) -> list[CreatedMessage]:
        return [message for message in self.messages if message.to == to]

    async def settle(self) -> None:
        """Wait until every status callback started so far has been answered."""
        while self._callbacks:
            await asyncio.gather(*list(self._callbacks), return_exceptions=True)

    async def post_status(self, message: CreatedMessage, status: str,
                          error_code: int | None = None) -> int:
        """Send a status callback for ``message`` now; return our server's HTTP status."""
        assert message.status_callback is not None, "the message has no StatusCallback"
        params = {
            "SmsSid": message.sid, "SmsStatus": status, "MessageStatus": status,
            "To": message.to, "From": message.from_, "MessageSid": message.sid,
            "AccountSid": self.account_sid, "ApiVersion": "2010-04-01",
        }
        if message.to.startswith("whatsapp:"):
            params["ChannelPrefix"] = "whatsapp"
        if error_code is not None:
            params["ErrorCode"] = str(error_code)
        url = message.status_callback
        headers = {"X-Twilio-Signature": self.sign(url, params)}
        assert self._session is not None
        async with self._session.post(self._deliver_to(url), data=params,
                                      headers=headers) as response:
            await response.read()
        self.callback_responses.append(response.status)
        return response.status

    # -- the API ---------------------------------------------------------------------------

    async def _create(self, request: web.Request) -> web.Response:
        if request.match_info["sid"] != self.account_sid or not self._authorized(request):
            return _error(401, 20003, "Authenticate")
        form = {key: value for key, value in (await request.post()).items()
                if isinstance(value, str)}
        missing = _missing(form)
        if missing is not None:
            self.rejected.append(form)
            return missing
        fault = self._take_fault(form["To"])
        if fault is not None and fault.kind != OUTSIDE_WINDOW:
            self.rejected.append(form)
            return _fault_response(fault)

        message = self._record(form)
        if fault is not None:
            self._report(message, ("undelivered",), error_code=63016)
        elif self.statuses:
            self._report(message, self.statuses)
        return web.json_response(self._resource(message), status=201)

    def _authorized(self, request: web.Request) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return request.headers.get("Authorization") == f"Basic {expected}"

    def _take_fault(self, to: str) -> Fault | None:
        for fault in self.faults:
            if fault.to is None or fault.to == to:
                self.faults.remove(fault)
                return fault
        return None

    def _record(self, form: dict[str, str]) -> CreatedMessage:
        message = CreatedMessage(
            sid=f"SM{next(self._sids):032x}", to=form["To"], from_=form["From"],
            body=form.get("Body"), content_sid=form.get("ContentSid"),
            content_variables=form.get("ContentVariables"),
            status_callback=form.get("StatusCallback"), at=time.monotonic(),
        )
        self.messages.append(message)
        return message

    def _report(self, message: CreatedMessage, statuses: tuple[str, ...], *,
                error_code: int | None = None) -> None:
        if message.status_callback is None or not self._routes:
            return

        async def report() -> None:
            # Twilio reports after its response, never before the sender learns the sid.
            await asyncio.sleep(0.01)
            for status in statuses:
                await self.post_status(message, status, error_code)

        task = asyncio.get_running_loop().create_task(report())
        self._callbacks.add(task)
        task.add_done_callback(self._callbacks.discard)

    def _deliver_to(self, url: str) -> str:
        for public, actual in self._routes.items():
            if url.startswith(public):
                return actual + url[len(public):]
        return url

    def _resource(self, message: CreatedMessage) -> dict[str, Any]:
        now = formatdate(usegmt=True).replace("GMT", "+0000")
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{message.sid}"
        return {
            "account_sid": self.account_sid, "api_version": "2010-04-01",
            "body": message.body or "", "date_created": now, "date_sent": None,
            "date_updated": now, "direction": "outbound-api", "error_code": None,
            "error_message": None, "from": message.from_, "messaging_service_sid": None,
            "num_media": "0", "num_segments": "1", "price": None, "price_unit": None,
            "sid": message.sid, "status": "queued",
            "subresource_uris": {"media": f"{uri}/Media.json"},
            "to": message.to, "uri": f"{uri}.json",
        }


def _missing(form: dict[str, str]) -> web.Response | None:
    if not form.get("To"):
        return _error(400, 21604, "A 'To' phone number is required.")
    if not form.get("From"):
        return _error(400, 21603, "A 'From' phone number is required.")
    if not form.get("Body") and not form.get("ContentSid"):
        return _error(400, 21619, "A text message body or media urls must be specified.")
    return None


def _fault_response(fault: Fault) -> web.Response:
    if fault.kind == RATE_LIMITED:
        return _error(429, 20429, "Too Many Requests")
    if fault.kind == SERVER_ERROR:
        return _error(500, 20500, "Internal Server Error")
    return _error(fault.status, fault.code, "The request was rejected")


def _error(status: int, code: int | None, message: str) -> web.Response:
    body = {"code": code, "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status}
    return web.json_response(body, status=status)


def inbound_form(sid: str, phone: str, body: str, *, button_payload: str | None = None,
                 whatsapp: bool = True) -> dict[str, str]:
    """The form of an incoming WhatsApp (or SMS) message, as Twilio posts it."""
    sender = f"whatsapp:{phone}" if whatsapp else phone
    recipient = WHATSAPP_FROM if whatsapp else SMS_FROM
    form = {
        "SmsMessageSid": sid, "NumMedia": "0", "SmsSid": sid, "SmsStatus": "received",
        "Body": body, "To": recipient, "NumSegments": "1", "MessageSid": sid,
        "AccountSid": ACCOUNT_SID, "From": sender, "ApiVersion": "2010-04-01",
    }
    if whatsapp:
        form.update({"ProfileName": "Ana Example", "WaId": phone.lstrip("+"),
                     "MessageType": "interactive" if button_payload else "text"})
    if button_payload is not None:
        form.update({"ButtonText": body, "ButtonPayload": button_payload})
    return form
