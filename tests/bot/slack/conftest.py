"""Fixtures for Slack scenario tests: the fake Slack Web API, a runtime whose Slack client
points at it, the aiohttp app with Bolt mounted, and a channel that records what it sends."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from bot.conversation import RespondentProfile
from bot.runtime import Runtime, open_runtime
from bot.settings import Settings
from bot.slack.app import SLACK_APP_KEY, SlackApp
from bot.surveys import SurveysFile
from bot.web import create_app
from channels.base import Capabilities, Delivery, OutboundMessage
from channels.console import ConsoleChannel
from storage.models import Alert, Respondent
from tests.bot.helpers import say
from tests.fakes.slack import TOKEN, FakeSlack

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
FIXTURES = Path("/work/shared/fixtures")

SURVEYS: dict[str, Any] = {
    "slack": {
        "default_channel": "#cx-alerts",
        "routes": {"APAC": "#cx-apac"},
        "segment_routes": [{"field": "customer_type", "value": "enterprise",
                            "channel": "#cx-enterprise"}],
        "timezone": "Europe/Berlin",
        "reply_templates": {"whatsapp": {"id": "HX0000000000000000000000000000001",
                                         "preview": "Hello, this is Acme support following "
                                                    "up on your feedback. Reply here to talk "
                                                    "to us."}},
    },
}


class RecordingChannel:
    """A channel with WhatsApp's rules (free text only within 24 hours of the customer's
    last message) that keeps every message it is asked to send."""

    name = "whatsapp"
    capabilities = Capabilities(buttons=True, max_buttons=3, window=timedelta(hours=24))

    def __init__(self) -> None:
        self.sent: list[OutboundMessage] = []

    async def send(self, message: OutboundMessage) -> Delivery:
        self.sent.append(message)
        return Delivery(provider_message_id=f"recorded-{len(self.sent)}")


def surveys(**slack: Any) -> SurveysFile:
    data = json.loads(json.dumps(SURVEYS))
    data["slack"].update(slack)
    return SurveysFile.model_validate(data)


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


@pytest.fixture
def recording_channel() -> RecordingChannel:
    return RecordingChannel()


@pytest.fixture
def slack_settings(settings: Settings, fake_slack: FakeSlack) -> Settings:
    return settings.model_copy(update={
        "slack_bot_token": SecretStr(TOKEN),
        "slack_signing_secret": SecretStr(SIGNING_SECRET),
        "slack_base_url": fake_slack.base_url,
    })


@pytest.fixture
def slack_surveys() -> SurveysFile:
    return surveys()


@pytest.fixture
async def slack_runtime(slack_settings: Settings, slack_surveys: SurveysFile,
                        recording_channel: RecordingChannel) -> AsyncIterator[Runtime]:
    opened = await open_runtime(
        slack_settings, surveys=slack_surveys,
        channels={"whatsapp": recording_channel, "console": ConsoleChannel(io.StringIO())})
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def slack_http(slack_runtime: Runtime) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(create_app(slack_runtime), host="127.0.0.1")) as client:
        yield client


def slack_app(client: TestClient[Any, Any]) -> SlackApp:
    return client.server.app[SLACK_APP_KEY]


def signature(body: str, timestamp: str, secret: str = SIGNING_SECRET) -> str:
    """Slack's request signature: v0= + hex HMAC-SHA256 over v0:{timestamp}:{body}."""
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256)
    return "v0=" + digest.hexdigest()


async def post_signed(client: TestClient[Any, Any], body: str, *,
                      timestamp: int | None = None, secret: str = SIGNING_SECRET
                      ) -> ClientResponse:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    headers = {"Content-Type": "application/x-www-form-urlencoded",
               "X-Slack-Request-Timestamp": stamp,
               "X-Slack-Signature": signature(body, stamp, secret)}
    return await client.post("/slack/events", data=body.encode(), headers=headers)


def command_body(text: str, response_url: str) -> str:
    fields = dict(pair.split("=", 1) for pair in
                  (FIXTURES / "slack_slash_command.txt").read_text().strip().split("&"))
    from urllib.parse import unquote_plus

    decoded = {key: unquote_plus(value) for key, value in fields.items()}
    decoded.update(text=text, response_url=response_url)
    return urlencode(decoded)


