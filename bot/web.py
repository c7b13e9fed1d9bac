"""The aiohttp web process: ``/healthz`` now, channel webhooks and Slack as they are added."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from bot.runtime import Runtime, open_runtime
from bot.settings import Settings
from bot.slack.app import add_slack_routes
from bot.webhooks import add_channel_routes, telegram_polling

logger = logging.getLogger(__name__)

RUNTIME_KEY: web.AppKey[Runtime] = web.AppKey("runtime", Runtime)


async def healthz(request: web.Request) -> web.Response:
    """Check the database and Redis; return 503 when either fails."""
    runtime = request.app[RUNTIME_KEY]
    checks: dict[str, str] = {}
    try:
        async with runtime.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except (SQLAlchemyError, OSError) as error:
        logger.error("health check: database failed: %s", error)
        checks["database"] = "unavailable"
    if runtime.redis_client is None:
        checks["redis"] = "not configured (state in process memory)"
    else:
        try:
            await runtime.redis_client.ping()
            checks["redis"] = "ok"
        except (RedisError, OSError) as error:
            logger.error("health check: Redis failed: %s", error)
            checks["redis"] = "unavailable"
    healthy = "unavailable" not in checks.values()
    return web.json_response({"status": "ok" if healthy else "unavailable", **checks},
                             status=200 if healthy else 503)


def create_app(runtime: Runtime) -> web.Application:
    """Build the application around an open runtime; the caller closes the runtime."""
    app = web.Application()
    app[RUNTIME_KEY] = runtime
    app.router.add_get("/healthz", healthz)
    add_channel_routes(app, runtime)
    add_slack_routes(app, runtime)
    return app


async def run_server(settings: Settings, *, telegram_polling_mode: bool = False) -> None:
    """Serve until cancelled (Ctrl-C or SIGTERM); poll Telegram too if asked."""
    runtime = await open_runtime(settings)
    app = create_app(runtime)
    if telegram_polling_mode:
        app.cleanup_ctx.append(telegram_polling)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    await site.start()
    logger.info("serving on http://%s:%d", settings.host, settings.port)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
        await runtime.close()
        logger.info("server stopped")
