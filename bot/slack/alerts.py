"""Posting to Slack through slack_sdk, or printing the Block Kit when no bot token is set.

Slack has no idempotency key for ``chat.postMessage``, so a post whose outcome is unknown
(a 5xx, a timeout, a process killed mid-request) may or may not be in the channel. Every
post that must happen once carries a ``Marker`` as Slack message metadata, and ``find``
looks for it in the channel's history before a second attempt posts again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TextIO

from aiohttp import ClientError
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

logger = logging.getLogger(__name__)

# Channel, private channel and direct message ids; anything else is a name such as #cx-apac.
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{6,}$")
# History pages read while looking for a marked message (200 messages each).
_MAX_HISTORY_PAGES = 10


def web_client(token: str, base_url: str) -> AsyncWebClient:
    """Build the Web API client shared by alerts, Bolt and summaries.

    Slack returns 429 with ``Retry-After`` before processing the call, so rate-limited calls
    are retried after that many seconds (slack_sdk adds up to one second of jitter). Connection
    errors and 5xx are not retried here, because a post may have gone through.
    """
    return AsyncWebClient(token=token, base_url=base_url,
                          retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=3)])


@dataclass(frozen=True)
class Marker:
    """Message metadata that identifies a post, e.g. ``nps_alert`` / the alert id."""

    event_type: str
    key: str

    def as_metadata(self) -> dict[str, Any]:
        return {"event_type": self.event_type, "event_payload": {"key": self.key}}

    def matches(self, metadata: Any) -> bool:
        if not isinstance(metadata, dict):
            return False
        payload = metadata.get("event_payload")
        return (metadata.get("event_type") == self.event_type
                and isinstance(payload, dict) and payload.get("key") == self.key)


@dataclass(frozen=True)
class PostedMessage:
    channel: str
    ts: str | None


class PostFailed(RuntimeError):
    """Slack did not accept a post. ``maybe_posted`` is True when it may have all the same
    (a 5xx or a lost connection), so the next attempt must ``find`` before posting."""

    def __init__(self, message: str, *, maybe_posted: bool) -> None:
        super().__init__(message)
        self.maybe_posted = maybe_posted


class MessagePoster(Protocol):
    async def post(self, *, channel: str, text: str, blocks: list[dict[str, Any]],
                   thread_ts: str | None = None, marker: Marker | None = None) -> PostedMessage:
        ...

    async def find(self, *, channel: str, marker: Marker, since: datetime) -> PostedMessage | None:
        ...

    async def update(self, *, channel: str, ts: str, text: str,
                     blocks: list[dict[str, Any]]) -> None:
        ...


class SlackPoster:
    """Posts, finds and updates messages with slack_sdk's ``AsyncWebClient``."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self._channel_ids: dict[str, str] = {}

    async def post(self, *, channel: str, text: str, blocks: list[dict[str, Any]],
                   thread_ts: str | None = None, marker: Marker | None = None) -> PostedMessage:
        """Post a message; raise PostFailed saying whether it may have been posted anyway."""
        arguments: dict[str, Any] = {"channel": channel, "text": text, "blocks": blocks,
                                     "unfurl_links": False, "unfurl_media": False}
        if thread_ts:
            arguments["thread_ts"] = thread_ts
        if marker:
            arguments["metadata"] = marker.as_metadata()
        try:
            response = await self.client.chat_postMessage(**arguments)
        except (SlackApiError, SlackRequestError, ClientError, TimeoutError) as error:
            raise _post_failed(error, channel) from error
        return PostedMessage(channel=str(response["channel"]), ts=str(response["ts"]))

    async def find(self, *, channel: str, marker: Marker, since: datetime) -> PostedMessage | None:
        """Look for a message carrying ``marker`` posted in ``channel`` since ``since``.

        Raises PostFailed when Slack cannot be asked (for example a missing
        ``channels:history`` scope), so the caller decides whether to post regardless.
        """
        try:
            return await self._find(channel, marker, since)
        except (SlackApiError, SlackRequestError, ClientError, TimeoutError) as error:
            raise PostFailed(f"could not read the history of {channel}: {error}",
                             maybe_posted=True) from error

    async def _find(self, channel: str, marker: Marker, since: datetime) -> PostedMessage | None:
        channel_id = await self._channel_id(channel)
        if channel_id is None:
            return None
        cursor: str | None = None
        for _ in range(_MAX_HISTORY_PAGES):
            page = await self.client.conversations_history(
                channel=channel_id, oldest=f"{since.timestamp() - 1:.6f}",
                include_all_metadata=True, limit=200, cursor=cursor)
            messages: list[dict[str, Any]] = page.get("messages", [])
            for message in messages:
                if marker.matches(message.get("metadata")):
                    return PostedMessage(channel=channel_id, ts=str(message["ts"]))
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not page.get("has_more") or not cursor:
                return None
        logger.warning("gave up looking for %s %s after %d history pages of %s",
                       marker.event_type, marker.key, _MAX_HISTORY_PAGES, channel_id)
        return None

    async def update(self, *, channel: str, ts: str, text: str,
                     blocks: list[dict[str, Any]]) -> None:
        await self.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)

    async def _channel_id(self, channel: str) -> str | None:
        """Resolve ``#name`` to its id with conversations.list; ids pass through."""
        name = channel.lstrip("#")
        if _CHANNEL_ID.match(name):
            return name
        if name not in self._channel_ids:
            cursor: str | None = None
            while True:
                page = await self.client.conversations_list(
                    types="public_channel,private_channel", exclude_archived=True,
                    limit=1000, cursor=cursor)
                channels: list[dict[str, Any]] = page.get("channels", [])
                for item in channels:
                    self._channel_ids[str(item["name"])] = str(item["id"])
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    break
        return self._channel_ids.get(name)


def _post_failed(error: Exception, channel: str) -> PostFailed:
    if isinstance(error, SlackApiError):
        status = error.response.status_code
        code = error.response.get("error") if isinstance(error.response.data, dict) else None
        # A 200 with ok=false (channel_not_found, invalid_blocks) and a 429 that outlived its
        # retries were rejected before posting; a 5xx may have come after the post.
        maybe = status >= 500
        return PostFailed(f"Slack answered {status} {code or ''} posting to {channel}".strip(),
                          maybe_posted=maybe)
    if isinstance(error, SlackRequestError):
        return PostFailed(f"the post to {channel} was not sent: {error}", maybe_posted=False)
    return PostFailed(f"no response from Slack posting to {channel}: {error!r}",
                      maybe_posted=True)


class PreviewPoster:
    """Prints the Block Kit JSON of each post, for a set-up without a Slack token."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lock = asyncio.Lock()

    async def post(self, *, channel: str, text: str, blocks: list[dict[str, Any]],
                   thread_ts: str | None = None, marker: Marker | None = None) -> PostedMessage:
        payload = {"channel": channel, "text": text, "blocks": blocks}
        kind = "alert" if marker is not None and marker.event_type == "nps_alert" else "message"
        async with self._lock:
            self._stream.write(
                f"Slack {kind} preview for {channel} (set NPS_SLACK_BOT_TOKEN to post it):\n")
            self._stream.write(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
            self._stream.flush()
        return PostedMessage(channel=channel, ts=None)

    async def find(self, *, channel: str, marker: Marker, since: datetime) -> PostedMessage | None:
        return None

    async def update(self, *, channel: str, ts: str, text: str,
                     blocks: list[dict[str, Any]]) -> None:
        return None
