"""Survey eligibility: never someone who opted out, never more than the fatigue cap."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Conversation, Respondent

# A calendar quarter is 90 to 92 days; the cap counts surveys over the last 91.
QUARTER = timedelta(days=91)


class SurveyNotAllowed(RuntimeError):
    """The respondent must not be surveyed now; the message gives the reason."""


async def check_eligible(
    session: AsyncSession, respondent: Respondent, *, cap_per_quarter: int, now: datetime,
    opened: int | None = None,
) -> None:
    """Raise SurveyNotAllowed if ``respondent`` opted out or reached the fatigue cap.

    ``opened`` is the number of surveys opened in the last quarter, when the caller knows
    it: 0 for a respondent created in the same transaction. Without it, they are counted.
    """
    if respondent.opted_out_at is not None:
        raise SurveyNotAllowed(
            f"respondent {respondent.id} opted out on {respondent.opted_out_at:%Y-%m-%d} and "
            "is not surveyed again unless they opt back in (START)"
        )
    if opened is None:
        recent = await session.exec(
            select(func.count())
            .select_from(Conversation)
            .where(Conversation.respondent_id == respondent.id)
            .where(col(Conversation.created_at) >= now - QUARTER)
        )
        opened = int(recent.one())
    if opened >= cap_per_quarter:
        raise SurveyNotAllowed(
            f"respondent {respondent.id} was already surveyed {opened} times in the last "
            f"{QUARTER.days} days; the cap is {cap_per_quarter} (fatigue_cap_per_quarter in "
            "surveys.toml)"
        )
