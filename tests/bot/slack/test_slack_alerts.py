"""Detractor alerts against the fake Slack Web API: posted exactly once through 429s, 5xx,
lost responses and restarts; routed, masked, escaped; reminded once."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from bot.runtime import Runtime
from storage.types import utcnow
from tests.bot.slack.conftest import detractor, only_alert
from tests.fakes.slack import FakeSlack, Fault

HOSTILE = "R&D <!channel> <@U1> <https://x.example|y>"
HOSTILE_ESCAPED = "R&amp;D &lt;!channel&gt; &lt;@U1&gt; &lt;https://x.example|y&gt;"


async def test_alert_posted(slack_runtime: Runtime, fake_slack: FakeSlack) -> None:
    await detractor(slack_runtime)

    [message] = fake_slack.top_level("#cx-alerts")
    alert = await only_alert(slack_runtime)
    assert alert.slack_ts == message.ts
    assert alert.slack_channel == message.channel
    assert message.metadata == {"event_type": "nps_alert", "event_payload": {"key": alert.id}}


async def test_alert_once_through_429_and_500(slack_runtime: Runtime,
                                              fake_slack: FakeSlack) -> None:
    fake_slack.faults += [Fault("chat.postMessage", status=429, retry_after=1),
                          Fault("chat.postMessage", status=500)]
    await detractor(slack_runtime)
    assert fake_slack.top_level() == []

    # The next pass after the retry pause looks the alert up, finds nothing, and posts it.
    posted = await slack_runtime.alerts.post_ready(now=utcnow() + timedelta(minutes=2))

    assert posted == 1
    assert len(fake_slack.top_level("#cx-alerts")) == 1
    calls = fake_slack.posts("chat.postMessage")
    assert [call.status for call in calls] == [429, 500, 200]
    # slack_sdk waited the Retry-After second (plus its jitter) before trying again.
    assert calls[1].at - calls[0].at >= 1.0
    alert = await only_alert(slack_runtime)
    assert alert.post_attempts == 2
    assert alert.slack_ts == fake_slack.top_level()[0].ts


async def test_lost_response_not_reposted(slack_runtime: Runtime,
                                          fake_slack: FakeSlack) -> None:
    fake_slack.faults.append(Fault("chat.postMessage", status=502, after_effect=True))
    await detractor(slack_runtime)
    assert (await only_alert(slack_runtime)).posted_at is None

    posted = await slack_runtime.alerts.post_ready(now=utcnow() + timedelta(minutes=2))

    assert posted == 1
    assert len(fake_slack.top_level()) == 1
    assert len(fake_slack.posts("chat.postMessage")) == 1
    assert len(fake_slack.posts("conversations.history")) == 1
    assert (await only_alert(slack_runtime)).slack_ts == fake_slack.top_level()[0].ts


async def test_restart_mid_post_not_reposted(slack_runtime: Runtime,
                                             fake_slack: FakeSlack) -> None:
    release_response = asyncio.Event()
    fake_slack.faults.append(Fault("chat.postMessage", status=200, hold=release_response))
    await detractor(slack_runtime, comment="")  # "" is not sent: the alert waits for it
    first_pass = asyncio.create_task(
        slack_runtime.alerts.post_ready(now=utcnow() + timedelta(minutes=20)))
    await fake_slack.wait_for(lambda: len(fake_slack.messages) == 1)
    # The worker dies while Slack has posted but not yet answered.
    first_pass.cancel()
    release_response.set()

    after_lease = utcnow() + timedelta(minutes=30)
    posted = await slack_runtime.alerts.post_ready(now=after_lease)

    assert posted == 1
    assert len(fake_slack.top_level()) == 1
    assert len(fake_slack.posts("chat.postMessage")) == 1
    assert (await only_alert(slack_runtime)).slack_ts == fake_slack.messages[0].ts


async def test_hostile_comment_shown_as_text(slack_runtime: Runtime,
                                             fake_slack: FakeSlack) -> None:
    await detractor(slack_runtime, comment=HOSTILE)

    [message] = fake_slack.top_level()
    assert message.blocks[2]["text"]["text"] == f">{HOSTILE_ESCAPED}"
    serialized = json.dumps(message.blocks)
    assert "<!channel>" not in serialized
    assert "<@U1>" not in serialized
    assert "&amp;amp;" not in serialized


async def test_alert_shows_masked_customer(slack_runtime: Runtime,
                                           fake_slack: FakeSlack) -> None:
    respondent = await detractor(slack_runtime)

    [message] = fake_slack.top_level()
    fields = [field["text"] for field in message.blocks[1]["fields"]]
    last_four = respondent.address[-4:]
    assert f"*Customer*\nAna Example (+55 •• ••••• {last_four})" in fields
    assert "*Score*\n3 / 10" in fields
    assert "*Channel*\nwhatsapp" in fields
    assert "*Segment*\nregion: LATAM, country: BR, customer_type: smb, buyer_type: direct, " \
           "touchpoint: relationship" in fields
    answered = message.blocks[3]["elements"][0]["text"]
    assert answered.endswith(("CET", "CEST"))


async def test_alert_routed_by_region(slack_runtime: Runtime, fake_slack: FakeSlack) -> None:
    await detractor(slack_runtime, country="SG")

    assert len(fake_slack.top_level("#cx-apac")) == 1
    assert fake_slack.top_level("#cx-alerts") == []


async def test_alert_routed_by_segment(slack_runtime: Runtime, fake_slack: FakeSlack) -> None:
    await detractor(slack_runtime, country="SG", customer_type="enterprise")

    assert len(fake_slack.top_level("#cx-enterprise")) == 1
    assert fake_slack.top_level("#cx-apac") == []


async def test_long_comment_cut_with_note(slack_runtime: Runtime,
                                          fake_slack: FakeSlack) -> None:
    await detractor(slack_runtime, comment="R&D " * 1500)

    text = fake_slack.top_level()[0].blocks[2]["text"]["text"]
    assert len(text) <= 3000
    assert text.endswith("the full text is stored with the response)_")
    assert "&am\n" not in text


async def test_reminder_posted_once(slack_runtime: Runtime, fake_slack: FakeSlack) -> None:
    await detractor(slack_runtime)
    [message] = fake_slack.top_level()
    later = utcnow() + timedelta(hours=4, minutes=1)

    first = await slack_runtime.alerts.remind_unclaimed(now=later)
    second = await slack_runtime.alerts.remind_unclaimed(now=later + timedelta(hours=5))

    assert first == 1
    assert second == 0
    [reminder] = fake_slack.thread(message.ts)
    assert reminder.text.startswith(":alarm_clock: Nobody has claimed this detractor in 4 hours")
    assert (await only_alert(slack_runtime)).reminded_at is not None


async def test_no_reminder_before_time(slack_runtime: Runtime, fake_slack: FakeSlack) -> None:
    await detractor(slack_runtime)

    reminded = await slack_runtime.alerts.remind_unclaimed(now=utcnow() + timedelta(hours=3))

    assert reminded == 0
    assert fake_slack.thread(fake_slack.top_level()[0].ts) == []
