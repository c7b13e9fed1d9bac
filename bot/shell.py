"""``nps-bot shell``: answer a survey in the terminal, as one respondent on the console channel."""

from __future__ import annotations

import logging
import uuid
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
SEGMENT_KEYS = ("customer_type", "buyer_type", "security_maturity", "region", "timezone")


@dataclass(frozen=True)
class ShellOptions:
    locale: str | None = None
    country: str | None = None
    attributes: dict[str, str] | None = None
    respondent_id: str | None = None
    survey_id: str | None = None


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


class ShellSession:
    """One respondent answering one survey in the terminal.

    The caller drives it one reply at a time, so that it can read the terminal outside the
    event loop and Ctrl-C interrupts the program at once.
    """

    def __init__(self, runtime: Runtime, options: ShellOptions, stream: TextIO) -> None:
        self._runtime = runtime
        self._options = options
        runtime.channels.setdefault("console", ConsoleChannel(stream))
        self._respondent: Respondent | None = None
        self._conversation_id: str | None = None

    @property
    def respondent_id(self) -> str | None:
        return self._respondent.id if self._respondent else None

    async def open(self) -> None:
        """Find or create the respondent and send the survey's first question."""
        self._respondent = await self._find_or_create()
        started = await self._runtime.conversations.start(
            self._respondent.id, survey_id=self._options.survey_id,
            language_code=self._options.locale,
        )
        self._conversation_id = started.conversation_id
        await self._runtime.after_commit(started)

    async def reply(self, text: str) -> bool:
        """Send one reply as the respondent; return True once the conversation has ended."""
        if self._respondent is None:
            raise RuntimeError("the shell session is not open; call open() first")
        # Bytes that are not UTF-8 arrive as lone surrogates, which no database accepts.
        clean = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        message = InboundMessage(
            channel="console",
            address=self._respondent.address,
            provider_message_id=f"console-{uuid.uuid4().hex}",
            received_at=utcnow(),
            text=clean,
            language_code=self._options.locale,
        )
        await self._runtime.receive(message)
        return await self.finished()

    async def finished(self) -> bool:
        if self._conversation_id is None:
            return True
        async with self._runtime.sessions() as session:
            conversation = await session.get(Conversation, self._conversation_id)
        return conversation is None or conversation.step == flows.Step.DONE.value

    async def _find_or_create(self) -> Respondent:
        if self._options.respondent_id:
            async with self._runtime.sessions() as session:
                existing = await session.get(Respondent, self._options.respondent_id)
            if existing is None or existing.channel != "console":
                raise LookupError(
                    f"no console respondent {self._options.respondent_id!r}; "
                    "leave out --respondent to start as a new one"
                )
            return existing
        address = f"console:{uuid.uuid4().hex[:12]}"
        return await self._runtime.conversations.ensure_respondent(
            channel="console", address=address, profile=profile_from(self._options)
        )
