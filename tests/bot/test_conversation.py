"""The conversation service end to end on the configured backend: what gets stored, when."""

from __future__ import annotations

import asyncio
import io
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from bot.conversation import HandleStatus
from bot.runtime import Runtime, open_runtime
from bot.settings import Settings
from storage.models import Alert, Consent, Conversation, Respondent, Response
from storage.state_store import CachedState
from storage.types import utcnow
from tests.bot.helpers import count, new_respondent, say, sent_keys

EFFORT_SURVEYS = """
[[surveys]]
id = "relationship"
product = "Acme Security"
ask_effort = true
"""


async def _start(runtime: Runtime, **kwargs: object) -> Respondent:
    respondent = await new_respondent(runtime)
    result = await runtime.conversations.start(respondent.id, **kwargs)  # type: ignore[arg-type]
    await runtime.after_commit(result)
    return respondent


async def _responses(runtime: Runtime) -> list[Response]:
    async with runtime.sessions() as session:
        return list(await session.exec(select(Response)))


async def _conversation(runtime: Runtime, respondent: Respondent) -> Conversation:
    async with runtime.sessions() as session:
        found = await session.exec(
            select(Conversation).where(Conversation.respondent_id == respondent.id)
        )
        return found.one()


async def test_promoter_answer_stored(runtime: Runtime) -> None:
    respondent = await _start(runtime)
    for text in ("yes", "9", "great support"):
        await say(runtime, respondent, text)

    [response] = await _responses(runtime)
    assert response.score == 9
    assert response.category == "promoter"
    assert response.comment == "great support"
    assert response.scale == "0-10"
    assert response.customer_type == "smb"
    assert await count(runtime, Consent, granted=True) == 1
    assert await count(runtime, Alert) == 0
    assert (await _conversation(runtime, respondent)).outcome == "completed"


async def test_spanish_detractor_alerted(runtime: Runtime, alert_stream: io.StringIO) -> None:
    respondent = await new_respondent(runtime)
    started = await runtime.conversations.start(respondent.id, language_code="es")
    await runtime.after_commit(started)
    for text in ("sí", "３", "la app se cae"):
        await say(runtime, respondent, text)

    [response] = await _responses(runtime)
    assert response.score == 3
    assert response.category == "detractor"
    assert response.locale == "es"
    assert response.comment == "la app se cae"
    assert '"text": ">la app se cae"' in alert_stream.getvalue()
    async with runtime.sessions() as session:
        [alert] = list(await session.exec(select(Alert)))
    assert alert.response_id == response.id
    assert alert.posted_at is not None
    assert alert.slack_channel == "#cx-alerts"


async def test_comment_language_detected(runtime: Runtime) -> None:
    respondent = await _start(runtime)
    for text in ("yes", "8", "o suporte demorou demais para responder"):
        await say(runtime, respondent, text)

    [response] = await _responses(runtime)
    assert response.comment_language == "pt_BR"
    # The comment is a stronger locale signal than the survey default, so the thanks switch.
    assert response.locale == "en"
    assert (await _conversation(runtime, respondent)).locale == "pt_BR"


async def test_nothing_stored_before_consent(runtime: Runtime) -> None:
    respondent = await _start(runtime)
    for text in ("9", "great", "no"):
        await say(runtime, respondent, text)

    assert await _responses(runtime) == []
    async with runtime.sessions() as session:
        [consent] = list(await session.exec(select(Consent)))
    assert consent.granted is False
    assert consent.policy_version == "2026-01"
    assert "Is that OK with you?" in consent.text_shown
    assert (await _conversation(runtime, respondent)).outcome == "declined"


async def test_early_score_recorded_on_consent(runtime: Runtime) -> None:
    respondent = await _start(runtime)
    await say(runtime, respondent, "9")
    assert await _responses(runtime) == []

    await say(runtime, respondent, "yes")
    [response] = await _responses(runtime)
    assert response.score == 9
    assert await sent_keys(runtime, respondent) == [
        "consent.prompt", "consent.score_held", "consent.prompt", "reason.promoter",
    ]


async def _opt_out_at(runtime: Runtime, replies: list[str]) -> Respondent:
    respondent = await _start(runtime)
    for text in replies:
        await say(runtime, respondent, text)
    await say(runtime, respondent, "STOP")
    async with runtime.sessions() as session:
        refreshed = await session.get(Respondent, respondent.id)
    assert refreshed is not None
    return refreshed


@pytest.mark.parametrize(
    "replies",
    [[], ["yes"], ["yes", "5"], ["yes", "5", "slow"], ["yes", "5", "slow", "3"]],
    ids=["consent", "score", "reason", "effort", "after-done"],
)
async def test_stop_opts_out_at_every_step(
    settings: Settings, tmp_path: Path, replies: list[str]
) -> None:
    surveys_file = tmp_path / "surveys.toml"
    surveys_file.write_text(EFFORT_SURVEYS, encoding="utf-8")
    runtime = await open_runtime(settings.model_copy(update={"surveys_file": surveys_file}),
                                 alert_stream=io.StringIO())
    try:
        respondent = await _opt_out_at(runtime, replies)
        assert respondent.opted_out_at is not None
        conversation = await _conversation(runtime, respondent)
        assert conversation.step == "done"
        if len(replies) < 4:
            assert conversation.outcome == "opted_out"
        assert (await sent_keys(runtime, respondent))[-1] == "stop.confirm"
    finally:
        await runtime.close()


