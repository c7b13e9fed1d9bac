"""Telegram through python-telegram-bot: webhook updates in, messages with inline keyboards out.

Everything goes through the SDK's ``Bot``, on an aiohttp request layer for replies
(``channels.telegram_http``), so ``base_url`` alone points the adapter at a local fake.
Telegram repeats a webhook until it gets a 2xx answer and sends the secret given to
``setWebhook`` back in ``X-Telegram-Bot-Api-Secret-Token``.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from telegram import Bot, CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import (
    BadRequest,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import Updater
from telegram.request import HTTPXRequest

from channels.base import (
    Button,
    Capabilities,
    ChannelError,
    Delivery,
    InboundMessage,
    InvalidWebhook,
    OutboundMessage,
    RateLimited,
    Transient,
    Unreachable,
)
from channels.telegram_http import AiohttpRequest

logger = logging.getLogger(__name__)

# python-telegram-bot 22.2+ returns durations such as RetryAfter.retry_after as int and warns
# on every read (even inside its own constructor) until this opt-in selects timedelta, the
# type later versions use. The code below accepts both, so an operator may set it to false.
os.environ.setdefault("PTB_TIMEDELTA", "true")

CHANNEL = "telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# The updates the survey reads; setWebhook and getUpdates ask for these only.
ALLOWED_UPDATES = ("message", "callback_query")
# Six buttons fit a phone screen in one row, so 0-10 becomes two rows and 1-5 stays one.
MAX_BUTTONS_PER_ROW = 6
# Bot API: "query is too old and response timeout expired or query ID is invalid".
_STALE_QUERY = "query is too old"


@dataclass(frozen=True)
class TelegramUpdate:
    """One update, parsed: the message for the survey (None if the survey ignores it).

    ``is_start`` marks the ``/start`` command, and ``start_parameter`` carries the payload of
    a deep link ``t.me/<bot>?start=<parameter>``. ``callback_query_id`` must be answered so
    the client stops its loading animation on the tapped button.
    """

    update_id: int
    message: InboundMessage | None
    is_start: bool = False
    start_parameter: str | None = None
    callback_query_id: str | None = None


class TelegramChannel:
    """Sends to and parses updates from one Telegram bot.

    Addresses are chat ids as text (``"123456789"``). A bot can only write to people who have
    started it, so every address comes from an earlier update.
    """

    name = CHANNEL
    capabilities = Capabilities(buttons=True, max_buttons=12, user_starts=True)

    def __init__(
        self,
        token: str,
        *,
        base_url: str = "https://api.telegram.org/bot",
        webhook_secret: str | None = None,
        connection_pool_size: int = 64,
    ) -> None:
        request = AiohttpRequest(connection_pool_size=connection_pool_size)
        # Long polling keeps a request open, so it gets a request object of its own. It is
        # not on the reply path, so the SDK's own HTTPX layer serves it.
        polling_request = HTTPXRequest(connection_pool_size=1, read_timeout=30.0)
        self._bot = Bot(token, base_url=base_url, request=request,
                        get_updates_request=polling_request)
        self._secret = webhook_secret
        self._ready_lock = asyncio.Lock()
        self._initialized = False

    @property
    def bot(self) -> Bot:
        return self._bot

    def verify_secret(self, header: str | None) -> bool:
        """Return whether ``header`` is the webhook secret; False when none is configured."""
        if not self._secret or header is None:
            return False
        return hmac.compare_digest(header.encode(), self._secret.encode())

    def parse_webhook(self, body: bytes, *, received_at: datetime) -> TelegramUpdate:
        """Parse a webhook body; raise InvalidWebhook if it is not a Telegram update."""
        try:
            data = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise InvalidWebhook(f"update body is not JSON: {error}") from error
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            raise InvalidWebhook("update has no integer update_id")
        try:
            update = Update.de_json(data, self._bot)
        except (KeyError, TypeError, ValueError) as error:
            raise InvalidWebhook(f"update {data['update_id']} is malformed: {error!r}") from error
        return parse_update(update, received_at=received_at)

    async def send(self, message: OutboundMessage) -> Delivery:
        """Send a text with its buttons as an inline keyboard; templates do not exist here."""
        chat_id = _chat_id(message.address)
        try:
            await self._ready()
            sent = await self._bot.send_message(
                chat_id, message.text, reply_markup=inline_keyboard(message.buttons)
            )
        except TelegramError as error:
            raise _translate(error) from error
        return Delivery(provider_message_id=f"{sent.chat_id}:{sent.message_id}")

    async def answer_callback(self, query_id: str) -> bool:
        """Answer a button tap; return False (and log) when Telegram rejects the answer.

        Never raises: a tap answered late, or not at all, only leaves the client's loading
        animation running, and the payload is processed either way.
        """
        try:
            await self._ready()
            await self._bot.answer_callback_query(query_id)
        except BadRequest as error:
            if _STALE_QUERY in str(error).lower():
                logger.info("callback query %s is too old to answer; ignored", query_id)
            else:
                logger.warning("callback query %s was not answered: %s", query_id, error)
            return False
        except TelegramError as error:
            logger.warning("callback query %s was not answered: %s", query_id, error)
            return False
        return True

    async def set_webhook(self, url: str, *, secret: str) -> bool:
        """Register ``url`` as the webhook, with ``secret`` for the secret-token header."""
        try:
            await self._ready()
            return await self._bot.set_webhook(url, secret_token=secret,
                                               allowed_updates=list(ALLOWED_UPDATES))
        except TelegramError as error:
            raise _translate(error) from error

    async def webhook_url(self) -> str:
        """Return the webhook URL Telegram has on record ('' when polling)."""
        try:
            await self._ready()
            info = await self._bot.get_webhook_info()
        except TelegramError as error:
            raise _translate(error) from error
        return info.url

    async def poll(self) -> AsyncIterator[Update]:
        """Yield updates from long polling (``getUpdates``), for local use without a webhook.

        The SDK's ``Updater`` removes any webhook first, because Telegram refuses getUpdates
        while one is set, and retries network errors with a back-off.
        """
        queue: asyncio.Queue[object] = asyncio.Queue()
        updater = Updater(self._bot, queue)
        await updater.initialize()
        await updater.start_polling(allowed_updates=list(ALLOWED_UPDATES))
        logger.info("polling Telegram for updates")
        try:
            while True:
                item = await queue.get()
                if isinstance(item, Update):
                    yield item
        finally:
            await updater.stop()
            logger.info("stopped polling Telegram")

    async def aclose(self) -> None:
        """Close the SDK's HTTP connections (none are open before the first request)."""
        await self._bot.shutdown()
        self._initialized = False

    async def _ready(self) -> None:
        # Bot.initialize calls getMe once, which also proves the token works.
        async with self._ready_lock:
            if not self._initialized:
                await self._bot.initialize()
                self._initialized = True


