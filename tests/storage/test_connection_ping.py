"""Pooled PostgreSQL connections: pinged only after sitting idle, replaced when dead."""

from __future__ import annotations

from collections.abc import AsyncIterator

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

import storage.database
from storage.database import PING_AFTER_IDLE_SECONDS, create_engine
from tests.conftest import Backend


class _Clock:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> _Clock:
    fake = _Clock()
    monkeypatch.setattr(storage.database, "clock", fake)
    return fake


@pytest.fixture
async def engine(backend: Backend, clock: _Clock) -> AsyncIterator[AsyncEngine]:
    if backend.name != "postgres":
        pytest.skip("only PostgreSQL connections are pooled and pinged")
    opened = create_engine(backend.database_url)
    try:
        yield opened
    finally:
        await opened.dispose()


class _Pings:
    def __init__(self, engine: AsyncEngine) -> None:
        self.count = 0
        dialect = engine.dialect
        original = dialect.do_ping

        def counted(dbapi_connection: object) -> bool:
            self.count += 1
            return original(dbapi_connection)

        dialect.do_ping = counted  # type: ignore[method-assign]


async def _backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())


def _terminate(backend: Backend, pid: int) -> None:
    with psycopg.connect(backend.database_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


async def test_busy_connection_not_pinged(engine: AsyncEngine, clock: _Clock) -> None:
    pings = _Pings(engine)
    first = await _backend_pid(engine)
    clock.now += PING_AFTER_IDLE_SECONDS / 2

    assert await _backend_pid(engine) == first
    assert pings.count == 0


async def test_idle_connection_pinged(engine: AsyncEngine, clock: _Clock) -> None:
    pings = _Pings(engine)
    first = await _backend_pid(engine)
    clock.now += PING_AFTER_IDLE_SECONDS + 1

    assert await _backend_pid(engine) == first
    assert pings.count == 1


async def test_dead_idle_connection_replaced(engine: AsyncEngine, clock: _Clock,
                                             backend: Backend) -> None:
    first = await _backend_pid(engine)
    _terminate(backend, first)
    clock.now += PING_AFTER_IDLE_SECONDS + 1

    second = await _backend_pid(engine)

    assert second != first


async def test_dead_busy_connection_fails_once(engine: AsyncEngine, backend: Backend) -> None:
    first = await _backend_pid(engine)
    _terminate(backend, first)

    # Not idle long enough for a ping: the first use fails, and the pool starts afresh.
    with pytest.raises(DBAPIError) as caught:
        await _backend_pid(engine)
    assert caught.value.connection_invalidated
    assert await _backend_pid(engine) != first