async def test_stop_during_reason_keeps_no_comment(runtime: Runtime) -> None:
    respondent = await _opt_out_at(runtime, ["yes", "4"])

    [response] = await _responses(runtime)
    assert response.score == 4
    assert response.comment is None
    assert respondent.opted_out_at is not None


async def test_two_reasks_then_polite_end(runtime: Runtime) -> None:
    respondent = await _start(runtime)
    await say(runtime, respondent, "yes")
    for text in ("banana", "7 or 8", "eleven-ish"):
        await say(runtime, respondent, text)

    assert await sent_keys(runtime, respondent) == [
        "consent.prompt", "score.prompt_0_10", "score.hint_0_10", "score.hint_0_10",
        "ended.unreadable",
    ]
    assert (await _conversation(runtime, respondent)).outcome == "unreadable"
    assert await _responses(runtime) == []


async def test_reply_after_deadline_expires(runtime: Runtime) -> None:
    respondent = await new_respondent(runtime)
    opened_at = utcnow() - timedelta(hours=73)
    await runtime.conversations.start(respondent.id, now=opened_at)
    await say(runtime, respondent, "yes")

    conversation = await _conversation(runtime, respondent)
    assert conversation.outcome == "expired"
    assert await count(runtime, Consent) == 0
    assert (await sent_keys(runtime, respondent))[-1] == "ended.expired"


async def test_worker_expires_after_deadline(runtime: Runtime) -> None:
    respondent = await new_respondent(runtime)
    await runtime.conversations.start(respondent.id, now=utcnow() - timedelta(hours=71))
    assert await runtime.conversations.expire_due() == 0

    later = utcnow() + timedelta(hours=2)
    assert await runtime.conversations.expire_due(later) == 1
    conversation = await _conversation(runtime, respondent)
    assert conversation.step == "done"
    assert conversation.outcome == "expired"
    assert await runtime.conversations.expire_due(later) == 0


async def test_same_message_twice_records_once(runtime: Runtime) -> None:
    respondent = await _start(runtime)
    await say(runtime, respondent, "yes")
    first = await say(runtime, respondent, "9", message_id="provider-42")
    second = await say(runtime, respondent, "9", message_id="provider-42")

    assert first.status is HandleStatus.PROCESSED
    assert second.status is HandleStatus.DUPLICATE
    assert len(await _responses(runtime)) == 1
    assert await sent_keys(runtime, respondent) == [
        "consent.prompt", "score.prompt_0_10", "reason.promoter",
    ]


async def test_concurrent_duplicates_record_once(runtime: Runtime) -> None:
    respondent = await _start(runtime)
    await say(runtime, respondent, "yes")
    results = await asyncio.gather(
        say(runtime, respondent, "3", message_id="provider-7"),
        say(runtime, respondent, "3", message_id="provider-7"),
    )

    statuses = sorted(result.status.value for result in results)
    assert statuses == ["duplicate", "processed"]
    assert len(await _responses(runtime)) == 1
    assert await count(runtime, Alert) == 1


async def test_stale_cache_falls_back_to_row(runtime: Runtime) -> None:
    respondent = await _start(runtime)
    conversation = await _conversation(runtime, respondent)
    stale = dict(conversation.state, step="effort")
    await runtime.state_store.put(conversation.id, CachedState(version=-1, state=stale),
                                  ttl_seconds=60)
    await say(runtime, respondent, "yes")

    assert (await _conversation(runtime, respondent)).step == "score"


async def test_stop_outside_conversation_opts_out(runtime: Runtime) -> None:
    respondent = await new_respondent(runtime)
    result = await say(runtime, respondent, "stop")

    assert result.status is HandleStatus.PROCESSED
    async with runtime.sessions() as session:
        refreshed = await session.get(Respondent, respondent.id)
    assert refreshed is not None
    assert refreshed.opted_out_at is not None
    assert await sent_keys(runtime, respondent) == ["stop.confirm"]


async def test_stray_message_is_ignored(runtime: Runtime) -> None:
    respondent = await new_respondent(runtime)
    result = await say(runtime, respondent, "hello?")

    assert result.status is HandleStatus.IGNORED
    assert await sent_keys(runtime, respondent) == []


async def test_consent_on_file_skips_question(runtime: Runtime) -> None:
    respondent = await _start(runtime)
    for text in ("yes", "10", "skip"):
        await say(runtime, respondent, text)
    second = await runtime.conversations.start(respondent.id)
    await runtime.after_commit(second)

    keys = await sent_keys(runtime, respondent)
    assert keys[-1] == "score.prompt_0_10"
    assert keys.count("consent.prompt") == 1
