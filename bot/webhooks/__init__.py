"""Webhook routes of the messaging channels, added to the web app by ``add_channel_routes``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from bot.channel_registry import TELEGRAM_WEBHOOK_PATH, TWILIO_MESSAGES_PATH, TWILIO_STATUS_PATH
from bot.runtime import Runtime
from bot.webhooks.inbound import BackgroundTasks, InboundPipeline
from bot.webhooks.telegram import TelegramWebhook, start_polling
from bot.webhooks.twilio import TwilioWebhooks
from channels.telegram import TelegramChannel
from channels.whatsapp import TwilioChannel

logger = logging.getLogger(__name__)

TASKS_KEY: web.AppKey[BackgroundTasks] = web.AppKey("background_tasks", BackgroundTasks)
TELEGRAM_KEY: web.AppKey[TelegramWebhook] = web.AppKey("telegram_webhook", TelegramWebhook)


def add_channel_routes(app: web.Application, runtime: Runtime) -> None:
    """Add the webhook route of every configured channel, and the after-response tasks."""
    tasks = BackgroundTasks()
    app[TASKS_KEY] = tasks
    app.on_shutdown.append(_drain)
    pipeline = InboundPipeline(runtime, tasks)

    telegram = runtime.channels.get("telegram")
    if isinstance(telegram, TelegramChannel):
        handler = TelegramWebhook(pipeline, telegram)
        app[TELEGRAM_KEY] = handler
        app.router.add_post(TELEGRAM_WEBHOOK_PATH, handler.handle_request)
        if runtime.settings.telegram_webhook_secret is None:
            logger.warning("NPS_TELEGRAM_WEBHOOK_SECRET is not set, so the Telegram webhook "
                           "rejects every update; set it, or use polling")

    twilio = next((channel for channel in runtime.channels.values()
                   if isinstance(channel, TwilioChannel)), None)
    if twilio is not None:
        routes = TwilioWebhooks(pipeline, twilio.account)
        app.router.add_post(TWILIO_MESSAGES_PATH, routes.messages)
        app.router.add_post(TWILIO_STATUS_PATH, routes.status)


async def telegram_polling(app: web.Application) -> AsyncIterator[None]:
    """Poll Telegram while the app runs; an aiohttp cleanup context."""
    handler = app.get(TELEGRAM_KEY)
    if handler is None:
        raise RuntimeError("Telegram polling needs NPS_TELEGRAM_BOT_TOKEN; it is not set")
    task = start_polling(handler)
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _drain(app: web.Application) -> None:
    await app[TASKS_KEY].drain()
