"""The aiohttp request layer under python-telegram-bot, against a local server."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from telegram import InputFile
from telegram.error import NetworkError, TimedOut
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from channels.telegram_http import AiohttpRequest


class _Api:
    """Records each call's form fields; ``hold`` keeps a call waiting until it is set."""

    def __init__(self) -> None:
        self.fields: list[dict[str, str]] = []
        self.files: list[tuple[str, str | None, bytes]] = []
        self.hold = asyncio.Event()
        self.hold.set()

    async def handle(self, request: web.Request) -> web.Response:
        await self.hold.wait()
        if request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            async for part in reader:
                self.files.append((part.name or "", part.filename, await part.read()))
        else:
            form = await request.post()
            self.fields.append({key: str(value) for key, value in form.items()})
        return web.json_response({"ok": True, "result": True})


@pytest.fixture
async def api() -> AsyncIterator[tuple[_Api, str]]:
    recorder = _Api()
    app = web.Application()
    app.router.add_post("/bot{token}/{method}", recorder.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield recorder, str(server.make_url("/bot1:x/sendMessage"))
    finally:
        recorder.hold.set()
        await server.close()


@pytest.fixture
async def request_layer() -> AsyncIterator[AiohttpRequest]:
    layer = AiohttpRequest(connection_pool_size=4)
    await layer.initialize()
    try:
        yield layer
    finally:
        await layer.shutdown()


def _data(**values: object) -> RequestData:
    return RequestData([RequestParameter.from_input(name, value)
                        for name, value in values.items()])


async def test_fields_sent_as_form(api: tuple[_Api, str],
                                   request_layer: AiohttpRequest) -> None:
    recorder, url = api

    status, body = await request_layer.do_request(
        url, "POST", _data(chat_id=42, text="Olá", reply_markup={"inline_keyboard": []}))

    assert status == 200
    assert body == b'{"ok": true, "result": true}'
    assert recorder.fields == [{"chat_id": "42", "text": "Olá",
                                "reply_markup": '{"inline_keyboard": []}'}]


async def test_file_sent_as_multipart(api: tuple[_Api, str],
                                      request_layer: AiohttpRequest) -> None:
    recorder, url = api

    await request_layer.do_request(
        url, "POST", _data(chat_id=42, document=InputFile(b"a,b\n", filename="scores.csv")))

    assert ("document", "scores.csv", b"a,b\n") in recorder.files
    assert ("chat_id", None, b"42") in recorder.files


async def test_slow_server_times_out(api: tuple[_Api, str],
                                     request_layer: AiohttpRequest) -> None:
    recorder, url = api
    recorder.hold.clear()

    with pytest.raises(TimedOut):
        await request_layer.do_request(url, "POST", _data(chat_id=1), read_timeout=0.05)


async def test_refused_connection_is_network_error(request_layer: AiohttpRequest) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with pytest.raises(NetworkError, match=r"aiohttp\.ClientConnectorError"):
        await request_layer.do_request(f"http://127.0.0.1:{port}/bot1:x/getMe", "POST")


async def test_unused_layer_refuses() -> None:
    with pytest.raises(RuntimeError, match="not initialized"):
        await AiohttpRequest().do_request("http://127.0.0.1:9/bot1:x/getMe", "POST")
