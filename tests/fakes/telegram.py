"""A fake Telegram Bot API on 127.0.0.1 for tests that drive the real python-telegram-bot.

It serves ``/bot<token>/<method>`` for getMe, sendMessage, answerCallbackQuery, setWebhook,
getWebhookInfo, deleteWebhook and getUpdates, reads parameters the way the SDK sends them
(form fields whose non-string values are JSON) and records every call. Faults can be queued
per method and answered with the documented error bodies and HTTP statuses, because the SDK
classifies errors by the status: 429 with ``parameters.retry_after``, 403 "bot was blocked",
400 "query is too old", 500. ``block(chat_id)`` makes every later send to a chat fail with 403.

The module also builds updates in the documented shapes, for posting to the bot's webhook.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.loopback import Call, serve_on_loopback

TOKEN = "123456:TEST-token-for-the-fake"
BOT_USER = {"id": 987654321, "is_bot": True, "first_name": "NPS", "username": "example_nps_bot"}

RATE_LIMITED = "rate_limited"
BLOCKED = "blocked"
STALE_QUERY = "stale_query"
SERVER_ERROR = "server_error"

# Parameters that the SDK sends JSON-encoded inside form fields.
_JSON_PARAMS = ("chat_id", "reply_markup", "allowed_updates", "offset", "limit", "timeout",
                "max_connections", "drop_pending_updates")


@dataclass
class Fault:
    """The error the next call of ``method`` (to ``chat_id``, if given) gets."""

    method: str
    kind: str
    retry_after: int = 35
    chat_id: int | None = None


@dataclass
class SentMessage:
    chat_id: int
    text: str
    message_id: int
    reply_markup: dict[str, Any] | None
    at: float

    @property
    def button_rows(self) -> list[list[str]]:
        """The callback data of each inline keyboard row."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [[button["callback_data"] for button in row] for row in rows]


