"""python-telegram-bot's request layer on aiohttp, for the Bot API calls that send replies.

The SDK's own HTTPX layer (httpx, httpcore, anyio and h11 for every reply) took about 13 %
of the web process's CPU time in the inbound benchmark. aiohttp, which serves the webhooks
already, makes the same call with less work. Only the transport changes: the SDK
still builds each request and turns status codes into its exceptions (``BadRequest``,
``Forbidden``, ``RetryAfter``), so ``TelegramChannel`` handles errors as before.
"""

from __future__ import annotations

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

# The SDK's HTTPX defaults, in seconds.
READ_TIMEOUT = 5.0
WRITE_TIMEOUT = 5.0
CONNECT_TIMEOUT = 5.0
POOL_TIMEOUT = 1.0
# Uploads get longer, as in the SDK; the survey sends none today.
MEDIA_WRITE_TIMEOUT = 20.0


class AiohttpRequest(BaseRequest):
    """A ``BaseRequest`` on one ``aiohttp.ClientSession`` with a bounded connection pool."""

    def __init__(self, *, connection_pool_size: int = 64) -> None:
        self._pool_size = connection_pool_size
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float:
        return READ_TIMEOUT

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._pool_size)
            self._session = aiohttp.ClientSession(connector=connector)

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: object = BaseRequest.DEFAULT_NONE,
        write_timeout: object = BaseRequest.DEFAULT_NONE,
        connect_timeout: object = BaseRequest.DEFAULT_NONE,
        pool_timeout: object = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Send one request; raise TimedOut or NetworkError as the SDK's HTTPX layer does."""
        if self._session is None or self._session.closed:
            raise RuntimeError("AiohttpRequest is not initialized")
        files = request_data.multipart_data if request_data else None
        write = MEDIA_WRITE_TIMEOUT if files else WRITE_TIMEOUT
        # aiohttp has no separate write timeout, so the whole call may take them all.
        timeout = aiohttp.ClientTimeout(
            total=_seconds(read_timeout, READ_TIMEOUT) + _seconds(write_timeout, write)
            + _seconds(connect_timeout, CONNECT_TIMEOUT) + _seconds(pool_timeout, POOL_TIMEOUT),
            sock_connect=_seconds(connect_timeout, CONNECT_TIMEOUT),
            sock_read=_seconds(read_timeout, READ_TIMEOUT),
        )
        body = _body(request_data)
        try:
            async with self._session.request(method, url, data=body, timeout=timeout,
                                             headers={"User-Agent": self.USER_AGENT}) as reply:
                return reply.status, await reply.read()
        except TimeoutError as error:
            # aiohttp raises the built-in TimeoutError (asyncio's, since Python 3.11).
            raise TimedOut from error
        except aiohttp.ClientError as error:
            # The class name distinguishes a refused connection from a reset one when the
            # error text is empty.
            raise NetworkError(f"aiohttp.{type(error).__name__}: {error}") from error


def _seconds(value: object, default: float) -> float:
    """A timeout the caller passed, else the default; None (no limit) becomes the default
    too, because a stuck send must not hold a reply forever."""
    return float(value) if isinstance(value, int | float) else default


def _body(request_data: RequestData | None) -> aiohttp.FormData | dict[str, str] | None:
    """Form fields with JSON-encoded values, as the Bot API takes them; multipart with files."""
    if request_data is None:
        return None
    fields = request_data.json_parameters
    files = request_data.multipart_data
    if not files:
        return fields
    form = aiohttp.FormData()
    for name, value in fields.items():
        form.add_field(name, value)
    for name, (filename, content, mimetype) in files.items():
        form.add_field(name, content, filename=filename, content_type=mimetype)
    return form
