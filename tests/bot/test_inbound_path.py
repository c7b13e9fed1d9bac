"""What one inbound message costs the database, and what happens after its commit.

Statements are counted with a SQLAlchemy event listener, so these tests check the work
itself, never how long it takes.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import event
from sqlmodel import select

from bot.delivery import SentLog, SentRow
from bot.runtime import Runtime
from bot.webhooks.telegram import open_survey
from channels.base import InboundMessage
from storage.models import Alert, Consent, Conversation, Outbox, Respondent, Response
from storage.models import InboundMessage as InboundRecord
from storage.types import utcnow
from tests.bot.helpers import count, new_respondent, say

REASON = "the app crashes at login"


@contextmanager
def statements(runtime: Runtime) -> Iterator[list[str]]:
    """Collect the SQL text of every statement the runtime's engine runs in the block."""
    seen: list[str] = []

    def listen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split()).lower())

    engine = runtime.engine.sync_engine
    event.listen(engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listen)


def touching(seen: list[str], table: str) -> list[str]:
    """The statements that name ``table`` as a table (``alert`` but not ``alert_id``)."""
    words = (f" {table} ", f" {table}(", f"{table}.")
    return [text for text in seen if any(word in f"{text} " for word in words)]


async def _alerts(runtime: Runtime) -> list[Alert]:
    async with runtime.sessions() as session:
        return list(await session.exec(select(Alert)))


async def _started(runtime: Runtime) -> Respondent:
    respondent = await new_respondent(runtime)
    started = await runtime.conversations.start(respondent.id, language_code="en")
    await runtime.after_commit(started)
    return respondent


async def test_detractor_alert_posted_after_reason(runtime: Runtime,
                                                   alert_stream: io.StringIO) -> None:
    respondent = await _started(runtime)
    await say(runtime, respondent, "yes")
    await say(runtime, respondent, "3")
    assert alert_stream.getvalue() == ""

    result = await say(runtime, respondent, REASON)

    assert result.alert_ready
    [alert] = await _alerts(runtime)
    assert alert.posted_at is not None
    assert alert.post_attempts == 1
    assert f'">{REASON}"' in alert_stream.getvalue()


async def test_stop_at_reason_posts_alert(runtime: Runtime, alert_stream: io.StringIO) -> None:
    respondent = await _started(runtime)
    for text in ("yes", "2", "stop"):
        await say(runtime, respondent, text)

    [alert] = await _alerts(runtime)
    assert alert.posted_at is not None
    assert "Slack alert preview" in alert_stream.getvalue()


async def test_steps_without_ready_alert_skip_alerts(runtime: Runtime) -> None:
    respondent = await _started(runtime)
    with statements(runtime) as consent_step:
        result = await say(runtime, respondent, "yes")
    assert not result.alert_ready
    assert touching(consent_step, "alert") == []
    assert touching(consent_step, "alert_thread_post") == []

    # The score creates the alert in the step's own transaction, but nothing reads alerts.
    with statements(runtime) as score_step:
        result = await say(runtime, respondent, "3")
    assert not result.alert_ready
    assert [text.split()[0] for text in touching(score_step, "alert")] == ["insert"]


async def test_promoter_reason_skips_alerts(runtime: Runtime) -> None:
    respondent = await _started(runtime)
    await say(runtime, respondent, "yes")
    await say(runtime, respondent, "10")

    with statements(runtime) as seen:
        result = await say(runtime, respondent, "great support")

    assert not result.alert_ready
    assert touching(seen, "alert") == []


async def test_other_alerts_left_for_worker(runtime: Runtime, alert_stream: io.StringIO) -> None:
    waiting = await _started(runtime)
    await say(runtime, waiting, "yes")
    await say(runtime, waiting, "1")
    other = await _started(runtime)
    for text in ("yes", "9", "fine"):
        await say(runtime, other, text)
    assert (await _alerts(runtime))[0].posted_at is None

    # The comment never comes; the worker's pass posts the alert once the wait is over.
    posted = await runtime.alerts.post_ready(now=utcnow() + timedelta(minutes=20))

    assert posted == 1
    assert (await _alerts(runtime))[0].posted_at is not None


async def test_reply_sent_without_reading_outbox(runtime: Runtime,
                                                 console_output: io.StringIO) -> None:
    respondent = await _started(runtime)

    with statements(runtime) as seen:
        result = await say(runtime, respondent, "yes")

    assert [text.split()[0] for text in touching(seen, "outbox")] == ["insert", "update"]
    async with runtime.sessions() as session:
        row = await session.get(Outbox, result.outbox_ids[0])
    assert row is not None
    assert (row.status, row.attempts) == ("sent", 1)
    assert row.sent_at is not None
    assert row.provider_message_id == "console-2"
    assert console_output.getvalue().count("bot> ") == 2


