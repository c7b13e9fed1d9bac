"""Test backends: SQLite + process memory by default, PostgreSQL + Redis with
``NPS_TEST_BACKEND=postgres``.

Each run creates its own SQLite file or PostgreSQL database and its own Redis key prefix, and
removes them at the end, so leftovers of an earlier run never change a result.
"""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
import redis

from bot.runtime import Runtime, open_runtime
from bot.settings import Settings
from channels.console import ConsoleChannel
from storage.migrate import upgrade

BACKEND = os.environ.get("NPS_TEST_BACKEND", "sqlite")
POSTGRES_ADMIN_URL = os.environ.get(
    "NPS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("NPS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

TABLES_CHILD_FIRST = (
    "alert_thread_post", "slack_summary", "response_daily", "response_monthly",
    "invitation_daily", "invitation_monthly", "alert", "delivery_event", "outbox",
    "inbound_message",
    "response", "consent", "conversation", "invitation", "audit_log", "respondent",
)


@dataclass(frozen=True)
class Backend:
    name: str
    database_url: str
    redis_url: str | None
    redis_prefix: str


def _create_postgres_database() -> tuple[str, str]:
    name = f"nps_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    return name, f"{base}/{name}"


def _drop_postgres_database(name: str) -> None:
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _drop_redis_prefix(prefix: str) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=500))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture(scope="session")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    """The database (migrated once) and Redis prefix of this test run."""
    prefix = f"nps-test-{uuid.uuid4().hex[:12]}:"
    if BACKEND == "postgres":
        name, url = _create_postgres_database()
        try:
            upgrade(url)
            yield Backend("postgres", url, REDIS_URL, prefix)
        finally:
            _drop_postgres_database(name)
            _drop_redis_prefix(prefix)
    elif BACKEND == "sqlite":
        path = tmp_path_factory.mktemp("db") / "nps-test.db"
        url = f"sqlite:///{path}"
        upgrade(url)
        yield Backend("sqlite", url, None, prefix)
    else:
        raise pytest.UsageError(f"NPS_TEST_BACKEND={BACKEND!r}; use sqlite or postgres")


def _empty_tables(backend: Backend) -> None:
    if backend.name == "postgres":
        with psycopg.connect(backend.database_url, autocommit=True) as connection:
            connection.execute(f"TRUNCATE {', '.join(TABLES_CHILD_FIRST)} CASCADE")
        return
    import sqlite3

    path = backend.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as connection:
        for table in TABLES_CHILD_FIRST:
            connection.execute(f"DELETE FROM {table}")
    connection.close()


@pytest.fixture
def settings(backend: Backend, tmp_path: Path) -> Iterator[Settings]:
    """Settings on the run's backend with empty tables and the built-in demo survey."""
    _empty_tables(backend)
    if backend.redis_url:
        _drop_redis_prefix(backend.redis_prefix)
    yield Settings(
        database_url=backend.database_url,
        redis_url=backend.redis_url,
        redis_prefix=backend.redis_prefix,
        surveys_file=tmp_path / "absent-surveys.toml",
        slack_bot_token=None,
    )


@pytest.fixture
def alert_stream() -> io.StringIO:
    return io.StringIO()


@pytest.fixture
def console_output() -> io.StringIO:
    """What the bot sent to respondents on the console channel."""
    return io.StringIO()


@pytest.fixture
async def runtime(
    settings: Settings, alert_stream: io.StringIO, console_output: io.StringIO
) -> AsyncIterator[Runtime]:
    opened = await open_runtime(settings, alert_stream=alert_stream,
                                channels={"console": ConsoleChannel(console_output)})
    try:
        yield opened
    finally:
        await opened.close()
