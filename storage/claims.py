"""Dedupe claims on provider message ids, so a webhook delivered twice is processed once.

A message id is first claimed as *in progress* with a short TTL, then marked *done* with a
long one once the database has committed. A duplicate of a done message is acknowledged and
dropped; one that arrives while the first is in progress must be retried by the platform,
because answering 200 then would hide a crash of the first attempt.
"""

from __future__ import annotations

import time
from enum import StrEnum
from typing import Any, Protocol

import redis.asyncio as redis

IN_PROGRESS_TTL_SECONDS = 60
DONE_TTL_SECONDS = 48 * 3600  # Telegram and Twilio retry for well under a day.


class Claim(StrEnum):
    NEW = "new"
    IN_PROGRESS = "in_progress"
    DONE = "done"


class ClaimStore(Protocol):
    async def claim(self, key: str) -> Claim: ...

    async def mark_done(self, key: str) -> None: ...

    async def release(self, key: str) -> None: ...


class MemoryClaimStore:
    """Claims in process memory, with the same TTL rules as Redis."""

    def __init__(self, *, clock: Any = time.monotonic) -> None:
        self._entries: dict[str, tuple[float, Claim]] = {}
        self._clock = clock

    async def claim(self, key: str) -> Claim:
        now = self._clock()
        entry = self._entries.get(key)
        if entry is not None and entry[0] > now:
            return entry[1]
        self._entries[key] = (now + IN_PROGRESS_TTL_SECONDS, Claim.IN_PROGRESS)
        return Claim.NEW

    async def mark_done(self, key: str) -> None:
        self._entries[key] = (self._clock() + DONE_TTL_SECONDS, Claim.DONE)

    async def release(self, key: str) -> None:
        self._entries.pop(key, None)


class RedisClaimStore:
    """Claims in Redis with ``SET NX``, under ``{prefix}claim:{key}``."""

    def __init__(self, client: redis.Redis, *, prefix: str) -> None:
        self._client = client
        self._prefix = prefix

    def _key(self, key: str) -> str:
        return f"{self._prefix}claim:{key}"

    async def claim(self, key: str) -> Claim:
        redis_key = self._key(key)
        created = await self._client.set(
            redis_key, Claim.IN_PROGRESS.value, nx=True, ex=IN_PROGRESS_TTL_SECONDS
        )
        if created:
            return Claim.NEW
        current = await self._client.get(redis_key)
        if current is None:
            # The claim expired between SET and GET: try once more.
            created = await self._client.set(
                redis_key, Claim.IN_PROGRESS.value, nx=True, ex=IN_PROGRESS_TTL_SECONDS
            )
            return Claim.NEW if created else Claim.IN_PROGRESS
        return Claim(str(current))

    async def mark_done(self, key: str) -> None:
        await self._client.set(self._key(key), Claim.DONE.value, ex=DONE_TTL_SECONDS)

    async def release(self, key: str) -> None:
        await self._client.delete(self._key(key))
