"""State cache and dedupe claims, on Redis when the run uses it, else in memory."""

from __future__ import annotations

from bot.runtime import Runtime
from storage.claims import Claim, MemoryClaimStore
from storage.state_store import CachedState, MemoryStateStore


async def test_claim_lifecycle(runtime: Runtime) -> None:
    claims = runtime.claims

    assert await claims.claim("telegram:1") is Claim.NEW
    assert await claims.claim("telegram:1") is Claim.IN_PROGRESS
    await claims.mark_done("telegram:1")
    assert await claims.claim("telegram:1") is Claim.DONE
    await claims.release("telegram:1")
    assert await claims.claim("telegram:1") is Claim.NEW


async def test_state_round_trip(runtime: Runtime) -> None:
    store = runtime.state_store
    cached = CachedState(version=3, state={"step": "reason", "locale": "ja"})

    await store.put("conversation-1", cached, ttl_seconds=60)
    assert await store.get("conversation-1") == cached
    await store.delete("conversation-1")
    assert await store.get("conversation-1") is None


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_memory_claim_expires() -> None:
    clock = _Clock()
    claims = MemoryClaimStore(clock=clock)

    assert await claims.claim("m") is Claim.NEW
    clock.now += 61
    assert await claims.claim("m") is Claim.NEW


async def test_memory_state_expires() -> None:
    clock = _Clock()
    store = MemoryStateStore(clock=clock)
    await store.put("k", CachedState(version=1, state={}), ttl_seconds=10)

    clock.now += 9
    assert await store.get("k") == CachedState(version=1, state={})
    clock.now += 2
    assert await store.get("k") is None


