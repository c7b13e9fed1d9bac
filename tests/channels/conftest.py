"""The whole web app with Telegram and Twilio channels pointed at loopback fakes.

Platforms reach the app through a public URL that ends TLS at a proxy
(``https://nps.example.com``) while the test server listens on plain HTTP at 127.0.0.1, so
every signed request also checks that signatures use the public URL.
"""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from bot.runtime import Runtime, open_runtime
from bot.settings import Settings
from bot.web import create_app
from bot.webhooks import TASKS_KEY
from channels.telegram import SECRET_HEADER
from tests.fakes.telegram import FakeTelegram
from tests.fakes.twilio import SMS_FROM, WHATSAPP_FROM, FakeTwilio

FIXTURES = Path(__file__).parent.parent / "fixtures"
PUBLIC_BASE_URL = "https://nps.example.com"
WEBHOOK_SECRET = "test-webhook-secret_1"
WINDOW_TEMPLATE = "HX00000000000000000000000000000001"
SCORE_TEMPLATE = "HX00000000000000000000000000000002"


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8").strip()


def fixture_json(name: str) -> Any:
    return json.loads(fixture_text(name))


def fixture_form(name: str) -> dict[str, str]:
    return dict(parse_qsl(fixture_text(name), keep_blank_values=True))


@pytest.fixture
async def fake_telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as telegram:
        yield telegram


@pytest.fixture
async def fake_twilio() -> AsyncIterator[FakeTwilio]:
    async with FakeTwilio() as twilio:
        yield twilio


@pytest.fixture
def channel_settings(
    settings: Settings, fake_telegram: FakeTelegram, fake_twilio: FakeTwilio
) -> Settings:
    """The run's backend, with every channel configured against the fakes."""
    return Settings(**{
        **settings.model_dump(),
        "telegram_bot_token": fake_telegram.token,
        "telegram_webhook_secret": WEBHOOK_SECRET,
        "telegram_base_url": fake_telegram.base_url,
        "twilio_account_sid": fake_twilio.account_sid,
        "twilio_auth_token": fake_twilio.auth_token,
        "twilio_whatsapp_from": WHATSAPP_FROM,
        "twilio_sms_from": SMS_FROM,
        "twilio_base_url": fake_twilio.base_url,
        "twilio_opening_template_sid": WINDOW_TEMPLATE,
        "public_base_url": PUBLIC_BASE_URL,
    })


@pytest.fixture
async def bot(channel_settings: Settings) -> AsyncIterator[Runtime]:
    """The runtime with the channels that the settings configure."""
    opened = await open_runtime(channel_settings, alert_stream=io.StringIO())
    try:
        yield opened
    finally:
        await opened.close()


@dataclass
class App:
    """The running app, and requests to it as the platforms send them."""

    client: TestClient
    runtime: Runtime
    twilio: FakeTwilio

    async def telegram(self, update: dict[str, Any], *,
                       secret: str | None = WEBHOOK_SECRET) -> ClientResponse:
        headers = {SECRET_HEADER: secret} if secret is not None else {}
        return await self.client.post("/webhooks/telegram", json=update, headers=headers)

    async def twilio_post(self, path: str, form: dict[str, str], *,
                          signature: str | None = "sign", url: str | None = None) -> ClientResponse:
        """Post ``form`` signed for the public URL of ``path`` (or for ``url``)."""
        headers = {}
        if signature == "sign":
            headers["X-Twilio-Signature"] = self.twilio.sign(url or PUBLIC_BASE_URL + path, form)
        elif signature is not None:
            headers["X-Twilio-Signature"] = signature
        return await self.client.post(path, data=form, headers=headers)

    async def settle(self) -> None:
        """Wait for the replies sent after responses, and for the fake's status callbacks."""
        await self.client.app[TASKS_KEY].drain()
        await self.twilio.settle()
        await self.client.app[TASKS_KEY].drain()


@pytest.fixture
async def app(bot: Runtime, fake_twilio: FakeTwilio) -> AsyncIterator[App]:
    async with TestClient(TestServer(create_app(bot), host="127.0.0.1")) as client:
        fake_twilio.route_callbacks(PUBLIC_BASE_URL, str(client.make_url("")))
        yield App(client, bot, fake_twilio)
