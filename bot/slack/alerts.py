"""Delivering detractor alerts: posted to Slack when a bot token is set, otherwise printed."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Protocol, TextIO

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.blocks import AlertView, alert_blocks, fallback_text

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PostedAlert:
    channel: str
    ts: str | None


class AlertPostFailed(RuntimeError):
    """Slack rejected or did not answer the alert post; it stays pending for the worker."""


class AlertPoster(Protocol):
    async def post(self, view: AlertView, *, channel: str) -> PostedAlert: ...


class SlackAlertPoster:
    """Posts alerts with ``chat.postMessage`` through slack_sdk."""

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client

    async def post(self, view: AlertView, *, channel: str) -> PostedAlert:
        try:
            response = await self._client.chat_postMessage(
                channel=channel,
                text=fallback_text(view),
                blocks=alert_blocks(view),
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as error:
            raise AlertPostFailed(
                f"Slack rejected alert {view.alert_id} for {channel}: {error.response.get('error')}"
            ) from error
        logger.info("posted alert %s to %s", view.alert_id, channel)
        return PostedAlert(channel=str(response["channel"]), ts=str(response["ts"]))


class PreviewAlertPoster:
    """Prints the Block Kit JSON of each alert, for a set-up without a Slack token."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    async def post(self, view: AlertView, *, channel: str) -> PostedAlert:
        payload = {"channel": channel, "text": fallback_text(view), "blocks": alert_blocks(view)}
        self._stream.write(
            f"Slack alert preview for {channel} (set NPS_SLACK_BOT_TOKEN to post it):\n"
        )
        self._stream.write(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
        self._stream.flush()
        return PostedAlert(channel=channel, ts=None)
