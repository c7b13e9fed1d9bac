"""Database engines: SQLite by default, PostgreSQL through ``DATABASE_URL``."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import URL, Dialect, make_url
from sqlalchemy.exc import ArgumentError, DisconnectionError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

logger = logging.getLogger(__name__)

DEFAULT_DATABASE_URL = "sqlite:///./var/nps-bot.db"

_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+psycopg"}
_SYNC_DRIVERS = {"sqlite": "sqlite", "postgresql": "postgresql+psycopg"}

# A pooled PostgreSQL connection that sat unused for longer than this is pinged before use,
# so one that died meanwhile (a database restart) is replaced without failing a request.
# Pinging every checkout would add a round trip to each transaction. A connection used more
# recently that has died fails its first statement; SQLAlchemy then discards every pooled
# connection opened before the failure, and the platform repeats the failed webhook.
PING_AFTER_IDLE_SECONDS = 10.0
# Replaced by tests to move time forward.
clock: Callable[[], float] = time.monotonic


class DatabaseUnavailable(RuntimeError):
    """The database named by the settings cannot be reached or used."""


def _parse(url: str) -> URL:
    # Heroku-style URLs use the "postgres://" scheme, which SQLAlchemy no longer accepts.
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    try:
        return make_url(url)
    except ArgumentError as error:
        raise DatabaseUnavailable(
            f"DATABASE_URL {url!r} is not a database URL; "
            "use sqlite:///path/to/file.db or postgresql://user@host/dbname"
        ) from error


def _with_driver(url: str, drivers: dict[str, str]) -> URL:
    parsed = _parse(url)
    backend = parsed.get_backend_name()
    if backend not in drivers:
        raise DatabaseUnavailable(
            f"database backend {backend!r} in DATABASE_URL is not supported; "
            "use sqlite or postgresql"
        )
    return parsed.set(drivername=drivers[backend])


def async_url(url: str) -> URL:
    """Return ``url`` with the asyncio driver this project uses for its backend."""
    return _with_driver(url, _ASYNC_DRIVERS)


def sync_url(url: str) -> URL:
    """Return ``url`` with the blocking driver that alembic migrations use."""
    return _with_driver(url, _SYNC_DRIVERS)


def redacted(url: str) -> str:
    """Render ``url`` for messages and logs, with any password hidden."""
    try:
        return _parse(url).render_as_string(hide_password=True)
    except DatabaseUnavailable:
        return "<invalid URL>"


def ensure_sqlite_folder(url: str) -> None:
    """Create the folder of a SQLite file so that a fresh checkout runs without set-up."""
    parsed = _parse(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _enable_sqlite_foreign_keys(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_engine(url: str) -> AsyncEngine:
    """Create the asyncio engine for ``url`` (SQLite file or PostgreSQL)."""
    ensure_sqlite_folder(url)
    target = async_url(url)
    if target.get_backend_name() == "sqlite":
        engine = create_async_engine(target, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _enable_sqlite_foreign_keys)
        return engine
    engine = create_async_engine(target, pool_size=10, max_overflow=10)
    _ping_idle_connections(engine.sync_engine.pool, engine.dialect)
    return engine


def _ping_idle_connections(pool: Any, dialect: Dialect) -> None:
    """Ping a connection on checkout only when it has been idle; see PING_AFTER_IDLE_SECONDS."""

    def stamp(_dbapi_connection: Any, record: Any, *_: Any) -> None:
        record.info["idle_since"] = clock()

    def check(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is not None and clock() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as error:
            # The pool drops this connection and checks out another.
            raise DisconnectionError(f"pooled connection is gone: {error}") from error

    event.listen(pool, "connect", stamp)
    event.listen(pool, "checkin", stamp)
    event.listen(pool, "checkout", check)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


async def check_database(engine: AsyncEngine) -> None:
    """Run ``SELECT 1``; raise DatabaseUnavailable naming the URL (password hidden) if it fails."""
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError) as error:
        shown = engine.url.render_as_string(hide_password=True)
        raise DatabaseUnavailable(f"cannot reach the database at {shown}: {error}") from error
