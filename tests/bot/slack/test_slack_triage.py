"""Claim, resolve and reply through signed Bolt requests, with the alert in the fake Slack
and the reply arriving at the customer's own channel."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from sqlmodel import select

from bot.runtime import Runtime
from storage.models import AuditLog, Outbox, Respondent
from storage.types import utcnow
from tests.bot.helpers import say
from tests.bot.slack.conftest import (
    RecordingChannel,
    action_body,
    detractor,
    only_alert,
    post_signed,
    signature,
    slack_app,
    view_submission_body,
)
from tests.fakes.slack import FakeSlack

Client = TestClient[Any, Any]


async def _click(client: Client, fake: FakeSlack, action: str, alert_id: str,
                 user_id: str = "U0000001") -> int:
    body = action_body(action, alert_id, user_id=user_id, response_url=fake.response_url(),
                       message_ts=fake.top_level()[0].ts)
    response = await post_signed(client, body)
    await slack_app(client).drain()
    return response.status


async def _audit(runtime: Runtime) -> list[AuditLog]:
    async with runtime.sessions() as session:
        return list(await session.exec(select(AuditLog).order_by(AuditLog.created_at)))


def test_signature_matches_vector() -> None:
    body = ("token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow"
            "&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner"
            "&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2F"
            "commands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
            "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c")

    assert signature(body, "1531420618") == (
        "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503")


async def test_claim_updates_message_and_row(slack_runtime: Runtime, slack_http: Client,
                                             fake_slack: FakeSlack) -> None:
    await detractor(slack_runtime)
    alert = await only_alert(slack_runtime)

    status = await _click(slack_http, fake_slack, "alert_claim", alert.id)

    assert status == 200
    claimed = await only_alert(slack_runtime)
    assert claimed.status == "claimed"
    assert claimed.claimed_by == "U0000001"
    assert claimed.claimed_at is not None
    [update] = fake_slack.top_level()[0].updates
    state = update["blocks"][3]["elements"][1]["text"]
    assert state.startswith("Claimed by <@U0000001> at ")
    labels = [button["text"]["text"] for button in update["blocks"][4]["elements"]]
    assert labels == ["Resolve", "Reply to customer"]
    assert [entry.action for entry in await _audit(slack_runtime)] == ["alert.claimed"]


async def test_second_claim_names_owner(slack_runtime: Runtime, slack_http: Client,
                                        fake_slack: FakeSlack) -> None:
    await detractor(slack_runtime)
    alert = await only_alert(slack_runtime)
    await _click(slack_http, fake_slack, "alert_claim", alert.id)

    await _click(slack_http, fake_slack, "alert_claim", alert.id, user_id="U0000009")

    [told] = fake_slack.responses
    assert told["text"].startswith("Already claimed by <@U0000001> at ")
    assert told["response_type"] == "ephemeral"
    assert (await only_alert(slack_runtime)).claimed_by == "U0000001"


async def test_resolve_updates_message(slack_runtime: Runtime, slack_http: Client,
                                       fake_slack: FakeSlack) -> None:
    await detractor(slack_runtime)
    alert = await only_alert(slack_runtime)

    await _click(slack_http, fake_slack, "alert_resolve", alert.id, user_id="U0000002")

    resolved = await only_alert(slack_runtime)
    assert resolved.status == "resolved"
    assert resolved.resolved_by == "U0000002"
    update = fake_slack.top_level()[0].updates[-1]
    assert update["blocks"][3]["elements"][1]["text"].startswith("Resolved by <@U0000002>")
    labels = [button["text"]["text"] for button in update["blocks"][4]["elements"]]
    assert labels == ["Reply to customer"]


async def _open_reply(client: Client, fake: FakeSlack, alert_id: str) -> dict[str, Any]:
    await _click(client, fake, "alert_reply", alert_id)
    [opened] = fake.views
    assert opened["trigger_id"] == "111.222.valid"
    view: dict[str, Any] = opened["view"]
    return view


async def test_reply_reaches_customer_channel(
    slack_runtime: Runtime, slack_http: Client, fake_slack: FakeSlack,
    recording_channel: RecordingChannel,
) -> None:
    respondent = await detractor(slack_runtime)
    alert = await only_alert(slack_runtime)
    view = await _open_reply(slack_http, fake_slack, alert.id)
    before = len(recording_channel.sent)

    response = await post_signed(slack_http, view_submission_body(view, "Sorry! We fixed it."))
    await slack_app(slack_http).drain()

    assert response.status == 200
    [sent] = recording_channel.sent[before:]
    assert sent.text == "Sorry! We fixed it."
    assert sent.address == respondent.address
    assert sent.template_id is None
    async with slack_runtime.sessions() as session:
        [row] = list(await session.exec(select(Outbox).where(Outbox.message_key == "slack.reply")))
    assert row.status == "sent"
    audit = await _audit(slack_runtime)
    assert [entry.action for entry in audit] == ["alert.reply"]
    assert audit[0].actor == "slack:U0000002"
    assert audit[0].detail["outbox_id"] == row.id
    [thread_post] = fake_slack.thread(fake_slack.top_level()[0].ts)
    assert thread_post.text == "<@U0000002> replied on whatsapp:\n>Sorry! We fixed it."


async def test_customer_answer_threaded(slack_runtime: Runtime, slack_http: Client,
                                        fake_slack: FakeSlack) -> None:
    respondent = await detractor(slack_runtime)
    alert = await only_alert(slack_runtime)
    view = await _open_reply(slack_http, fake_slack, alert.id)
    await post_signed(slack_http, view_submission_body(view, "Could you tell us more?"))
    await slack_app(slack_http).drain()

    await say(slack_runtime, respondent, "It crashes <b>after</b> the update & login")

    thread = fake_slack.thread(fake_slack.top_level()[0].ts)
    assert [post.text for post in thread] == [
        "<@U0000002> replied on whatsapp:\n>Could you tell us more?",
        "*Ana Example* answered on whatsapp:\n"
        ">It crashes &lt;b&gt;after&lt;/b&gt; the update &amp; login",
    ]


async def test_reply_outside_window_offers_template(
    slack_runtime: Runtime, slack_http: Client, fake_slack: FakeSlack,
    recording_channel: RecordingChannel,
) -> None:
    respondent = await detractor(slack_runtime)
    async with slack_runtime.sessions() as session, session.begin():
        stored = await session.get(Respondent, respondent.id)
        assert stored is not None
        stored.last_inbound_at = utcnow() - timedelta(hours=30)
    alert = await only_alert(slack_runtime)

    view = await _open_reply(slack_http, fake_slack, alert.id)

    assert json.loads(view["private_metadata"])["mode"] == "template"
    assert view["submit"]["text"] == "Send template"
    assert view["blocks"][0]["text"]["text"].startswith(
        "The customer last wrote 30 hours ago, outside whatsapp's 24 hours window")
    assert [block["type"] for block in view["blocks"]] == ["section", "section"]
    before = len(recording_channel.sent)
    await post_signed(slack_http, view_submission_body(view, None))
    await slack_app(slack_http).drain()
    [sent] = recording_channel.sent[before:]
    assert sent.template_id == "HX0000000000000000000000000000001"


async def test_forged_signature_rejected(slack_runtime: Runtime, slack_http: Client,
                                         fake_slack: FakeSlack) -> None:
    await detractor(slack_runtime)
    alert = await only_alert(slack_runtime)
    body = action_body("alert_claim", alert.id, response_url=fake_slack.response_url())

    response = await post_signed(slack_http, body, secret="not-the-signing-secret")
    await slack_app(slack_http).drain()

    assert response.status == 401
    assert (await only_alert(slack_runtime)).status == "open"


async def test_stale_request_rejected(slack_runtime: Runtime, slack_http: Client,
                                      fake_slack: FakeSlack) -> None:
    await detractor(slack_runtime)
    alert = await only_alert(slack_runtime)
    body = action_body("alert_claim", alert.id, response_url=fake_slack.response_url())
    stale = int(utcnow().timestamp()) - 301

    response = await post_signed(slack_http, body, timestamp=stale)
    await slack_app(slack_http).drain()

    assert response.status == 401
    assert (await only_alert(slack_runtime)).status == "open"
