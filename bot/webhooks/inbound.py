"""The steps every inbound webhook takes, in the order that keeps answers safe.

1. The caller has verified the platform's signature and parsed the body.
2. The provider's id is claimed in Redis (``SET NX``) as *in progress*.
3. The work commits in one database transaction (answer, state, next prompt as outbox).
4. The claim becomes *done*, the caller acknowledges, and the outbox is sent after the
   response, in a background task; the worker re-sends what a crash left unsent.

A duplicate of a *done* id is acknowledged and dropped. One that arrives while the first is
still *in progress* gets a retryable status, never a 200 that could hide a crash of the first.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from enum import StrEnum
from typing import Any, TypeVar

from redis.exceptions import RedisError

from bot.conversation import HandleResult
from bot.runtime import Runtime
from storage.claims import Claim

logger = logging.getLogger(__name__)

ResultT = TypeVar("ResultT")


class Outcome(StrEnum):
    """What happened to one webhook delivery, which decides the HTTP status."""

    PROCESSED = "processed"
    DUPLICATE = "duplicate"
    IN_PROGRESS = "in_progress"
    IGNORED = "ignored"
    FAILED = "failed"


# Platforms repeat a webhook that gets a 5xx, which is what IN_PROGRESS and FAILED need.
HTTP_STATUS = {
    Outcome.PROCESSED: 200,
    Outcome.DUPLICATE: 200,
    Outcome.IGNORED: 200,
    Outcome.IN_PROGRESS: 503,
    Outcome.FAILED: 500,
}


class BackgroundTasks:
    """Work started after a response: sending the outbox, answering a button tap.

    Errors are logged, never raised, because the response has gone already; ``drain``
    waits for what is still running when the server stops.
    """

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, work: Coroutine[Any, Any, Any], *, name: str) -> None:
        task = asyncio.create_task(self._guarded(work, name), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, wait_seconds: float = 10.0) -> None:
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=wait_seconds)
        for task in pending:
            task.cancel()
        if pending:
            logger.warning("%d background tasks did not finish in %.0f s; the worker will "
                           "re-send their messages", len(pending), wait_seconds)

    @staticmethod
    async def _guarded(work: Coroutine[Any, Any, Any], name: str) -> None:
        try:
            await work
        except Exception:
            logger.exception("background task %s failed", name)


class InboundPipeline:
    """Claims a provider id, runs the committing work, then schedules what follows it."""

    def __init__(self, runtime: Runtime, tasks: BackgroundTasks) -> None:
        self.runtime = runtime
        self.tasks = tasks

    async def process(
        self,
        claim_key: str,
        work: Callable[[], Awaitable[ResultT]],
        *,
        after: Callable[[ResultT], Coroutine[Any, Any, Any]] | None = None,
    ) -> Outcome:
        """Run ``work`` once per ``claim_key``; ``after`` gets its result in the background."""
        claims = self.runtime.claims
        try:
            claim = await claims.claim(claim_key)
        except (RedisError, OSError):
            logger.exception("claim %s failed; the platform will deliver it again", claim_key)
            return Outcome.FAILED
        if claim is Claim.DONE:
            logger.info("%s was processed before; acknowledged again", claim_key)
            return Outcome.DUPLICATE
        if claim is Claim.IN_PROGRESS:
            logger.info("%s is still in progress; asking the platform to retry", claim_key)
            return Outcome.IN_PROGRESS

        try:
            result = await work()
        except Exception:
            # Releasing the claim lets the platform's next delivery run the work again.
            await _release(self.runtime, claim_key)
            logger.exception("%s failed; the platform will deliver it again", claim_key)
            return Outcome.FAILED

        await _mark_done(self.runtime, claim_key)
        if after is not None:
            self.tasks.spawn(after(result), name=f"after {claim_key}")
        return Outcome.PROCESSED

    def send_replies(self, result: HandleResult) -> Coroutine[Any, Any, None]:
        """Return the ``after`` step of a conversation message, which delivers its outbox."""
        return self.runtime.after_commit(result)


async def _release(runtime: Runtime, claim_key: str) -> None:
    try:
        await runtime.claims.release(claim_key)
    except (RedisError, OSError):
        logger.exception("claim %s could not be released; it expires by itself", claim_key)


async def _mark_done(runtime: Runtime, claim_key: str) -> None:
    # The database already contains the message id, so a lost claim only costs a duplicate
    # delivery that the unique key then drops.
    try:
        await runtime.claims.mark_done(claim_key)
    except (RedisError, OSError):
        logger.exception("claim %s could not be marked done", claim_key)
