"""``nps-bot invite`` and ``nps-bot telegram set-webhook`` against the fakes.

The command runs its own event loop, so it runs in a thread while the fakes keep serving on
the test's loop.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from click.testing import Result
from typer.testing import CliRunner

from bot.cli import app
from bot.settings import Settings
from tests.channels.conftest import WEBHOOK_SECRET, WINDOW_TEMPLATE
from tests.fakes.telegram import FakeTelegram
from tests.fakes.twilio import SMS_FROM, WHATSAPP_FROM, FakeTwilio


@pytest.fixture
def cli(settings: Settings, fake_telegram: FakeTelegram, fake_twilio: FakeTwilio,
        monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A runner whose environment points the CLI at the test backend and the fakes."""
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    if settings.redis_url:
        monkeypatch.setenv("REDIS_URL", settings.redis_url)
    monkeypatch.setenv("NPS_REDIS_PREFIX", settings.redis_prefix)
    monkeypatch.delenv("NPS_SURVEYS_FILE", raising=False)
    monkeypatch.chdir(settings.surveys_file.parent)
    environment = {
        "NPS_TELEGRAM_BOT_TOKEN": fake_telegram.token,
        "NPS_TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "NPS_TELEGRAM_BASE_URL": fake_telegram.base_url,
        "NPS_TWILIO_ACCOUNT_SID": fake_twilio.account_sid,
        "NPS_TWILIO_AUTH_TOKEN": fake_twilio.auth_token,
        "NPS_TWILIO_WHATSAPP_FROM": WHATSAPP_FROM,
        "NPS_TWILIO_SMS_FROM": SMS_FROM,
        "NPS_TWILIO_BASE_URL": fake_twilio.base_url,
        "NPS_TWILIO_OPENING_TEMPLATE_SID": WINDOW_TEMPLATE,
        "NPS_PUBLIC_BASE_URL": "https://nps.example.com",
        "NPS_LOG_LEVEL": "WARNING",
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return CliRunner()


async def _run(cli: CliRunner, *args: str) -> Result:
    return await asyncio.to_thread(cli.invoke, app, list(args))


async def test_invite_whatsapp_sends_template(cli: CliRunner, fake_twilio: FakeTwilio) -> None:
    result = await _run(cli, "invite", "--channel", "whatsapp", "--address", "+5511999990000",
                        "--attr", "customer_type=enterprise")

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("invitation ")
    assert result.stdout.rstrip().endswith(": sent")
    [message] = fake_twilio.messages
    assert message.to == "whatsapp:+5511999990000"
    assert message.content_sid == WINDOW_TEMPLATE
    assert json.loads(message.content_variables or "")["1"].startswith("Olá!")


async def test_invite_telegram_locale(cli: CliRunner, fake_telegram: FakeTelegram) -> None:
    result = await _run(cli, "invite", "--channel", "telegram", "--address", "123456789",
                        "--locale", "es")

    assert result.exit_code == 0, result.output
    [message] = fake_telegram.sent
    assert message.chat_id == 123456789
    assert message.text.startswith("¡Hola!")


async def test_invite_telegram_without_chat_id(cli: CliRunner) -> None:
    result = await _run(cli, "invite", "--channel", "telegram")

    assert result.exit_code == 2
    assert "needs their chat id" in result.stderr
    assert "/start" in result.stderr


async def test_invite_blocked_exits_nonzero(cli: CliRunner, fake_telegram: FakeTelegram) -> None:
    fake_telegram.block(42)

    result = await _run(cli, "invite", "--channel", "telegram", "--address", "42")

    assert result.exit_code == 1
    assert result.stdout.rstrip().endswith(": failed")
    assert "bot was blocked by the user" in result.stderr


async def test_set_webhook_registers(cli: CliRunner, fake_telegram: FakeTelegram) -> None:
    result = await _run(cli, "telegram", "set-webhook")

    assert result.exit_code == 0, result.output
    assert fake_telegram.webhook["url"] == "https://nps.example.com/webhooks/telegram"
    assert fake_telegram.webhook["secret_token"] == WEBHOOK_SECRET
    assert "https://nps.example.com/webhooks/telegram" in result.stdout


async def test_set_webhook_needs_https(cli: CliRunner, fake_telegram: FakeTelegram,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NPS_PUBLIC_BASE_URL", "http://localhost:8080")

    result = await _run(cli, "telegram", "set-webhook")

    assert result.exit_code == 2
    assert "only to HTTPS URLs" in result.stderr
    assert fake_telegram.webhook == {}


async def test_set_webhook_needs_valid_secret(cli: CliRunner,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NPS_TELEGRAM_WEBHOOK_SECRET", "has spaces")

    result = await _run(cli, "telegram", "set-webhook")

    assert result.exit_code == 2
    assert "NPS_TELEGRAM_WEBHOOK_SECRET" in result.stderr


async def test_polling_needs_token(cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NPS_TELEGRAM_BOT_TOKEN")

    result = await _run(cli, "serve", "--telegram-polling")

    assert result.exit_code == 2
    assert "NPS_TELEGRAM_BOT_TOKEN" in result.stderr
