"""``nps-bot shell``: answer a survey in the terminal, as one respondent on the console channel."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import TextIO

import flows
from bot.conversation import RespondentProfile
from bot.runtime import Runtime
from channels.base import InboundMessage
from channels.console import ConsoleChannel
from storage.models import Conversation, Respondent
from storage.types import utcnow

logger = logging.getLogger(__name__)

USER_PREFIX = "you> "


@dataclass(frozen=True)
class ShellOptions:
    locale: str | None = None
    country: str | None = None
    attributes: dict[str, str] | None = None
    respondent_id: str | None = None
    survey_id: str | None = None


SEGMENT_KEYS = ("customer_type", "buyer_type", "security_maturity", "region", "timezone")


def profile_from(options: ShellOptions) -> RespondentProfile:
    """Split ``--attr`` pairs into the segment fields and the free-form attributes."""
    attributes = dict(options.attributes or {})
    known = {key: attributes.pop(key) for key in SEGMENT_KEYS if key in attributes}
    return RespondentProfile(
        display_name=attributes.pop("name", None),
        country=options.country,
        attributes=attributes,
        **known,
    )


async def run_shell(
    runtime: Runtime,
    options: ShellOptions,
    replies: AsyncIterator[str] | Iterable[str],
    stream: TextIO,
    *,
    echo_replies: bool,
) -> Respondent:
    """Open the survey for one respondent and feed it ``replies`` until it ends or they run out."""
    runtime.channels.setdefault("console", ConsoleChannel(stream))
    respondent = await _respondent(runtime, options)
    started = await runtime.conversations.start(
        respondent.id, survey_id=options.survey_id, language_code=options.locale
    )
    await runtime.after_commit(started)

    async for text in _as_async(replies):
        if echo_replies:
            stream.write(f"{USER_PREFIX}{text}\n")
        message = InboundMessage(
            channel="console",
            address=respondent.address,
            provider_message_id=f"console-{uuid.uuid4().hex}",
            received_at=utcnow(),
            text=text,
            language_code=options.locale,
        )
        await runtime.receive(message)
        if await _finished(runtime, started.conversation_id):
            break
    return respondent


async def _respondent(runtime: Runtime, options: ShellOptions) -> Respondent:
    if options.respondent_id:
        async with runtime.sessions() as session:
            existing = await session.get(Respondent, options.respondent_id)
        if existing is None or existing.channel != "console":
            raise LookupError(
                f"no console respondent {options.respondent_id!r}; "
                "leave out --respondent to start as a new one"
            )
        return existing
    address = f"console:{uuid.uuid4().hex[:12]}"
    return await runtime.conversations.ensure_respondent(
        channel="console", address=address, profile=profile_from(options)
    )


async def _finished(runtime: Runtime, conversation_id: str | None) -> bool:
    if conversation_id is None:
        return True
    async with runtime.sessions() as session:
        conversation = await session.get(Conversation, conversation_id)
    return conversation is None or conversation.step == flows.Step.DONE.value


async def _as_async(replies: AsyncIterator[str] | Iterable[str]) -> AsyncIterator[str]:
    if hasattr(replies, "__aiter__"):
        async for text in replies:  # type: ignore[union-attr]
            yield text
    else:
        for text in replies:  # type: ignore[union-attr]
            yield text
