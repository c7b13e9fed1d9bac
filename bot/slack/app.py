"""The Slack app: slack-bolt's ``AsyncApp`` mounted in the aiohttp server at ``/slack/events``.

Bolt checks the signing secret on every request before any listener runs. It compares the
``X-Slack-Signature`` HMAC in constant time and rejects with 401 a request whose
``X-Slack-Request-Timestamp`` is more than 300 seconds from now, so a captured request
cannot be replayed later. Slack wants every command and button acknowledged within 3
seconds, so each listener acks first and does its work in a background task afterwards.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Coroutine
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import SQLAlchemyError

from bot.runtime import Runtime
from bot.slack.blocks import (
    CLAIM_ACTION,
    REPLY_ACTION,
    REPLY_BLOCK,
    REPLY_INPUT,
    REPLY_VIEW,
    RESOLVE_ACTION,
    reply_modal,
)
from bot.slack.commands import NpsCommand
from bot.slack.grammar import GRAMMAR, GrammarError, NpsQuery
from bot.slack.triage import ReplyOutcome, Triage

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
# Background work still running at shutdown gets this long before it is cancelled.
DRAIN_SECONDS = 10.0


class SlackApp:
    """The Bolt app with the ``/nps`` command and the alert buttons and dialog."""

    def __init__(self, runtime: Runtime, *, client: AsyncWebClient, signing_secret: str) -> None:
        self.client = client
        self.bolt = AsyncApp(client=client, signing_secret=signing_secret, name="nps-bot",
                             process_before_response=False)
        self.nps = NpsCommand(sessions=runtime.sessions, surveys=runtime.surveys)
        self.triage = Triage(sessions=runtime.sessions, alerts=runtime.alerts,
                             outbox=runtime.outbox, channels=runtime.channels,
                             surveys=runtime.surveys)
        self._tasks: set[asyncio.Task[None]] = set()
        self.bolt.command("/nps")(self._on_nps)
        self.bolt.action(CLAIM_ACTION)(self._on_claim)
        self.bolt.action(RESOLVE_ACTION)(self._on_resolve)
        self.bolt.action(REPLY_ACTION)(self._on_reply_button)
        self.bolt.view(REPLY_VIEW)(self._on_reply_submit)

    async def handle(self, request: web.Request) -> web.Response:
        """Pass one HTTP request to Bolt, which verifies it and runs the listener."""
        bolt_response = await self.bolt.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(bolt_response)

    # -- background work -------------------------------------------------------------------

    def spawn(self, work: Coroutine[Any, Any, None], *, name: str) -> None:
        task = asyncio.create_task(self._guarded(work, name), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, seconds: float = DRAIN_SECONDS) -> None:
        """Wait for background work to finish; cancel what is still running after ``seconds``."""
        while self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=seconds)
            for task in pending:
                task.cancel()
            if pending:
                logger.warning("cancelled %d Slack tasks still running at shutdown",
                               len(pending))
                return

    @staticmethod
    async def _guarded(work: Coroutine[Any, Any, None], name: str) -> None:
        try:
            await work
        except (TimeoutError, SlackApiError, SQLAlchemyError, OSError):
            # The HTTP response has gone already; the log is the only place left to report.
            logger.exception("Slack task %s failed", name)

    # -- /nps ------------------------------------------------------------------------------

    async def _on_nps(self, ack: AsyncAck, command: dict[str, Any],
                      respond: AsyncRespond) -> None:
        try:
            query = self.nps.parse(str(command.get("text") or ""))
        except GrammarError as error:
            await ack(response_type="ephemeral", text=str(error))
            return
        if query.help:
            await ack(response_type="ephemeral", text=GRAMMAR)
            return
        await ack(response_type="ephemeral", text=f"Computing NPS for {query.period.label}…")
        self.spawn(self._answer_nps(query, respond), name="nps-answer")

    async def _answer_nps(self, query: NpsQuery, respond: AsyncRespond) -> None:
        try:
            payload = await self.nps.answer(query)
        except SQLAlchemyError:
            logger.exception("the /nps query failed")
            await respond(response_type="ephemeral", replace_original=False,
                          text="The NPS query failed on the database side; try again in a "
                               "minute, and tell the bot's operator if it keeps failing.")
            return
        await respond(replace_original=False, **payload)

    # -- alert buttons ---------------------------------------------------------------------

    async def _on_claim(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                        respond: AsyncRespond) -> None:
        await ack()
        self.spawn(self._triage_step("claim", action, body, respond), name="alert-claim")

    async def _on_resolve(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                          respond: AsyncRespond) -> None:
        await ack()
        self.spawn(self._triage_step("resolve", action, body, respond), name="alert-resolve")

    async def _triage_step(self, step: str, action: dict[str, Any], body: dict[str, Any],
                           respond: AsyncRespond) -> None:
        alert_id, user_id = str(action.get("value") or ""), str(body["user"]["id"])
        if step == "claim":
            outcome = await self.triage.claim(alert_id, user_id)
        else:
            outcome = await self.triage.resolve(alert_id, user_id)
        if not outcome.changed:
            await respond(response_type="ephemeral", replace_original=False,
                          text=outcome.message)

    async def _on_reply_button(self, ack: AsyncAck, body: dict[str, Any],
                               action: dict[str, Any]) -> None:
        await ack()
        self.spawn(self._open_reply(str(action.get("value") or ""), str(body["trigger_id"])),
                   name="alert-reply-dialog")

    async def _open_reply(self, alert_id: str, trigger_id: str) -> None:
        # A trigger_id is valid for 3 seconds after the click, so views.open runs right away.
        form = await self.triage.reply_form(alert_id)
        await self.client.views_open(trigger_id=trigger_id, view=reply_modal(form))

    async def _on_reply_submit(self, ack: AsyncAck, body: dict[str, Any],
                               view: dict[str, Any]) -> None:
        metadata = _metadata(view)
        values = view.get("state", {}).get("values", {})
        text = values.get(REPLY_BLOCK, {}).get(REPLY_INPUT, {}).get("value")
        outcome = await self.triage.send_reply(
            metadata.get("alert_id", ""), str(body["user"]["id"]),
            mode=metadata.get("mode", "text"), text=text)
        if outcome.errors:
            await ack(response_action="errors", errors=outcome.errors)
            return
        if outcome.form is not None:
            await ack(response_action="update", view=reply_modal(outcome.form))
            return
        await ack()
        self.spawn(self._deliver(outcome), name="alert-reply")

    async def _deliver(self, outcome: ReplyOutcome) -> None:
        await self.triage.deliver_reply(outcome)


def _metadata(view: dict[str, Any]) -> dict[str, str]:
    try:
        loaded = json.loads(view.get("private_metadata") or "{}")
    except json.JSONDecodeError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


SLACK_APP_KEY: web.AppKey[SlackApp] = web.AppKey("slack_app", SlackApp)


async def _not_configured(request: web.Request) -> web.Response:
    return web.json_response(
        {"error": "Slack is not configured on this server; set NPS_SLACK_BOT_TOKEN and "
                  "NPS_SLACK_SIGNING_SECRET"}, status=503)


def add_slack_routes(app: web.Application, runtime: Runtime) -> None:
    """Mount the Slack app at ``/slack/events`` (503 when the token or secret is missing)."""
    secret = runtime.settings.slack_signing_secret
    if runtime.slack_client is None or secret is None:
        app.router.add_post(EVENTS_PATH, _not_configured)
        return
    slack = SlackApp(runtime, client=runtime.slack_client,
                     signing_secret=secret.get_secret_value())
    app[SLACK_APP_KEY] = slack
    app.router.add_post(EVENTS_PATH, slack.handle)

    async def drain(_: web.Application) -> None:
        await slack.drain()

    app.on_shutdown.append(drain)
