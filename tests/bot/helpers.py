"""Small helpers for driving the conversation service in tests."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import func, select

from bot.conversation import HandleResult, RespondentProfile
from bot.runtime import Runtime
from channels.base import InboundMessage
from storage.models import Outbox, Respondent
from storage.types import utcnow


async def new_respondent(runtime: Runtime, *, country: str | None = None,
                         name: str | None = "Ana Example") -> Respondent:
    return await runtime.conversations.ensure_respondent(
        channel="console",
        address=f"console:{uuid.uuid4().hex[:12]}",
        profile=RespondentProfile(display_name=name, country=country,
                                  customer_type="smb", buyer_type="direct"),
    )


async def say(
    runtime: Runtime,
    respondent: Respondent,
    text: str = "",
    *,
    payload: str | None = None,
    message_id: str | None = None,
    at: datetime | None = None,
) -> HandleResult:
    """Send one message as ``respondent`` through the whole receive path."""
    message = InboundMessage(
        channel=respondent.channel,
        address=respondent.address,
        provider_message_id=message_id or uuid.uuid4().hex,
        received_at=at or utcnow(),
        text=text,
        payload=payload,
    )
    return await runtime.receive(message)


async def sent_keys(runtime: Runtime, respondent: Respondent) -> list[str]:
    """The catalog keys of every message queued for ``respondent``, oldest first."""
    async with runtime.sessions() as session:
        rows = await session.exec(
            select(Outbox).where(Outbox.respondent_id == respondent.id)
        )
        ordered = sorted(rows, key=lambda row: (row.created_at, row.ordinal))
    return [row.message_key for row in ordered]


async def count(runtime: Runtime, model: type, **where: object) -> int:
    async with runtime.sessions() as session:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return int((await session.exec(query)).one())
