"""What the fake platform APIs share: serving on 127.0.0.1 and recording calls."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web


@dataclass
class Call:
    """One API call a fake received, with its parsed parameters and the status it returned."""

    method: str
    params: dict[str, Any]
    at: float
    status: int = 200


async def serve_on_loopback(app: web.Application) -> tuple[web.AppRunner, int]:
    """Start ``app`` on 127.0.0.1 at a free port; return its runner and the port."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, runner.addresses[0][1]
