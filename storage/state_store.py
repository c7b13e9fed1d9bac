"""The conversation-state cache: Redis when ``REDIS_URL`` is set, else process memory.

The database row stays the durable copy. The cache holds ``(version, state)`` so that a reader
can tell a stale entry from the current one and fall back to the row.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Protocol

import redis.asyncio as redis


@dataclass(frozen=True)
class CachedState:
    version: int
    state: dict[str, Any]


class StateStore(Protocol):
    async def get(self, key: str) -> CachedState | None: ...

    async def put(self, key: str, cached: CachedState, *, ttl_seconds: int) -> None: ...

    async def delete(self, key: str) -> None: ...


class MemoryStateStore:
    """A single-process state cache with expiry; for the embedded default and tests."""

    def __init__(self, *, clock: Any = time.monotonic) -> None:
        self._entries: dict[str, tuple[float, CachedState]] = {}
        self._clock = clock

    async def get(self, key: str) -> CachedState | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires_at, cached = entry
        if self._clock() >= expires_at:
            del self._entries[key]
            return None
        return cached

    async def put(self, key: str, cached: CachedState, *, ttl_seconds: int) -> None:
        self._entries[key] = (self._clock() + ttl_seconds, cached)

    async def delete(self, key: str) -> None:
        self._entries.pop(key, None)


class RedisStateStore:
    """State cache in Redis under ``{prefix}state:{key}`` as JSON."""

    def __init__(self, client: redis.Redis, *, prefix: str) -> None:
        self._client = client
        self._prefix = prefix

    def _key(self, key: str) -> str:
        return f"{self._prefix}state:{key}"

    async def get(self, key: str) -> CachedState | None:
        raw = await self._client.get(self._key(key))
        if raw is None:
            return None
        data = json.loads(raw)
        return CachedState(version=int(data["version"]), state=data["state"])

    async def put(self, key: str, cached: CachedState, *, ttl_seconds: int) -> None:
        payload = json.dumps({"version": cached.version, "state": cached.state})
        await self._client.set(self._key(key), payload, ex=ttl_seconds)

    async def delete(self, key: str) -> None:
        await self._client.delete(self._key(key))
