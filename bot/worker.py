"""The worker process: expire conversations, re-send the outbox, post pending alerts."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.exc import SQLAlchemyError

from bot.invitations import dispatch_due
from bot.runtime import Runtime, open_runtime
from bot.settings import Settings
from bot.slack.summaries import post_weekly_summary

logger = logging.getLogger(__name__)


async def run_jobs(runtime: Runtime) -> dict[str, int]:
    """Run every job once; return how many items each handled."""
    return {
        "expired": await runtime.conversations.expire_due(),
        "invitations": await dispatch_due(runtime),
        "resent": await runtime.outbox.deliver_stale(),
        "alerts": await runtime.alerts.post_ready(),
        "reminders": await runtime.alerts.remind_unclaimed(),
        "summaries": await post_weekly_summary(runtime),
    }


async def run_worker(settings: Settings, *, once: bool = False) -> None:
    """Run the jobs every ``worker_interval_seconds`` until cancelled, or one time."""
    runtime = await open_runtime(settings)
    logger.info("worker started; interval %.0f s", settings.worker_interval_seconds)
    try:
        while True:
            try:
                counts = await run_jobs(runtime)
                logger.info("worker pass: %s", counts)
            except SQLAlchemyError:
                logger.exception("worker pass failed; trying again next interval")
            if once:
                return
            await asyncio.sleep(settings.worker_interval_seconds)
    finally:
        await runtime.close()
        logger.info("worker stopped")