def parse_update(update: Update, *, received_at: datetime) -> TelegramUpdate:
    """Turn an SDK ``Update`` into what the survey reads; other kinds give ``message=None``."""
    if update.callback_query is not None:
        return _from_callback(update.update_id, update.callback_query, received_at)
    incoming = update.message
    if incoming is None or incoming.chat.type != "private":
        return TelegramUpdate(update.update_id, None)

    text = incoming.text or incoming.caption or ""
    sender = incoming.from_user
    message = InboundMessage(
        channel=CHANNEL,
        address=str(incoming.chat.id),
        # Unlike update_id, which Telegram may restart at random after a quiet week, the pair
        # (chat id, message id) never repeats, so it is the durable dedupe key.
        provider_message_id=f"message:{incoming.chat.id}:{incoming.message_id}",
        received_at=received_at,
        text=text,
        display_name=sender.full_name if sender is not None else None,
        language_code=sender.language_code if sender is not None else None,
    )
    is_start, parameter = _start_command(text)
    return TelegramUpdate(update.update_id, message, is_start=is_start, start_parameter=parameter)


def _from_callback(update_id: int, query: CallbackQuery, received_at: datetime) -> TelegramUpdate:
    chat = query.message.chat if query.message is not None else None
    if chat is not None and chat.type != "private":
        return TelegramUpdate(update_id, None, callback_query_id=query.id)
    # In a private chat the chat id is the user id, so a query without its message still
    # names the address.
    message = InboundMessage(
        channel=CHANNEL,
        address=str(chat.id if chat is not None else query.from_user.id),
        provider_message_id=f"callback:{query.id}",
        received_at=received_at,
        payload=query.data,
        display_name=query.from_user.full_name,
        language_code=query.from_user.language_code,
    )
    return TelegramUpdate(update_id, message, callback_query_id=query.id)


def _start_command(text: str) -> tuple[bool, str | None]:
    """Read ``/start``, ``/start@bot_name`` and a deep link's ``/start <parameter>``."""
    command, _, rest = text.strip().partition(" ")
    if command.split("@", 1)[0] != "/start":
        return False, None
    return True, rest.strip() or None


def inline_keyboard(buttons: Sequence[Button]) -> InlineKeyboardMarkup | None:
    """Lay buttons out in rows of at most MAX_BUTTONS_PER_ROW, the first row the longest."""
    if not buttons:
        return None
    rows = -(-len(buttons) // MAX_BUTTONS_PER_ROW)
    per_row = -(-len(buttons) // rows)
    keyboard = [
        [InlineKeyboardButton(button.label, callback_data=button.payload)
         for button in buttons[start:start + per_row]]
        for start in range(0, len(buttons), per_row)
    ]
    return InlineKeyboardMarkup(keyboard)


def _chat_id(address: str) -> int:
    try:
        return int(address)
    except ValueError:
        # The address is not echoed: it may be a phone number that reached the wrong channel.
        raise Unreachable("the address is not a Telegram chat id") from None


def _retry_seconds(error: RetryAfter) -> float:
    value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _translate(error: TelegramError) -> ChannelError:
    """Map an SDK error to the channel errors; the caller raises it ``from`` the original."""
    if isinstance(error, RetryAfter):
        return RateLimited(str(error), retry_after=_retry_seconds(error))
    if isinstance(error, Forbidden):
        # 403: the user blocked the bot or deleted the account; retrying never helps.
        return Unreachable(str(error))
    if isinstance(error, BadRequest):
        if "chat not found" in str(error).lower():
            return Unreachable(str(error))
        return ChannelError(str(error))
    if isinstance(error, NetworkError):
        # Timeouts, refused connections and 5xx answers: the same request may work later.
        return Transient(str(error))
    return ChannelError(str(error))