@dataclass
class FakeTelegram:
    """Run with ``async with FakeTelegram() as telegram``; ``base_url`` goes to ``Bot``."""

    token: str = TOKEN
    calls: list[Call] = field(default_factory=list)
    sent: list[SentMessage] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    blocked: set[int] = field(default_factory=set)
    webhook: dict[str, Any] = field(default_factory=dict)
    pending_updates: list[dict[str, Any]] = field(default_factory=list)
    port: int = 0

    def __post_init__(self) -> None:
        self._message_ids = itertools.count(1000)
        # Set by every sendMessage, for tests that wait for the bot to write.
        self.message_sent = asyncio.Event()
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    async def __aenter__(self) -> FakeTelegram:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._dispatch)
        self._runner, self.port = await serve_on_loopback(app)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    # -- what tests use --------------------------------------------------------------------

    def fail_next(self, method: str, kind: str, *, retry_after: int = 35,
                  chat_id: int | None = None) -> None:
        self.faults.append(Fault(method, kind, retry_after, chat_id))

    def block(self, chat_id: int) -> None:
        """The user of ``chat_id`` blocks the bot: every later send gets 403."""
        self.blocked.add(chat_id)

    def calls_of(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def sent_to(self, chat_id: int) -> list[SentMessage]:
        return [message for message in self.sent if message.chat_id == chat_id]

    # -- the API ---------------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await _params(request)
        if request.match_info["token"] != self.token:
            return self._error(method, params, 401, "Unauthorized")
        fault = self._take_fault(method, params)
        if fault is not None:
            return self._fault_response(method, params, fault)
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return self._error(method, params, 404, "Not Found")
        result = await handler(params)
        self.calls.append(Call(method, params, time.monotonic()))
        return web.json_response({"ok": True, "result": result})

    async def _api_getMe(self, params: dict[str, Any]) -> Any:
        return BOT_USER

    async def _api_sendMessage(self, params: dict[str, Any]) -> Any:
        chat_id = int(params["chat_id"])
        message_id = next(self._message_ids)
        markup = params.get("reply_markup")
        self.sent.append(SentMessage(chat_id, params["text"], message_id, markup,
                                     time.monotonic()))
        self.message_sent.set()
        result = {"message_id": message_id, "from": BOT_USER,
                  "chat": {"id": chat_id, "type": "private"}, "date": int(time.time()),
                  "text": params["text"]}
        if markup:
            result["reply_markup"] = markup
        return result

    async def _api_answerCallbackQuery(self, params: dict[str, Any]) -> Any:
        return True

    async def _api_setWebhook(self, params: dict[str, Any]) -> Any:
        self.webhook = dict(params)
        return True

    async def _api_deleteWebhook(self, params: dict[str, Any]) -> Any:
        self.webhook = {}
        return True

    async def _api_getWebhookInfo(self, params: dict[str, Any]) -> Any:
        return {"url": self.webhook.get("url", ""), "has_custom_certificate": False,
                "pending_update_count": len(self.pending_updates)}

    async def _api_getUpdates(self, params: dict[str, Any]) -> Any:
        offset = int(params.get("offset") or 0)
        ready = [update for update in self.pending_updates if update["update_id"] >= offset]
        if not ready:
            # A short wait stands in for long polling's timeout.
            await asyncio.sleep(0.05)
        return ready

    # -- faults ----------------------------------------------------------------------------

    def _take_fault(self, method: str, params: dict[str, Any]) -> Fault | None:
        if method == "sendMessage" and int(params.get("chat_id") or 0) in self.blocked:
            return Fault(method, BLOCKED)
        for fault in self.faults:
            wanted_chat = fault.chat_id is None or fault.chat_id == int(params.get("chat_id") or 0)
            if fault.method == method and wanted_chat:
                self.faults.remove(fault)
                return fault
        return None

    def _fault_response(self, method: str, params: dict[str, Any], fault: Fault) -> web.Response:
        if fault.kind == RATE_LIMITED:
            return self._error(method, params, 429,
                               f"Too Many Requests: retry after {fault.retry_after}",
                               parameters={"retry_after": fault.retry_after})
        if fault.kind == BLOCKED:
            return self._error(method, params, 403, "Forbidden: bot was blocked by the user")
        if fault.kind == STALE_QUERY:
            return self._error(method, params, 400, "Bad Request: query is too old and response "
                               "timeout expired or query ID is invalid")
        return self._error(method, params, 500, "Internal Server Error")

    def _error(self, method: str, params: dict[str, Any], status: int, description: str,
               parameters: dict[str, Any] | None = None) -> web.Response:
        self.calls.append(Call(method, params, time.monotonic(), status))
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if parameters:
            body["parameters"] = parameters
        return web.json_response(body, status=status)


async def _params(request: web.Request) -> dict[str, Any]:
    if request.content_type == "application/json":
        data = await request.json()
        return dict(data) if isinstance(data, dict) else {}
    fields: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        form = await request.post()
        fields.update({key: value for key, value in form.items() if isinstance(value, str)})
    for name in _JSON_PARAMS:
        if isinstance(fields.get(name), str):
            fields[name] = json.loads(fields[name])
    return fields


# -- updates in the documented shapes -------------------------------------------------------

def user(chat_id: int, *, language_code: str | None = "en", first_name: str = "Ana") -> dict:
    person: dict[str, Any] = {"id": chat_id, "is_bot": False, "first_name": first_name}
    if language_code is not None:
        person["language_code"] = language_code
    return person


def text_update(update_id: int, chat_id: int, text: str, *, message_id: int | None = None,
                language_code: str | None = "en") -> dict[str, Any]:
    """An update with a private text message, as Telegram posts it to a webhook."""
    message: dict[str, Any] = {
        "message_id": message_id if message_id is not None else update_id,
        "from": user(chat_id, language_code=language_code),
        "chat": {"id": chat_id, "first_name": "Ana", "type": "private"},
        "date": int(time.time()),
        "text": text,
    }
    if text.startswith("/"):
        command = text.split(" ", 1)[0]
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    return {"update_id": update_id, "message": message}


def callback_update(update_id: int, chat_id: int, data: str, *, query_id: str | None = None,
                    language_code: str | None = "en") -> dict[str, Any]:
    """An update with a callback query from a tapped inline keyboard button."""
    return {
        "update_id": update_id,
        "callback_query": {
            "id": query_id or f"query-{update_id}",
            "from": user(chat_id, language_code=language_code),
            "message": {"message_id": 1, "from": BOT_USER,
                        "chat": {"id": chat_id, "type": "private", "first_name": "Ana"},
                        "date": int(time.time()), "text": "0-10?"},
            "chat_instance": "-5812345678901234567",
            "data": data,
        },
    }
