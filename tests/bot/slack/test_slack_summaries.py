"""The weekly summary against the fake Slack: posted once per week with its chart, split
into the thread past 50 blocks, and resumed rather than repeated after a lost response."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.runtime import Runtime, open_runtime
from bot.settings import Settings
from bot.slack.config import SlackConfig
from bot.slack.summaries import post_weekly_summary, summary_week
from bot.surveys import SurveysFile
from storage.types import utcnow
from tests.bot.slack.conftest import store_answers, store_invitations
from tests.fakes.slack import FakeSlack, Fault


def _monday_before(moment: datetime) -> datetime:
    """Monday 09:00 UTC, 7 to 13 days before ``moment``: after the summary time in Berlin
    (09:00 local is 08:00 or 07:00 UTC) and in the past, so Slack's own timestamps of the
    fake's messages come after it."""
    day = (moment - timedelta(days=7)).date()
    monday = day - timedelta(days=day.weekday())
    return datetime(monday.year, monday.month, monday.day, 9, 0, tzinfo=UTC)


NOW = _monday_before(utcnow())
IN_WEEK = NOW - timedelta(days=4)
TITLE = f"Weekly NPS · {NOW - timedelta(days=7):%d %b} to {NOW:%d %b %Y}"


def test_summary_week_ends_at_schedule() -> None:
    config = SlackConfig(timezone="Europe/Berlin")

    # Monday 7 December 2026, 10:00 in Berlin (CET, UTC+1): one hour after 09:00.
    week = summary_week(datetime(2026, 12, 7, 9, 0, tzinfo=UTC), config)

    assert week.end == datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    assert week.start == datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def test_summary_week_before_schedule() -> None:
    config = SlackConfig(timezone="Europe/Berlin")

    week = summary_week(datetime(2026, 12, 7, 7, 59, tzinfo=UTC), config)

    assert week.end == datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


async def _seed(runtime: Runtime, comments: int = 3) -> None:
    await store_answers(runtime, [("BR", 10, IN_WEEK), ("BR", 9, IN_WEEK), ("SG", 8, IN_WEEK)])
    await store_answers(runtime, [("BR", 2, IN_WEEK)] * comments,
                        comment="the app crashes at login")
    await store_invitations(runtime, "BR", sent=20, answered=3, at=IN_WEEK)


async def test_summary_posted_with_chart(slack_runtime: Runtime,
                                         fake_slack: FakeSlack) -> None:
    await _seed(slack_runtime)

    posted = await post_weekly_summary(slack_runtime, now=NOW)

    assert posted == 1
    [message] = fake_slack.top_level("#cx-alerts")
    assert message.text == TITLE
    texts = [block["text"]["text"] for block in message.blocks if block["type"] == "section"]
    # 6 answers: 2 promoters, 1 passive, 3 detractors: NPS = 100 * (2 - 3) / 6 = -16.67.
    # p = 1/3, d = 1/2: variance = 5/6 - (1/6)^2 = 0.80556; 1.96 * sqrt(0.80556 / 6) = 0.718.
    assert texts[0].startswith("*Overall*: NPS *-16.7* ±71.8 · n=6 · response rate 15.0 % "
                               "(3/20) · no answers in the week before to compare")
    assert "*Response rate by market* (target 20 %)\nBR: response rate 15.0 % (3/20) "\
           "⚠️ below target" in texts
    assert "*Most mentioned in detractor comments*\n*en* (3 comments): “app crashes” (3), "\
           "“login” (3)" in texts
    assert "*Open alerts by age*\nunder 4 h: 0 · 4-24 h: 0 · 1-7 days: 0 · over 7 days: 0" \
           in texts
    [upload] = fake_slack.completed_uploads
    assert upload["channel_id"] == message.channel
    assert upload["thread_ts"] == message.ts
    [png] = fake_slack.uploads.values()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")


async def test_summary_once_per_week(slack_settings: Settings, slack_runtime: Runtime,
                                     slack_surveys: SurveysFile, fake_slack: FakeSlack) -> None:
    await _seed(slack_runtime)
    await post_weekly_summary(slack_runtime, now=NOW)

    again = await post_weekly_summary(slack_runtime, now=NOW + timedelta(hours=1))
    restarted = await open_runtime(slack_settings, surveys=slack_surveys, channels={})
    try:
        after_restart = await post_weekly_summary(restarted, now=NOW + timedelta(days=2))
    finally:
        await restarted.close()

    assert again == 0
    assert after_restart == 0
    assert len(fake_slack.top_level()) == 1
    assert len(fake_slack.completed_uploads) == 1


async def test_summary_split_into_thread(slack_runtime: Runtime,
                                         fake_slack: FakeSlack) -> None:
    await _seed(slack_runtime, comments=60)

    await post_weekly_summary(slack_runtime, now=NOW)

    [message] = fake_slack.top_level()
    [rest] = [post for post in fake_slack.thread(message.ts) if post.blocks]
    assert len(message.blocks) == 50
    # Header and context, one section each for the figures, the markets, the words and
    # the open alerts, the comments' title and 60 comments: 67 blocks, so 17 go to the thread.
    assert len(rest.blocks) == 17
    assert rest.text == f"{TITLE} (part 2 of 2)"
    comments = [block for block in message.blocks + rest.blocks if block["type"] == "section"
                and block["text"]["text"].startswith("*2/10* · LATAM · BR · whatsapp\n")]
    assert len(comments) == 60


async def test_summary_resumes_after_lost_post(slack_runtime: Runtime,
                                               fake_slack: FakeSlack) -> None:
    await _seed(slack_runtime)
    fake_slack.faults.append(Fault("chat.postMessage", status=503, after_effect=True))

    first = await post_weekly_summary(slack_runtime, now=NOW)
    second = await post_weekly_summary(slack_runtime, now=NOW + timedelta(minutes=3))

    assert first == 0
    assert second == 1
    assert len(fake_slack.top_level()) == 1
    assert len(fake_slack.completed_uploads) == 1
