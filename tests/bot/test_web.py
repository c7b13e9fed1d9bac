"""The web process: /healthz against the real database and Redis."""

from __future__ import annotations

import dataclasses

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import create_async_engine

from bot.runtime import Runtime
from bot.web import create_app


async def test_healthz_reports_backends(runtime: Runtime) -> None:
    async with TestClient(TestServer(create_app(runtime), host="127.0.0.1")) as client:
        response = await client.get("/healthz")
        body = await response.json()

    assert response.status == 200
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    expected_redis = "ok" if runtime.redis_client else "not configured (state in process memory)"
    assert body["redis"] == expected_redis


async def test_healthz_fails_when_database_is_gone(runtime: Runtime) -> None:
    url = runtime.engine.url
    if url.get_backend_name() == "sqlite":
        unreachable = url.set(database="/nonexistent/folder/nps.db")
    else:
        unreachable = url.set(port=1)
    broken = dataclasses.replace(runtime, engine=create_async_engine(unreachable))
    try:
        async with TestClient(TestServer(create_app(broken), host="127.0.0.1")) as client:
            response = await client.get("/healthz")
            body = await response.json()
    finally:
        await broken.engine.dispose()

    assert response.status == 503
    assert body["status"] == "unavailable"
    assert body["database"] == "unavailable"