def action_body(action_id: str, alert_id: str, *, user_id: str = "U0000001",
                response_url: str = "", message_ts: str = "") -> str:
    payload = json.loads((FIXTURES / "slack_block_actions.json").read_text())
    payload["user"]["id"] = user_id
    payload["actions"][0]["action_id"] = action_id
    payload["actions"][0]["value"] = alert_id
    payload["response_url"] = response_url
    payload["container"]["message_ts"] = message_ts
    return urlencode({"payload": json.dumps(payload)})


def view_submission_body(view: dict[str, Any], text: str | None, *,
                         user_id: str = "U0000002") -> str:
    """The ``view_submission`` payload Slack sends when the reply dialog is submitted."""
    values: dict[str, Any] = {}
    if text is not None:
        values = {"reply_text": {"reply_input": {"type": "plain_text_input", "value": text}}}
    payload = {
        "type": "view_submission", "team": {"id": "T0000001", "domain": "example"},
        "user": {"id": user_id, "username": "agent", "team_id": "T0000001"},
        "api_app_id": "A0000001", "token": "placeholder", "trigger_id": "111.222.submit",
        "view": {**view, "state": {"values": values}, "team_id": "T0000001",
                 "app_id": "A0000001", "bot_id": "B0000001"},
    }
    return urlencode({"payload": json.dumps(payload)})


async def new_customer(runtime: Runtime, *, country: str = "BR",
                       customer_type: str = "smb") -> Respondent:
    return await runtime.conversations.ensure_respondent(
        channel="whatsapp", address=f"whatsapp:+55119{uuid.uuid4().int % 10**8:08d}",
        profile=RespondentProfile(display_name="Ana Example", country=country,
                                  customer_type=customer_type, buyer_type="direct"))


async def detractor(runtime: Runtime, *, comment: str = "the app crashes at login",
                    score: str = "3", country: str = "BR", customer_type: str = "smb",
                    at: datetime | None = None) -> Respondent:
    """Run one survey through the whole receive path and answer as a detractor."""
    respondent = await new_customer(runtime, country=country, customer_type=customer_type)
    started = await runtime.conversations.start(respondent.id, language_code="en", now=at)
    await runtime.after_commit(started)
    for text in ("yes", score, comment):
        await say(runtime, respondent, text, at=at)
    return respondent


async def only_alert(runtime: Runtime) -> Alert:
    from sqlmodel import select

    async with runtime.sessions() as session:
        [alert] = list(await session.exec(select(Alert)))
    return alert


async def store_answers(runtime: Runtime, rows: list[tuple[str, int, datetime]], *,
                        scale: str = "0-10", comment: str | None = None) -> None:
    """Store one response per (country, score, time) row, as the conversation service would,
    with the region of the country from the runtime's surveys."""
    from storage.models import Conversation, Response

    high_detractor, low_promoter = (6, 9) if scale == "0-10" else (2, 5)
    async with runtime.sessions() as session, session.begin():
        people: dict[str, Respondent] = {}
        for country, score, at in rows:
            if country not in people:
                people[country] = Respondent(channel="whatsapp",
                                             address=f"whatsapp:+1{uuid.uuid4().int % 10**10}",
                                             country=country,
                                             region=runtime.surveys.region_for(country))
                session.add(people[country])
                await session.flush()
            person = people[country]
            conversation = Conversation(respondent_id=person.id, survey_id="relationship",
                                        step="done", locale="en", deadline=at)
            session.add(conversation)
            await session.flush()
            category = ("promoter" if score >= low_promoter else
                        "detractor" if score <= high_detractor else "passive")
            session.add(Response(
                conversation_id=conversation.id, respondent_id=person.id,
                survey_id="relationship", scale=scale, score=score, category=category,
                locale="en", language="en", channel="whatsapp", country=country,
                region=person.region, comment=comment, comment_language="en" if comment else None,
                created_at=at, updated_at=at))


async def store_invitations(runtime: Runtime, country: str, *, sent: int, answered: int,
                            at: datetime) -> None:
    """Store ``sent`` invitations that went out at ``at``, ``answered`` of them answered."""
    from storage.models import Invitation

    async with runtime.sessions() as session, session.begin():
        person = Respondent(channel="whatsapp", address=f"whatsapp:+1{uuid.uuid4().int % 10**10}",
                            country=country, region=runtime.surveys.region_for(country))
        session.add(person)
        await session.flush()
        for index in range(sent):
            session.add(Invitation(survey_id="relationship", respondent_id=person.id,
                                   due_at=at, status="answered" if index < answered else "sent"))
