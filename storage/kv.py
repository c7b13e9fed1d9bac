"""Redis connections for the state cache and dedupe claims."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import redis.asyncio as redis
from redis.exceptions import RedisError


class RedisUnavailable(RuntimeError):
    """Redis named by ``REDIS_URL`` cannot be reached."""


def redacted_redis_url(url: str) -> str:
    """Render a Redis URL for messages and logs, with any password hidden."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    user = parts.username or ""
    return urlunsplit((parts.scheme, f"{user}:***@{host}{port}", parts.path, parts.query, ""))


def connect(url: str) -> redis.Redis:
    """Create a client for ``url``; it connects on first use."""
    try:
        return redis.Redis.from_url(url, decode_responses=True, socket_timeout=5,
                                    socket_connect_timeout=5, health_check_interval=30)
    except ValueError as error:
        raise RedisUnavailable(
            f"REDIS_URL {redacted_redis_url(url)!r} is not a Redis URL ({error}); "
            "write it as redis://host:6379/0"
        ) from error


async def check_redis(client: redis.Redis, url: str) -> None:
    """PING Redis; raise RedisUnavailable naming the URL (password hidden) if it fails."""
    try:
        await client.ping()
    except (RedisError, OSError) as error:
        raise RedisUnavailable(
            f"cannot reach Redis at {redacted_redis_url(url)}: {error}"
        ) from error
