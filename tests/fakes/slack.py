"""A fake Slack Web API on 127.0.0.1 for scenario tests with the real slack_sdk and Bolt.

It answers the methods the bot calls (auth.test, chat.postMessage, chat.update, views.open,
files.getUploadURLExternal, files.completeUploadExternal, conversations.history and
conversations.list), accepts file uploads at the URL it hands out, and records what arrives
at ``response_url``. Faults can be queued per method: a status (429 with ``Retry-After``,
500), returned before the call takes effect or after it (a lost response), or a hold that
keeps the response back until the test releases it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.loopback import Call, serve_on_loopback

TOKEN = "xoxb-test-token"
TEAM_ID = "T0000001"
BOT_USER_ID = "UBOT0001"

_JSON_PARAMS = ("blocks", "metadata", "view", "files", "attachments")


@dataclass
class Fault:
    """What the fake does to the next call of ``method``."""

    method: str
    status: int = 500
    retry_after: int | None = None
    # True: the call takes effect and only the response is an error (Slack posted, the
    # client cannot know).
    after_effect: bool = False
    hold: asyncio.Event | None = None


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None = None
    metadata: dict[str, Any] | None = None
    updates: list[dict[str, Any]] = field(default_factory=list)


class FakeSlack:
    """Run with ``async with FakeSlack() as slack``; ``slack.base_url`` goes to slack_sdk."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.messages: list[Message] = []
        self.views: list[dict[str, Any]] = []
        self.uploads: dict[str, bytes] = {}
        self.completed_uploads: list[dict[str, Any]] = []
        self.responses: list[dict[str, Any]] = []
        self.faults: list[Fault] = []
        self._channels: dict[str, str] = {}
        self._ids = itertools.count(1)
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> FakeSlack:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_post("/respond/{key}", self._respond)
        self._runner, self.port = await serve_on_loopback(app)
        return self

    async def __aexit__(self, *_: object) -> None:
        for fault in self.faults:
            if fault.hold is not None:
                fault.hold.set()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self, key: str = "1") -> str:
        return f"http://127.0.0.1:{self.port}/respond/{key}"

    # -- test helpers ----------------------------------------------------------------------

    def channel_id(self, name: str) -> str:
        """Return the id of a channel name (with or without ``#``), creating it if new."""
        bare = name.lstrip("#")
        if bare.startswith(("C", "G")) and bare.isupper():
            return bare
        return self._channels.setdefault(bare, f"C{len(self._channels) + 1:08d}")

    def posts(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def top_level(self, channel: str | None = None) -> list[Message]:
        """Messages that are not thread replies, optionally in one channel."""
        wanted = self.channel_id(channel) if channel else None
        return [message for message in self.messages if message.thread_ts is None
                and (wanted is None or message.channel == wanted)]

    def thread(self, ts: str) -> list[Message]:
        return [message for message in self.messages if message.thread_ts == ts]

    async def wait_for(self, condition: Callable[[], bool], within: float = 5.0) -> None:
        """Wait until ``condition()`` holds after some call; fail the test after ``within`` s."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(condition), within)

    # -- HTTP handlers ---------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await _params(request)
        call = Call(method=method, params=params, at=time.monotonic())
        self.calls.append(call)
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return await self._finish(call, web.json_response({"ok": False,
                                                               "error": "invalid_auth"}))
        fault = self._take_fault(method)
        if fault is not None and not fault.after_effect and fault.hold is None:
            return await self._finish(call, _fault_response(fault))
        body = self._dispatch(method, params)
        if fault is not None and fault.hold is not None:
            await self._notify()
            await fault.hold.wait()
        if fault is not None:
            return await self._finish(call, _fault_response(fault))
        return await self._finish(call, web.json_response(body))

    async def _finish(self, call: Call, response: web.Response) -> web.Response:
        call.status = response.status
        await self._notify()
        return response

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def _take_fault(self, method: str) -> Fault | None:
        for index, fault in enumerate(self.faults):
            if fault.method == method:
                return self.faults.pop(index)
        return None

    def _dispatch(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        handlers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "views.open": self._views_open,
            "files.getUploadURLExternal": self._upload_url,
            "files.completeUploadExternal": self._complete_upload,
            "conversations.history": self._history,
            "conversations.list": self._list,
        }
        handler = handlers.get(method)
        if handler is None:
            return {"ok": False, "error": "unknown_method"}
        return handler(params)

    def _auth_test(self, _: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": "https://example.slack.com/", "team": "Example",
                "user": "nps-bot", "team_id": TEAM_ID, "user_id": BOT_USER_ID,
                "bot_id": "B0000001", "is_enterprise_install": False}

    def _post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self.channel_id(str(params["channel"]))
        ts = f"{int(time.time())}.{next(self._ids):06d}"
        message = Message(channel=channel, ts=ts, text=str(params.get("text", "")),
                          blocks=list(params.get("blocks") or []),
                          thread_ts=params.get("thread_ts"), metadata=params.get("metadata"))
        self.messages.append(message)
        return {"ok": True, "channel": channel, "ts": ts,
                "message": {"text": message.text, "ts": ts, "blocks": message.blocks}}

    def _update(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self.channel_id(str(params["channel"]))
        for message in self.messages:
            if message.channel == channel and message.ts == params.get("ts"):
                message.updates.append(params)
                message.blocks = list(params.get("blocks") or message.blocks)
                message.text = str(params.get("text", message.text))
                return {"ok": True, "channel": channel, "ts": message.ts}
        return {"ok": False, "error": "message_not_found"}

    def _views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        view = dict(params["view"])
        view["id"] = f"V{next(self._ids):08d}"
        self.views.append({"trigger_id": params.get("trigger_id"), "view": view})
        return {"ok": True, "view": view}

    def _upload_url(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = f"F{next(self._ids):08d}"
        return {"ok": True, "file_id": file_id,
                "upload_url": f"http://127.0.0.1:{self.port}/upload/{file_id}"}

    def _complete_upload(self, params: dict[str, Any]) -> dict[str, Any]:
        self.completed_uploads.append(params)
        files = [{"id": item["id"], "title": item.get("title")} for item in params["files"]]
        return {"ok": True, "files": files}

    def _history(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = str(params["channel"])
        oldest = float(params.get("oldest") or 0)
        with_metadata = str(params.get("include_all_metadata", "")).lower() in ("1", "true")
        found = []
        for message in reversed(self.messages):
            if message.channel != channel or float(message.ts) < oldest:
                continue
            item: dict[str, Any] = {"type": "message", "ts": message.ts, "text": message.text,
                                    "user": BOT_USER_ID}
            if with_metadata and message.metadata:
                item["metadata"] = message.metadata
            found.append(item)
        return {"ok": True, "messages": found, "has_more": False}

    def _list(self, _: dict[str, Any]) -> dict[str, Any]:
        channels = [{"id": channel_id, "name": name, "is_channel": True}
                    for name, channel_id in self._channels.items()]
        return {"ok": True, "channels": channels, "response_metadata": {"next_cursor": ""}}

    async def _upload(self, request: web.Request) -> web.Response:
        self.uploads[request.match_info["file_id"]] = await request.read()
        await self._notify()
        return web.Response(text="OK - uploaded")

    async def _respond(self, request: web.Request) -> web.Response:
        self.responses.append(await request.json())
        await self._notify()
        return web.Response(text="ok")


async def _params(request: web.Request) -> dict[str, Any]:
    """Merge query, form and JSON parameters, decoding JSON-valued form fields."""
    params: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        params.update(await request.json())
    elif request.can_read_body:
        form = await request.post()
        params.update({key: value for key, value in form.items() if isinstance(value, str)})
    for key in _JSON_PARAMS:
        if isinstance(params.get(key), str):
            params[key] = json.loads(params[key])
    return params


def _fault_response(fault: Fault) -> web.Response:
    if fault.status == 429:
        headers = {"Retry-After": str(fault.retry_after or 1)}
        return web.json_response({"ok": False, "error": "ratelimited"}, status=429,
                                 headers=headers)
    return web.Response(status=fault.status, text="Internal Server Error")
