"""Invitations: create one, open its survey and send the first message through the outbox.

``dispatch`` is the one path from a scheduled invitation to a sent message, used by
``nps-bot invite`` now and by the worker for invitations that come due. The first message is
an outbox row like every reply, so it gets a template where the platform requires one and the
worker re-sends it if the process stops before sending.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import phonenumbers
from sqlalchemy import exists
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

import flows
from bot.channel_registry import SETUP_HINTS
from bot.conversation import HandleResult, RespondentProfile
from bot.eligibility import SurveyNotAllowed
from bot.shell import SEGMENT_KEYS
from flows.catalog import SUPPORTED_LOCALES
from flows.language import LocaleSource, normalize_locale
from storage.claims import Claim
from storage.models import Conversation, Invitation, Respondent
from storage.types import utcnow

if TYPE_CHECKING:
    from bot.runtime import Runtime

logger = logging.getLogger(__name__)

SCHEDULED = "scheduled"
PHONE_CHANNELS = ("whatsapp", "sms")
_CHAT_ID = re.compile(r"-?\d{1,20}")


class InvitationError(ValueError):
    """An invitation that cannot be created as requested; its message states what to change."""


@dataclass(frozen=True)
class InvitationRequest:
    """The person to invite, the channel to use, and their known segment."""

    channel: str
    address: str | None
    survey_id: str | None = None
    locale: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)


def normalize_address(channel: str, address: str | None) -> str:
    """Return the address as the channel stores it; raise InvitationError if it is not one.

    Telegram: a chat id. WhatsApp and SMS: a phone number in international format, stored
    as ``whatsapp:+5511999990000`` or ``sms:+14155550123``.
    """
    text = (address or "").strip()
    if channel == "telegram":
        if not _CHAT_ID.fullmatch(text):
            shown = f"{text!r} is not a chat id" if text else "the chat id is missing"
            raise InvitationError(
                "Telegram bots can only message people who have started the bot, so a "
                "Telegram invitation needs their chat id as --address (a number such as "
                f"123456789), which the bot learns when they send /start; {shown}"
            )
        return str(int(text))
    if channel in PHONE_CHANNELS:
        number = text.removeprefix(f"{channel}:")
        try:
            parsed = phonenumbers.parse(number, None)
        except phonenumbers.NumberParseException:
            parsed = None
        if parsed is None or not phonenumbers.is_valid_number(parsed):
            raise InvitationError(
                f"{_ARTICLE[channel]} invitation needs a phone number in international format as "
                "--address, for example +5511999990000"
            )
        e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        return f"{channel}:{e164}"
    raise InvitationError(f"channel {channel!r} is not one of telegram, whatsapp, sms")


_ARTICLE = {"whatsapp": "a WhatsApp", "sms": "an SMS"}


def country_of(address: str) -> str | None:
    """Return the ISO country code of a ``whatsapp:`` or ``sms:`` phone address, if known."""
    number = address.split(":", 1)[-1]
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return None
    region = phonenumbers.region_code_for_number(parsed)
    return region if region and region != "ZZ" and len(region) == 2 else None


async def create_invitation(
    runtime: Runtime, request: InvitationRequest, *, now: datetime | None = None
) -> Invitation:
    """Validate the request and store a scheduled invitation, due now.

    Raises InvitationError for a channel that is not configured, a malformed address or an
    unsupported locale, and SurveysFileError for an unknown survey.
    """
    now = now or utcnow()
    survey = runtime.surveys.survey(request.survey_id)
    if request.channel not in runtime.channels:
        hint = SETUP_HINTS.get(request.channel, "configure it first")
        raise InvitationError(f"channel {request.channel!r} is not configured; {hint}")
    address = normalize_address(request.channel, request.address)
    locale = _supported_locale(request.locale)
    profile = _profile(address, request.attributes)

    found = await runtime.conversations.ensure_respondent(
        channel=request.channel, address=address, profile=profile
    )
    async with runtime.sessions() as session, session.begin():
        respondent = await session.get(Respondent, found.id)
        assert respondent is not None
        _apply_profile(respondent, profile, locale,
                       region=runtime.surveys.region_for(profile.country))
        invitation = Invitation(survey_id=survey.id, respondent_id=respondent.id,
                                touchpoint=survey.touchpoint, due_at=now,
                                created_at=now, updated_at=now)
        session.add(invitation)
    logger.info("created invitation %s for respondent %s on %s", invitation.id,
                respondent.id, request.channel)
    return invitation


async def dispatch(
    runtime: Runtime, invitation_id: str, *, now: datetime | None = None
) -> Invitation:
    """Open the invitation's survey now and send its first message; return the invitation.

    An invitation that is no longer scheduled, or that another process is dispatching, is
    left alone. One whose respondent opted out, is unreachable or is answering another
    survey is suppressed with that reason.
    """
    now = now or utcnow()
    key = f"invitation:{invitation_id}"
    if await runtime.claims.claim(key) is not Claim.NEW:
        logger.info("invitation %s is already being dispatched", invitation_id)
        return await _load(runtime, invitation_id)
    try:
        started = await _open(runtime, invitation_id, now)
    except BaseException:
        await runtime.claims.release(key)
        raise
    await runtime.claims.mark_done(key)
    if started is not None:
        await runtime.after_commit(started)
    return await _load(runtime, invitation_id)


async def dispatch_due(
    runtime: Runtime, *, now: datetime | None = None, limit: int = 100
) -> int:
    """Dispatch scheduled invitations that are due and not opened yet; return how many."""
    now = now or utcnow()
    opened = exists().where(col(Conversation.invitation_id) == col(Invitation.id))
    async with runtime.sessions() as session:
        found = await session.exec(
            select(Invitation.id)
            .where(Invitation.status == SCHEDULED)
            .where(col(Invitation.due_at) <= now)
            .where(~opened)
            .order_by(col(Invitation.due_at))
            .limit(limit)
        )
        due = list(found)
    for invitation_id in due:
        await dispatch(runtime, invitation_id, now=now)
    return len(due)


async def _open(runtime: Runtime, invitation_id: str, now: datetime) -> HandleResult | None:
    async with runtime.sessions() as session, session.begin():
        invitation = await session.get(Invitation, invitation_id)
        if invitation is None:
            raise LookupError(f"invitation {invitation_id!r} not found")
        if invitation.status != SCHEDULED or await _has_conversation(session, invitation_id):
            return None
        respondent = await session.get(Respondent, invitation.respondent_id)
        assert respondent is not None
        reason = await _suppression_reason(session, respondent)
        if reason is not None:
            invitation.status = "suppressed"
            invitation.suppressed_reason = reason
            invitation.updated_at = now
            logger.info("invitation %s suppressed: %s", invitation_id, reason)
            return None
        survey_id, respondent_id = invitation.survey_id, respondent.id
    try:
        return await runtime.conversations.start(respondent_id, survey_id=survey_id,
                                                 invitation_id=invitation_id, now=now)
    except SurveyNotAllowed as error:
        await _suppress(runtime, invitation_id, str(error), now)
        return None


async def _suppress(runtime: Runtime, invitation_id: str, reason: str, now: datetime) -> None:
    async with runtime.sessions() as session, session.begin():
        invitation = await session.get(Invitation, invitation_id)
        if invitation is not None and invitation.status == SCHEDULED:
            invitation.status = "suppressed"
            invitation.suppressed_reason = reason[:255]
            invitation.updated_at = now
    logger.info("invitation %s suppressed: %s", invitation_id, reason)


async def _suppression_reason(session: AsyncSession, respondent: Respondent) -> str | None:
    if respondent.opted_out_at is not None:
        return "opted_out"
    if respondent.unreachable_at is not None:
        return "unreachable"
    found = await session.exec(
        select(Conversation.id)
        .where(Conversation.respondent_id == respondent.id)
        .where(Conversation.step != flows.Step.DONE.value)
        .limit(1)
    )
    return "survey_in_progress" if found.first() is not None else None


async def _has_conversation(session: AsyncSession, invitation_id: str) -> bool:
    found = await session.exec(
        select(Conversation.id).where(Conversation.invitation_id == invitation_id).limit(1)
    )
    return found.first() is not None


async def _load(runtime: Runtime, invitation_id: str) -> Invitation:
    async with runtime.sessions() as session:
        invitation = await session.get(Invitation, invitation_id)
    if invitation is None:
        raise LookupError(f"invitation {invitation_id!r} not found")
    return invitation


def _supported_locale(code: str | None) -> str | None:
    if code is None:
        return None
    locale = normalize_locale(code)
    if locale is None:
        raise InvitationError(
            f"--locale {code!r} is not supported; use one of {', '.join(SUPPORTED_LOCALES)}"
        )
    return locale


def _profile(address: str, attributes: dict[str, str]) -> RespondentProfile:
    """Split ``--attr`` pairs into segment fields and free-form attributes.

    ``country`` may be given for a Telegram chat, which has no phone number to take it from.
    """
    extra = dict(attributes)
    known = {key: extra.pop(key) for key in SEGMENT_KEYS if key in extra}
    country = extra.pop("country", None) or country_of(address)
    return RespondentProfile(display_name=extra.pop("name", None), country=country,
                             attributes=extra, **known)


def _apply_profile(
    respondent: Respondent, profile: RespondentProfile, locale: str | None, *,
    region: str | None,
) -> None:
    """Update an existing respondent with the segment and locale given in the invitation."""
    if profile.country is not None and respondent.country is None:
        respondent.country = profile.country.upper()
        respondent.region = respondent.region or region
    for name in ("customer_type", "buyer_type", "security_maturity", "region", "timezone"):
        value = getattr(profile, name)
        if value is not None:
            setattr(respondent, name, value)
    if profile.attributes:
        respondent.attributes = {**respondent.attributes, **profile.attributes}
    # The operator's language for this person is as strong a signal as their app's.
    if locale is not None and respondent.locale_source <= LocaleSource.PLATFORM:
        respondent.locale = locale
        respondent.locale_source = int(LocaleSource.PLATFORM)