async def test_message_reads_respondent_once(runtime: Runtime) -> None:
    respondent = await _started(runtime)

    with statements(runtime) as seen:
        await say(runtime, respondent, "yes")

    # One UPDATE ... RETURNING reads, locks and marks the respondent.
    assert [text.split()[0] for text in touching(seen, "respondent")] == ["update"]
    async with runtime.sessions() as session:
        stored = await session.get(Respondent, respondent.id)
    assert stored is not None and stored.last_inbound_at is not None


async def test_comment_written_without_reading_response(runtime: Runtime) -> None:
    respondent = await _started(runtime)
    await say(runtime, respondent, "yes")
    await say(runtime, respondent, "8")

    with statements(runtime) as seen:
        await say(runtime, respondent, "good enough")

    assert [text.split()[0] for text in touching(seen, "response")] == ["update"]
    # The outcome travels with the state: one UPDATE of the conversation.
    assert [text.split()[0] for text in touching(seen, "conversation")] == ["select", "update"]
    async with runtime.sessions() as session:
        [response] = list(await session.exec(select(Response)))
        conversation = await session.get(Conversation, response.conversation_id)
    assert response.comment == "good enough"
    assert conversation is not None and conversation.outcome == "completed"


async def test_two_messages_at_once_both_count(runtime: Runtime) -> None:
    respondent = await _started(runtime)

    first, second = await asyncio.gather(say(runtime, respondent, "yes"),
                                         say(runtime, respondent, "9"))

    # In either order the consent is given and the score recorded once.
    assert first.status == second.status == "processed"
    async with runtime.sessions() as session:
        [response] = list(await session.exec(select(Response)))
    assert response.score == 9
    assert await count(runtime, Consent, granted=True) == 1
    assert await count(runtime, InboundRecord) == 2


async def test_sent_log_writes_concurrent_sends_together(runtime: Runtime) -> None:
    respondent = await _started(runtime)
    async with runtime.sessions() as session:
        rows = [Outbox(respondent_id=respondent.id, channel="console",
                       address=respondent.address, text=f"note {n}") for n in range(5)]
        session.add_all(rows)
        await session.commit()
    log = SentLog(runtime.sessions)
    now = utcnow()

    with statements(runtime) as seen:
        await asyncio.gather(*(log.record(SentRow(row.id, None, now, f"p{n}"))
                               for n, row in enumerate(rows)))

    assert len(touching(seen, "outbox")) == 1
    async with runtime.sessions() as session:
        stored = [await session.get(Outbox, row.id) for row in rows]
    assert [(row.status, row.attempts, row.provider_message_id) for row in stored if row] == [
        ("sent", 1, f"p{n}") for n in range(5)]


def _start_message(address: str, message_id: str) -> InboundMessage:
    return InboundMessage(channel="console", address=address, provider_message_id=message_id,
                          received_at=utcnow(), text="/start", language_code="en")


async def test_first_start_looks_nothing_up(runtime: Runtime) -> None:
    with statements(runtime) as seen:
        result = await open_survey(runtime, _start_message("console:first", "s1"), None)

    # The respondent is inserted by this very transaction, so it has nothing to find.
    assert [text for text in seen if text.startswith("select")] == []
    assert touching(seen, "consent") == touching(seen, "invitation") == []
    assert result.status == "processed"
    assert len(result.outbox_ids) == 1


async def test_start_over_cap_still_opts_back_in(runtime: Runtime) -> None:
    respondent = await new_respondent(runtime)
    for message_id in ("a", "b"):
        started = await open_survey(runtime, _start_message(respondent.address, message_id),
                                    None)
        await runtime.after_commit(started)
        await say(runtime, respondent, "stop", message_id=f"stop-{message_id}")

    result = await open_survey(runtime, _start_message(respondent.address, "again"), None)

    assert result.status == "ignored"
    async with runtime.sessions() as session:
        stored = await session.get(Respondent, respondent.id)
    assert stored is not None and stored.opted_out_at is None
    assert await count(runtime, InboundRecord, provider_message_id="again") == 1
    assert await count(runtime, Conversation, respondent_id=respondent.id) == 2


async def test_late_message_keeps_latest_inbound_time(runtime: Runtime) -> None:
    respondent = await _started(runtime)
    later = utcnow() + timedelta(minutes=5)

    await say(runtime, respondent, "yes", at=later)
    await say(runtime, respondent, "7", at=later - timedelta(minutes=1))

    async with runtime.sessions() as session:
        stored = await session.get(Respondent, respondent.id)
    assert stored is not None and stored.last_inbound_at == later
