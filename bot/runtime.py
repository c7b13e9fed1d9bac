"""Wiring: build the database, cache, services and channels from settings, and close them."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TextIO

import redis.asyncio as redis
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.alerting import AlertDispatcher
from bot.channel_registry import build_channels, close_channels
from bot.conversation import ConversationService, HandleResult
from bot.delivery import OutboxSender
from bot.settings import Settings
from bot.slack.alerts import MessagePoster, PreviewPoster, SlackPoster, web_client
from bot.surveys import SurveysFile, load_surveys
from channels.base import Channel, InboundMessage
from storage import kv
from storage.claims import ClaimStore, MemoryClaimStore, RedisClaimStore
from storage.database import check_database, create_engine, redacted, session_factory
from storage.migrate import check_schema
from storage.state_store import MemoryStateStore, RedisStateStore, StateStore
from storage.types import utcnow

logger = logging.getLogger(__name__)


class Lifecycle(StrEnum):
    NEW = "new"
    RUNNING = "running"
    CLOSED = "closed"


@dataclass
class Runtime:
    """Everything a process needs, opened by ``open_runtime`` and released by ``close``."""

    settings: Settings
    surveys: SurveysFile
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    state_store: StateStore
    claims: ClaimStore
    redis_client: redis.Redis | None
    conversations: ConversationService
    outbox: OutboxSender
    alerts: AlertDispatcher
    channels: dict[str, Channel] = field(default_factory=dict)
    lifecycle: Lifecycle = Lifecycle.RUNNING
    # The Slack Web API client when a bot token is set; alerts are printed otherwise.
    slack_client: AsyncWebClient | None = None

    async def receive(self, message: InboundMessage) -> HandleResult:
        """Handle one inbound message, then send its replies and any alert it made ready."""
        self._require_running()
        result = await self.conversations.handle(message)
        await self.after_commit(result)
        return result

    async def after_commit(self, result: HandleResult) -> None:
        """Deliver what a committed step queued: outbox rows first, then the alert or thread
        message it made ready.

        Nothing else is looked for: scanning every alert after each message cost more than
        the message itself, and the worker's pass posts alerts whose earlier post failed or
        whose comment never came.
        """
        if result.outbox_rows:
            await self.outbox.deliver_committed(result.outbox_rows)
        elif result.outbox_ids:
            await self.outbox.deliver(result.outbox_ids)
        if result.alert_ready and result.conversation_id is not None:
            await self.alerts.post_for(result.conversation_id)
        if result.thread_post:
            await self.alerts.threads.deliver(now=utcnow())

    def _require_running(self) -> None:
        if self.lifecycle is not Lifecycle.RUNNING:
            raise RuntimeError(f"runtime is {self.lifecycle.value}; open a new one")

    async def close(self) -> None:
        if self.lifecycle is Lifecycle.CLOSED:
            return
        self.lifecycle = Lifecycle.CLOSED
        await close_channels(self.channels)
        if self.redis_client is not None:
            await self.redis_client.aclose()
        await self.engine.dispose()
        logger.info("runtime closed")


def _slack_client(settings: Settings) -> AsyncWebClient | None:
    if settings.slack_bot_token is None:
        return None
    return web_client(settings.slack_bot_token.get_secret_value(), settings.slack_base_url)


def _alert_poster(client: AsyncWebClient | None, stream: TextIO) -> MessagePoster:
    if client is None:
        return PreviewPoster(stream)
    return SlackPoster(client)


async def open_runtime(
    settings: Settings,
    *,
    surveys: SurveysFile | None = None,
    channels: dict[str, Channel] | None = None,
    alert_stream: TextIO | None = None,
) -> Runtime:
    """Connect to the database and Redis (failing loudly if either is down) and wire services."""
    surveys = surveys or load_surveys(settings.surveys_file)
    engine = create_engine(settings.database_url)
    try:
        await check_database(engine)
        await check_schema(engine)
    except Exception:
        await engine.dispose()
        raise

    redis_client: redis.Redis | None = None
    state_store: StateStore
    claims: ClaimStore
    if settings.redis_url:
        try:
            redis_client = kv.connect(settings.redis_url)
        except kv.RedisUnavailable:
            await engine.dispose()
            raise
        try:
            await kv.check_redis(redis_client, settings.redis_url)
        except kv.RedisUnavailable:
            await redis_client.aclose()
            await engine.dispose()
            raise
        state_store = RedisStateStore(redis_client, prefix=settings.redis_prefix)
        claims = RedisClaimStore(redis_client, prefix=settings.redis_prefix)
    else:
        state_store = MemoryStateStore()
        claims = MemoryClaimStore()

    sessions = session_factory(engine)
    channels = dict(channels) if channels is not None else build_channels(settings)
    slack_client = _slack_client(settings)
    runtime = Runtime(
        settings=settings,
        surveys=surveys,
        engine=engine,
        sessions=sessions,
        state_store=state_store,
        claims=claims,
        redis_client=redis_client,
        conversations=ConversationService(sessions=sessions, state_store=state_store,
                                          surveys=surveys),
        outbox=OutboxSender(sessions=sessions, channels=channels),
        alerts=AlertDispatcher(sessions=sessions,
                               poster=_alert_poster(slack_client, alert_stream or sys.stdout),
                               surveys=surveys),
        channels=channels,
        slack_client=slack_client,
    )
    logger.info("runtime open: database %s, state in %s", redacted(settings.database_url),
                "Redis" if redis_client else "process memory")
    return runtime
