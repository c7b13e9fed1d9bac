"""``/nps`` through signed slash commands: the ack, the answer at ``response_url``, errors
that show the grammar, and an ack that does not wait for a slow query."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

import bot.slack.commands
from bot.runtime import Runtime
from storage.types import utcnow
from tests.bot.slack.conftest import (
    command_body,
    post_signed,
    slack_app,
    store_answers,
    store_invitations,
)
from tests.fakes.slack import FakeSlack

Client = TestClient[Any, Any]


async def _seed(runtime: Runtime) -> None:
    now = utcnow()
    recent, older = now - timedelta(days=1), now - timedelta(days=40)
    await store_answers(runtime, [("BR", 10, recent), ("BR", 9, recent), ("BR", 3, recent),
                                  ("MX", 8, recent), ("SG", 10, recent), ("SG", 2, recent),
                                  ("BR", 3, older), ("BR", 3, older)])
    await store_invitations(runtime, "BR", sent=10, answered=2, at=recent)


async def _ask(client: Client, fake: FakeSlack, text: str) -> tuple[int, dict[str, Any]]:
    response = await post_signed(client, command_body(text, fake.response_url()))
    body = await response.json() if response.content_type == "application/json" else {}
    await slack_app(client).drain()
    return response.status, body


def _lines(answer: dict[str, Any]) -> list[str]:
    return [line for block in answer["blocks"] if block["type"] == "section"
            for line in block["text"]["text"].split("\n")]


async def test_nps_by_region(slack_runtime: Runtime, slack_http: Client,
                             fake_slack: FakeSlack) -> None:
    await _seed(slack_runtime)

    status, ack = await _ask(slack_http, fake_slack, "by region last 30d")

    assert status == 200
    assert ack == {"response_type": "ephemeral", "text": "Computing NPS for the last 30 days…"}
    [answer] = fake_slack.responses
    assert answer["response_type"] == "ephemeral"
    assert answer["blocks"][0]["text"]["text"] == "NPS · the last 30 days"
    # Overall: 6 answers, 3 promoters, 2 detractors: NPS = 100 * (3 - 2) / 6 = 16.67.
    # p = 1/2, d = 1/3: variance = 5/6 - (1/6)^2 = 0.80556; 1.96 * sqrt(0.80556 / 6) = 0.718.
    # The 30 days before: two detractors, NPS -100 with variance 0, so the change is
    # +116.67 with z = 1.1667 / sqrt(0.80556 / 6) = 3.18 > 1.96: significant.
    # Response rate: 2 of 10 invitations answered.
    assert _lines(answer) == [
        "*Overall*: NPS *+16.7* ±71.8 · n=6 · response rate 20.0 % (2/10) · "
        "▲ +116.7† vs the period before · ⚠️ n < 30, too small to trust",
        "*By region*",
        # APAC: p = d = 1/2, variance = 1: 1.96 * sqrt(1 / 2) = 1.386.
        "*APAC*: NPS *0.0* ±138.6 · n=2 · response rate n/a · no answers in the period "
        "before to compare · ⚠️ n < 30, too small to trust",
        # LATAM: p = 1/2, d = 1/4: variance = 3/4 - 1/16 = 0.6875; 1.96 * sqrt(0.6875 / 4)
        # = 0.8126; change +125 with z = 1.25 / sqrt(0.6875 / 4) = 3.02: significant.
        "*LATAM*: NPS *+25.0* ±81.3 · n=4 · response rate 20.0 % (2/10) · "
        "▲ +125.0† vs the period before · ⚠️ n < 30, too small to trust",
    ]
    assert answer["text"] == "NPS +16.7 (n=6) for the last 30 days"


async def test_nps_filter_and_public(slack_runtime: Runtime, slack_http: Client,
                                     fake_slack: FakeSlack) -> None:
    await _seed(slack_runtime)

    status, _ = await _ask(slack_http, fake_slack, "region=apac public")

    assert status == 200
    [answer] = fake_slack.responses
    assert answer["response_type"] == "in_channel"
    assert _lines(answer)[0].startswith("*Overall*: NPS *0.0* ±138.6 · n=2 · ")
    assert answer["blocks"][1]["elements"][0]["text"].startswith("Filters: region=APAC · ")


async def test_nps_trend_weekly(slack_runtime: Runtime, slack_http: Client,
                                fake_slack: FakeSlack) -> None:
    await _seed(slack_runtime)

    await _ask(slack_http, fake_slack, "trend weekly")

    [answer] = fake_slack.responses
    lines = _lines(answer)
    assert "*Trend, weekly*" in lines
    trend = lines[lines.index("*Trend, weekly*") + 1:]
    # Weeks without answers have no line; the two weeks with answers are not adjacent.
    assert len(trend) == 2
    assert trend[0].startswith("*Week of ")
    assert "*: NPS *-100.0* ±0.0 · n=2 · response rate n/a · no answers in the week " \
           "before to compare" in trend[0]
    assert "*: NPS *+16.7* ±71.8 · n=6 · response rate 20.0 % (2/10) · no answers in " \
           "the week before to compare" in trend[1]


async def test_nps_detractors_open(slack_runtime: Runtime, slack_http: Client,
                                   fake_slack: FakeSlack) -> None:
    await _seed(slack_runtime)

    await _ask(slack_http, fake_slack, "detractors open")

    [answer] = fake_slack.responses
    lines = _lines(answer)
    assert lines[-2:] == ["*Latest detractors with an open alert*", "None in this period."]


async def test_nps_grammar_error(slack_runtime: Runtime, slack_http: Client,
                                 fake_slack: FakeSlack) -> None:
    status, ack = await _ask(slack_http, fake_slack, "by planet")

    assert status == 200
    assert ack["text"].startswith("`by` needs a field: one of region, country, language,")
    assert "*Usage:* `/nps [filters] [period] [by FIELD]" in ack["text"]
    assert fake_slack.responses == []


async def test_nps_help(slack_runtime: Runtime, slack_http: Client,
                        fake_slack: FakeSlack) -> None:
    status, ack = await _ask(slack_http, fake_slack, "help")

    assert status == 200
    assert ack["text"].startswith("*Usage:* `/nps [filters] [period]")
    assert fake_slack.responses == []


async def test_nps_forged_rejected(slack_runtime: Runtime, slack_http: Client,
                                   fake_slack: FakeSlack) -> None:
    body = command_body("by region", fake_slack.response_url())

    response = await post_signed(slack_http, body, secret="wrong-secret")
    await slack_app(slack_http).drain()

    assert response.status == 401
    assert fake_slack.responses == []


async def test_nps_stale_rejected(slack_runtime: Runtime, slack_http: Client,
                                  fake_slack: FakeSlack) -> None:
    body = command_body("by region", fake_slack.response_url())

    response = await post_signed(slack_http, body, timestamp=int(utcnow().timestamp()) - 301)
    await slack_app(slack_http).drain()

    assert response.status == 401
    assert fake_slack.responses == []


async def test_slow_query_acks_first(slack_runtime: Runtime, slack_http: Client,
                                     fake_slack: FakeSlack,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    await _seed(slack_runtime)
    release = asyncio.Event()
    real = bot.slack.commands.figures_by_window

    async def slow(*args: Any, **kwargs: Any) -> Any:
        await release.wait()
        return await real(*args, **kwargs)

    monkeypatch.setattr(bot.slack.commands, "figures_by_window", slow)

    response = await post_signed(slack_http, command_body("by region", fake_slack.response_url()))

    # The ack is back while the query is still held.
    assert response.status == 200
    assert (await response.json())["text"] == "Computing NPS for the last 30 days…"
    assert fake_slack.responses == []
    release.set()
    await slack_app(slack_http).drain()
    assert len(fake_slack.responses) == 1
    assert _lines(fake_slack.responses[0])[0].startswith("*Overall*: NPS *+16.7*")
