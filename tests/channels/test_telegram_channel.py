"""The Telegram adapter against the fake Bot API, through the real python-telegram-bot."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from channels.base import (
    Button,
    InvalidWebhook,
    OutboundMessage,
    RateLimited,
    Transient,
    Unreachable,
)
from channels.telegram import TelegramChannel, inline_keyboard
from flows.language import LocaleSource, resolve_locale
from tests.channels.conftest import WEBHOOK_SECRET, fixture_json
from tests.fakes.telegram import BLOCKED, RATE_LIMITED, SERVER_ERROR, STALE_QUERY, FakeTelegram

NOW = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
SCORE_BUTTONS = tuple(Button(str(value), f"nps:{value}") for value in range(11))


@pytest.fixture
async def channel(fake_telegram: FakeTelegram) -> AsyncIterator[TelegramChannel]:
    telegram = TelegramChannel(fake_telegram.token, base_url=fake_telegram.base_url,
                               webhook_secret=WEBHOOK_SECRET)
    try:
        yield telegram
    finally:
        await telegram.aclose()


def _parse(channel: TelegramChannel, update: dict) -> object:
    return channel.parse_webhook(json.dumps(update).encode(), received_at=NOW)


async def test_send_score_in_two_rows(channel: TelegramChannel,
                                      fake_telegram: FakeTelegram) -> None:
    delivery = await channel.send(OutboundMessage("123456789", "0-10?", SCORE_BUTTONS))

    [sent] = fake_telegram.sent
    assert sent.chat_id == 123456789
    assert sent.text == "0-10?"
    assert sent.button_rows == [[f"nps:{value}" for value in range(6)],
                                [f"nps:{value}" for value in range(6, 11)]]
    assert delivery.provider_message_id == f"123456789:{sent.message_id}"


def test_keyboard_one_row_for_five() -> None:
    buttons = tuple(Button(str(value), f"nps:{value}") for value in range(1, 6))

    markup = inline_keyboard(buttons)

    assert markup is not None
    assert [[button.callback_data for button in row] for row in markup.inline_keyboard] == [
        ["nps:1", "nps:2", "nps:3", "nps:4", "nps:5"]
    ]


def test_keyboard_absent_without_buttons() -> None:
    assert inline_keyboard(()) is None


async def test_first_send_calls_getme(channel: TelegramChannel,
                                      fake_telegram: FakeTelegram) -> None:
    await channel.send(OutboundMessage("1", "hi"))
    await channel.send(OutboundMessage("1", "again"))

    assert [call.method for call in fake_telegram.calls] == ["getMe", "sendMessage",
                                                             "sendMessage"]


async def test_rate_limit_carries_retry_after(channel: TelegramChannel,
                                              fake_telegram: FakeTelegram) -> None:
    expected = fixture_json("telegram_errors.json")["rate_limited"]["parameters"]["retry_after"]
    fake_telegram.fail_next("sendMessage", RATE_LIMITED, retry_after=expected)

    with pytest.raises(RateLimited) as caught:
        await channel.send(OutboundMessage("1", "hi"))

    assert caught.value.retry_after == 35.0
    assert caught.value.__cause__ is not None


async def test_blocked_user_unreachable(channel: TelegramChannel,
                                        fake_telegram: FakeTelegram) -> None:
    fake_telegram.block(42)

    with pytest.raises(Unreachable, match="bot was blocked by the user"):
        await channel.send(OutboundMessage("42", "hi"))


async def test_server_error_is_transient(channel: TelegramChannel,
                                         fake_telegram: FakeTelegram) -> None:
    fake_telegram.fail_next("sendMessage", SERVER_ERROR)

    with pytest.raises(Transient):
        await channel.send(OutboundMessage("1", "hi"))


async def test_refused_connection_is_transient() -> None:
    async with FakeTelegram() as gone:
        base_url = gone.base_url
    telegram = TelegramChannel(gone.token, base_url=base_url)
    try:
        with pytest.raises(Transient):
            await telegram.send(OutboundMessage("1", "hi"))
    finally:
        await telegram.aclose()


async def test_address_not_chat_id(channel: TelegramChannel) -> None:
    with pytest.raises(Unreachable, match="not a Telegram chat id"):
        await channel.send(OutboundMessage("whatsapp:+5511999990000", "hi"))


async def test_stale_callback_answer_ignored(channel: TelegramChannel,
                                             fake_telegram: FakeTelegram) -> None:
    fake_telegram.fail_next("answerCallbackQuery", STALE_QUERY)

    answered = await channel.answer_callback("4382bfdwdsb323b2d9")

    assert answered is False
    assert fake_telegram.calls_of("answerCallbackQuery")[0].status == 400


async def test_blocked_callback_answer_ignored(channel: TelegramChannel,
                                               fake_telegram: FakeTelegram) -> None:
    fake_telegram.fail_next("answerCallbackQuery", BLOCKED)

    assert await channel.answer_callback("q1") is False


def test_secret_checked(channel: TelegramChannel) -> None:
    assert channel.verify_secret(WEBHOOK_SECRET) is True
    assert channel.verify_secret("wrong") is False
    assert channel.verify_secret(None) is False


def test_secret_unset_rejects_all(fake_telegram: FakeTelegram) -> None:
    telegram = TelegramChannel(fake_telegram.token, base_url=fake_telegram.base_url)

    assert telegram.verify_secret("") is False
    assert telegram.verify_secret("anything") is False


def test_parse_text_fixture(channel: TelegramChannel) -> None:
    parsed = _parse(channel, fixture_json("telegram_update_text.json"))

    assert parsed.update_id == 100000001
    assert parsed.is_start is False
    message = parsed.message
    assert message.channel == "telegram"
    assert message.address == "123456789"
    assert message.provider_message_id == "message:123456789:42"
    assert message.text == "9"
    assert message.payload is None
    assert message.language_code == "pt-BR"
    assert message.display_name == "Ana Example"
    assert message.received_at == NOW


def test_parse_callback_fixture(channel: TelegramChannel) -> None:
    parsed = _parse(channel, fixture_json("telegram_update_callback.json"))

    assert parsed.update_id == 100000002
    assert parsed.callback_query_id == "4382bfdwdsb323b2d9"
    message = parsed.message
    assert message.address == "123456789"
    assert message.provider_message_id == "callback:4382bfdwdsb323b2d9"
    assert message.payload == "nps:9"
    assert message.text == ""
    assert message.language_code == "es"


@pytest.mark.parametrize(("text", "parameter"), [
    ("/start", None),
    ("/start 0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef"),
    ("/start@example_nps_bot", None),
])
def test_parse_start_command(channel: TelegramChannel, text: str, parameter: str | None) -> None:
    update = fixture_json("telegram_update_text.json")
    update["message"]["text"] = text

    parsed = _parse(channel, update)

    assert parsed.is_start is True
    assert parsed.start_parameter == parameter


def test_parse_group_message_ignored(channel: TelegramChannel) -> None:
    update = fixture_json("telegram_update_text.json")
    update["message"]["chat"] = {"id": -100123, "type": "supergroup", "title": "Team"}

    assert _parse(channel, update).message is None


def test_parse_unknown_update_ignored(channel: TelegramChannel) -> None:
    update = fixture_json("telegram_update_text.json")
    update["update_id"] = 7
    update["edited_message"] = update.pop("message")

    parsed = _parse(channel, update)

    assert parsed.update_id == 7
    assert parsed.message is None


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"message": {}}', b'{"update_id": "1"}'])
def test_parse_rejects_malformed(channel: TelegramChannel, body: bytes) -> None:
    with pytest.raises(InvalidWebhook):
        channel.parse_webhook(body, received_at=NOW)


@pytest.mark.parametrize(("code", "locale", "source"), [
    ("pt-BR", "pt_BR", LocaleSource.PLATFORM),
    ("it-IT", "en", LocaleSource.DEFAULT),
    (None, "en", LocaleSource.DEFAULT),
])
def test_language_code_as_locale(code: str | None, locale: str, source: LocaleSource) -> None:
    assert resolve_locale(platform_code=code, default="en") == (locale, source)


async def test_set_webhook_registers_secret(channel: TelegramChannel,
                                            fake_telegram: FakeTelegram) -> None:
    registered = await channel.set_webhook("https://nps.example.com/webhooks/telegram",
                                           secret=WEBHOOK_SECRET)

    assert registered is True
    assert fake_telegram.webhook["url"] == "https://nps.example.com/webhooks/telegram"
    assert fake_telegram.webhook["secret_token"] == WEBHOOK_SECRET
    assert fake_telegram.webhook["allowed_updates"] == ["message", "callback_query"]
    assert await channel.webhook_url() == "https://nps.example.com/webhooks/telegram"

