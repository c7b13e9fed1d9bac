"""The conversation service: load state, run ``flows.step``, commit what it produced.

One call handles one inbound message end to end. The provider message id, the answer, the
new state and the next prompt (as outbox rows) commit in one transaction. Only then is the
state cached, and the caller delivers the outbox. The unique key on (channel, provider
message id) makes a second recording impossible, whatever the cache contains.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy import bindparam, case, insert, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

import flows
from bot.eligibility import SurveyNotAllowed, check_eligible
from bot.recorder import StepRecorder, queue_send, raises_alert
from bot.slack.threads import thread_customer_answer
from bot.surveys import SurveysFile
from channels.base import InboundMessage
from flows.answers import Keyword, parse_keyword
from flows.language import LocaleSource, resolve_locale
from flows.machine import Transition
from flows.prompts import current_prompt, notice
from storage.models import Consent, Conversation, Invitation, Outbox, Respondent
from storage.models import InboundMessage as InboundRecord
from storage.state_store import CachedState, StateStore
from storage.types import UTCDateTime, new_id, utcnow

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
# The cache only needs to outlive a conversation; the database row is the durable copy.
STATE_TTL_SECONDS = 8 * 24 * 3600


class HandleStatus(StrEnum):
    PROCESSED = "processed"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"


@dataclass(frozen=True)
class HandleResult:
    status: HandleStatus
    conversation_id: str | None = None
    outbox_ids: tuple[str, ...] = ()
    detractor_response_id: str | None = None
    # The step ended the wait for the reason of an alerted score, so the conversation's
    # alert can be posted now. Other alerts are left to the worker's sweep.
    alert_ready: bool = False
    # The step queued a message for an alert's Slack thread.
    thread_post: bool = False
    # The outbox rows behind ``outbox_ids`` as committed, so the sender need not read them.
    outbox_rows: tuple[Outbox, ...] = ()


# Picks the invitation a survey request opens, in the request's transaction. The flag is
# true when the request created the respondent, which then has no rows of its own yet.
InvitationChooser = Callable[[AsyncSession, Respondent, bool], Awaitable[Invitation | None]]


class ConcurrentUpdate(RuntimeError):
    """Another process advanced the same conversation first; the message must be retried."""


@dataclass(frozen=True)
class RespondentProfile:
    """The details a channel or operator has about a respondent when first seen."""

    display_name: str | None = None
    country: str | None = None
    timezone: str | None = None
    customer_type: str | None = None
    buyer_type: str | None = None
    security_maturity: str | None = None
    region: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)


class ConversationService:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        state_store: StateStore,
        surveys: SurveysFile,
    ) -> None:
        self._sessions = sessions
        self._state_store = state_store
        self._surveys = surveys

    async def ensure_respondent(
        self, *, channel: str, address: str, profile: RespondentProfile | None = None
    ) -> Respondent:
        """Return the respondent at (channel, address), creating it from ``profile`` if new."""
        profile = profile or RespondentProfile()
        async with self._sessions() as session, session.begin():
            existing = await self._find_respondent(session, channel, address)
            if existing is not None:
                return existing
            respondent = self._new_respondent(channel, address, profile)
            session.add(respondent)
        logger.info("created respondent %s on %s", respondent.id, channel)
        return respondent

    async def start(
        self,
        respondent_id: str,
        *,
        survey_id: str | None = None,
        invitation_id: str | None = None,
        language_code: str | None = None,
        now: datetime | None = None,
        inbound: InboundMessage | None = None,
    ) -> HandleResult:
        """Open a survey for a respondent, or re-send the open question if one is running.

        ``inbound`` is the respondent's message that asked for the survey (Telegram's
        ``/start``): it is recorded like any other, so a second delivery of it is a duplicate.
        """
        now = now or utcnow()
        try:
            async with self._sessions() as session, session.begin():
                respondent = await _load_respondent(session, respondent_id)
                if inbound is not None:
                    await _record_inbound(session, respondent, inbound)
                result, opened = await self._start_in(
                    session, respondent, survey_id=survey_id, invitation_id=invitation_id,
                    language_code=language_code, now=now)
        except IntegrityError as error:
            if inbound is None or not _is_duplicate_message(error):
                raise
            logger.info("message %s was already recorded; the survey is not opened again",
                        inbound.provider_message_id)
            return HandleResult(HandleStatus.DUPLICATE)
        await self._opened(opened)
        return result

    async def start_for_sender(
        self, message: InboundMessage, *, choose: InvitationChooser,
        profile: RespondentProfile | None = None,
    ) -> HandleResult:
        """Open a survey for the sender of ``message``, such as Telegram's ``/start``, or
        re-send the open question; in one transaction with recording the message.

        ``choose`` picks the invitation to open (None: the default survey) with the
        respondent's row locked, and may change the respondent. When the respondent may not
        be surveyed now, nothing opens, but the message and those changes are kept.
        """
        try:
            async with self._sessions() as session, session.begin():
                respondent, new = await self._inbound_respondent(session, message, profile)
                invitation = await choose(session, respondent, new)
                try:
                    result, opened = await self._start_in(
                        session, respondent,
                        survey_id=invitation.survey_id if invitation else None,
                        invitation_id=invitation.id if invitation else None,
                        language_code=message.language_code, now=message.received_at,
                        new_respondent=new)
                except SurveyNotAllowed as error:
                    # Asking again changes nothing, so the message counts as handled.
                    logger.info("respondent %s asked for a survey, but none opens: %s",
                                respondent.id, error)
                    return HandleResult(HandleStatus.IGNORED)
        except IntegrityError as error:
            if not _is_duplicate_message(error):
                raise
            logger.info("message %s was already recorded; the survey is not opened again",
                        message.provider_message_id)
            return HandleResult(HandleStatus.DUPLICATE)
        await self._opened(opened)
        return result

    async def _start_in(
        self, session: AsyncSession, respondent: Respondent, *, survey_id: str | None,
        invitation_id: str | None, language_code: str | None, now: datetime,
        new_respondent: bool = False,
    ) -> tuple[HandleResult, Conversation | None]:
        """Open the survey in ``session``; return the result and the conversation if new.

        A respondent inserted by this transaction has no conversation, consent or earlier
        survey that another transaction could see or add, so none is looked up.
        """
        conversation = (None if new_respondent
                        else await self._open_conversation(session, respondent.id))
        if conversation is not None:
            return await self._resend_prompt(session, respondent, conversation, now), None
        state, actions = await self._open(
            session, respondent, survey_id=survey_id, language_code=language_code, now=now,
            new_respondent=new_respondent,
        )
        conversation = self._new_conversation(respondent, state, invitation_id, now)
        session.add(conversation)
        recorder = self._recorder(session, respondent, conversation, now)
        await recorder.apply(actions)
        _store_state(conversation, state, now)
        result = HandleResult(HandleStatus.PROCESSED, conversation.id,
                              tuple(recorder.outbox_ids), outbox_rows=tuple(recorder.outbox_rows))
        return result, conversation

    async def _opened(self, conversation: Conversation | None) -> None:
        """Cache the state of a conversation opened by a committed transaction."""
        if conversation is None:
            return
        await self._cache(conversation)
        logger.info("opened conversation %s for respondent %s", conversation.id,
                    conversation.respondent_id)

    async def _resend_prompt(
        self, session: AsyncSession, respondent: Respondent, conversation: Conversation,
        now: datetime,
    ) -> HandleResult:
        state = flows.ConversationState.from_dict(conversation.state)
        prompt = current_prompt(state)
        actions: tuple[flows.Action, ...] = (prompt,) if prompt else ()
        recorder = self._recorder(session, respondent, conversation, now)
        await recorder.apply(actions)
        return HandleResult(HandleStatus.PROCESSED, conversation.id, tuple(recorder.outbox_ids),
                            outbox_rows=tuple(recorder.outbox_rows))

    async def handle(
        self, message: InboundMessage, *, profile: RespondentProfile | None = None
    ) -> HandleResult:
        """Process one inbound message; retried when another process wins a race for it.

        ``profile`` describes the sender if this message is the first we see from them.
        """
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                return await self._handle_once(message, profile)
            except ConcurrentUpdate:
                if attempt == MAX_ATTEMPTS:
                    raise
                logger.info("conversation changed under message %s; retrying (attempt %d)",
                            message.provider_message_id, attempt + 1)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _handle_once(
        self, message: InboundMessage, profile: RespondentProfile | None
    ) -> HandleResult:
        try:
            async with self._sessions() as session, session.begin():
                result, conversation = await self._handle_in(session, message, profile)
        except IntegrityError as error:
            if not _is_duplicate_message(error):
                raise
            logger.info("message %s on %s was already recorded; ignoring the duplicate",
                        message.provider_message_id, message.channel)
            return HandleResult(HandleStatus.DUPLICATE)
        if conversation is not None:
            await self._cache(conversation)
        return result

    async def _handle_in(
        self, session: AsyncSession, message: InboundMessage, profile: RespondentProfile | None
    ) -> tuple[HandleResult, Conversation | None]:
        respondent, new = await self._inbound_respondent(session, message, profile)
        # A respondent created just now cannot have a conversation yet.
        conversation = (None if new else
                        await self._open_conversation(session, respondent.id, for_update=True))
        if conversation is None:
            result = await self._handle_stray(session, respondent, message)
            return result, None

        state = await self._current_state(conversation)
        reply = flows.Reply(text=message.text, payload=message.payload,
                            received_at=message.received_at)
        new_state, actions = flows.step(state, reply)
        recorder = self._recorder(session, respondent, conversation, message.received_at,
                                  provider_message_id=message.provider_message_id)
        await recorder.apply(actions)
        await self._save_state(session, conversation, new_state, message.received_at)
        logger.debug("message %s moved conversation %s from %s to %s",
                     message.provider_message_id, conversation.id, state.step, new_state.step)
        result = HandleResult(HandleStatus.PROCESSED, conversation.id, tuple(recorder.outbox_ids),
                              recorder.detractor_response_id,
                              alert_ready=self._alert_ready(state, new_state),
                              outbox_rows=tuple(recorder.outbox_rows))
        return result, conversation

    async def _inbound_respondent(
        self, session: AsyncSession, message: InboundMessage, profile: RespondentProfile | None
    ) -> tuple[Respondent, bool]:
        """Return the sender with the message recorded, and whether the respondent is new.

        The first statement updates the respondent's row, which reads it and locks it at
        once: a second message of the same person waits here on PostgreSQL until the first
        commits, and so reads the conversation as the first left it.
        """
        found = respondent = await _touch_respondent(session, message)
        if respondent is None:
            profile = profile or RespondentProfile(display_name=message.display_name)
            respondent = self._new_respondent(message.channel, message.address, profile)
            respondent.last_inbound_at = message.received_at
            session.add(respondent)
            # No ORM relationship orders the inserts, so the respondent must exist first.
            await session.flush()
            logger.info("created respondent %s on %s", respondent.id, message.channel)
        # Inserted at once, so a duplicate fails on the unique key before any other work.
        await session.exec(_RECORD_INBOUND, params={
            "id": new_id(), "channel": message.channel,
            "provider_message_id": message.provider_message_id,
            "respondent_id": respondent.id, "received_at": message.received_at})
        return respondent, found is None

    def _alert_ready(self, before: flows.ConversationState,
                     after: flows.ConversationState) -> bool:
        """Return whether the step ended the wait for the reason of an alerted score.

        The rule is the recorder's, so it names exactly the conversations that have one.
        """
        if before.step is not flows.Step.REASON or after.step is flows.Step.REASON:
            return False
        return before.score is not None and raises_alert(
            self._surveys.slack.alerts_on, before.survey.scale, before.score, before.category)

    async def _handle_stray(
        self, session: AsyncSession, respondent: Respondent, message: InboundMessage
    ) -> HandleResult:
        """Handle a message outside any conversation: STOP and START work, the rest is ignored."""
        keyword = None if message.payload else parse_keyword(message.text)
        if keyword is Keyword.STOP:
            respondent.opted_out_at = message.received_at
            spec = self._surveys.spec_for(None, country=respondent.country)
            send = notice("stop.confirm", locale=respondent.locale or "en", survey=spec)
            row = queue_send(session, respondent, send, now=message.received_at)
            logger.info("respondent %s opted out outside a conversation", respondent.id)
            return HandleResult(HandleStatus.PROCESSED, None, (row.id,), outbox_rows=(row,))
        if keyword is Keyword.START and respondent.opted_out_at is not None:
            respondent.opted_out_at = None
            spec = self._surveys.spec_for(None, country=respondent.country)
            send = notice("start.confirm", locale=respondent.locale or "en", survey=spec)
            row = queue_send(session, respondent, send, now=message.received_at)
            logger.info("respondent %s opted back in", respondent.id)
            return HandleResult(HandleStatus.PROCESSED, None, (row.id,), outbox_rows=(row,))
        # An answer to a reply sent from Slack goes to that alert's thread.
        alert_id = await thread_customer_answer(session, respondent=respondent,
                                                text=message.text, channel=message.channel,
                                                now=message.received_at)
        if alert_id is not None:
            return HandleResult(HandleStatus.PROCESSED, thread_post=True)
        logger.info("message %s from respondent %s has no open conversation; ignored",
                    message.provider_message_id, respondent.id)
        return HandleResult(HandleStatus.IGNORED)

    async def expire_due(self, now: datetime | None = None, *, limit: int = 500) -> int:
        """Expire open conversations whose deadline has passed; return how many."""
        now = now or utcnow()
        async with self._sessions() as session:
            found = await session.exec(
                select(Conversation.id)
                .where(Conversation.step != flows.Step.DONE.value)
                .where(col(Conversation.deadline) < now)
                .limit(limit)
            )
            due = list(found)
        expired = 0
        for conversation_id in due:
            try:
                expired += await self._expire_one(conversation_id, now)
            except ConcurrentUpdate:
                logger.info("conversation %s changed while expiring; left for the next run",
                            conversation_id)
        return expired

    async def _expire_one(self, conversation_id: str, now: datetime) -> int:
        async with self._sessions() as session, session.begin():
            conversation = await session.get(Conversation, conversation_id)
            if conversation is None or conversation.step == flows.Step.DONE.value:
                return 0
            respondent = await _load_respondent(session, conversation.respondent_id)
            state = flows.ConversationState.from_dict(conversation.state)
            new_state, actions = flows.step(state, flows.Tick(now=now))
            if new_state is state:
                return 0
            recorder = self._recorder(session, respondent, conversation, now)
            await recorder.apply(actions)
            await self._save_state(session, conversation, new_state, now)
        await self._cache(conversation)
        logger.info("conversation %s expired", conversation_id)
        return 1

    # -- helpers ---------------------------------------------------------------------------

    async def _open(
        self,
        session: AsyncSession,
        respondent: Respondent,
        *,
        survey_id: str | None,
        language_code: str | None,
        now: datetime,
        new_respondent: bool = False,
    ) -> Transition:
        await check_eligible(session, respondent,
                             cap_per_quarter=self._surveys.fatigue_cap_per_quarter, now=now,
                             opened=0 if new_respondent else None)
        spec = self._surveys.spec_for(survey_id, country=respondent.country)
        survey = self._surveys.survey(survey_id)
        explicit = respondent.locale if respondent.locale_source >= LocaleSource.EXPLICIT else None
        platform = language_code
        if platform is None and respondent.locale_source == LocaleSource.PLATFORM:
            platform = respondent.locale
        locale, source = resolve_locale(explicit=explicit, platform_code=platform,
                                        country=respondent.country,
                                        default=survey.default_locale)
        if source >= LocaleSource.PLATFORM and respondent.locale_source <= source:
            respondent.locale, respondent.locale_source = locale, int(source)
        consent_on_file = (not new_respondent
                           and await _has_consent(session, respondent.id, spec))
        return flows.start(spec, locale=locale, locale_source=source, now=now,
                           consent_on_file=consent_on_file)

    def _new_respondent(
        self, channel: str, address: str, profile: RespondentProfile
    ) -> Respondent:
        return Respondent(
            channel=channel,
            address=address,
            display_name=profile.display_name,
            country=profile.country.upper() if profile.country else None,
            region=profile.region or self._surveys.region_for(profile.country),
            timezone=profile.timezone,
            customer_type=profile.customer_type,
            buyer_type=profile.buyer_type,
            security_maturity=profile.security_maturity,
            attributes=dict(profile.attributes),
        )

    def _new_conversation(
        self, respondent: Respondent, state: flows.ConversationState,
        invitation_id: str | None, now: datetime,
    ) -> Conversation:
        return Conversation(
            respondent_id=respondent.id,
            invitation_id=invitation_id,
            survey_id=state.survey.survey_id,
            step=state.step.value,
            locale=state.locale,
            state=state.to_dict(),
            deadline=state.deadline,
            version=state.version,
            created_at=now,
            updated_at=now,
        )

    def _recorder(
        self, session: AsyncSession, respondent: Respondent, conversation: Conversation,
        now: datetime, *, provider_message_id: str | None = None,
    ) -> StepRecorder:
        survey = self._surveys.survey(conversation.survey_id)
        return StepRecorder(session=session, respondent=respondent, conversation=conversation,
                            now=now, channel=respondent.channel, touchpoint=survey.touchpoint,
                            provider_message_id=provider_message_id,
                            alerts_on=self._surveys.slack.alerts_on)

    async def _find_respondent(
        self, session: AsyncSession, channel: str, address: str
    ) -> Respondent | None:
        found = await session.exec(
            select(Respondent).where(Respondent.channel == channel, Respondent.address == address)
        )
        return found.first()

    async def _open_conversation(
        self, session: AsyncSession, respondent_id: str, *, for_update: bool = False
    ) -> Conversation | None:
        # Locking serialises two messages of one respondent on PostgreSQL; SQLite ignores
        # it and relies on the version check in _save_state instead.
        query = _OPEN_CONVERSATION_LOCKED if for_update else _OPEN_CONVERSATION
        found = await session.exec(query, params={"b_respondent": respondent_id})
        return found.first()

    async def _current_state(self, conversation: Conversation) -> flows.ConversationState:
        """Return the cached state if it is as new as the row, otherwise the row's own copy."""
        cached = await self._state_store.get(conversation.id)
        if cached is not None and cached.version == conversation.version:
            return flows.ConversationState.from_dict(cached.state)
        return flows.ConversationState.from_dict(conversation.state)

    async def _save_state(
        self, session: AsyncSession, conversation: Conversation,
        state: flows.ConversationState, now: datetime,
    ) -> None:
        """Write the new state unless another writer changed the row since it was read.

        Raises ConcurrentUpdate in that case, so the caller retries the message.
        """
        expected = conversation.version
        columns = _state_columns(state, now)
        result = await session.exec(_SAVE_STATE, params={
            "b_id": conversation.id, "b_expected": expected,
            **{f"b_{name}": value for name, value in columns.items()}})
        if result.rowcount != 1:
            raise ConcurrentUpdate(f"conversation {conversation.id} is past version {expected}")
        # The row is written; update the loaded object without making the ORM write it again.
        for name, value in columns.items():
            set_committed_value(conversation, name, value)

    async def _cache(self, conversation: Conversation) -> None:
        await self._state_store.put(
            conversation.id,
            CachedState(version=conversation.version, state=conversation.state),
            ttl_seconds=STATE_TTL_SECONDS,
        )


# The statements that every message runs are built once: building one and computing its
# cache key took longer than its round trip to the database.
_SAVE_STATE = (
    update(Conversation)
    .where(col(Conversation.id) == bindparam("b_id"))
    .where(col(Conversation.version) == bindparam("b_expected"))
    .values({name: bindparam(f"b_{name}") for name in (
        "step", "locale", "state", "deadline", "version", "updated_at", "outcome")})
    .execution_options(synchronize_session=False)
)
_OPEN_CONVERSATION = (
    select(Conversation)
    .where(col(Conversation.respondent_id) == bindparam("b_respondent"))
    .where(col(Conversation.step) != flows.Step.DONE.value)
    .order_by(col(Conversation.created_at).desc())
)
_OPEN_CONVERSATION_LOCKED = _OPEN_CONVERSATION.with_for_update()
_RECORD_INBOUND = insert(InboundRecord.metadata.tables[InboundRecord.__tablename__])
_RECEIVED = bindparam("b_received", type_=UTCDateTime())
_TOUCH_RESPONDENT = (
    update(Respondent)
    .where(col(Respondent.channel) == bindparam("b_channel"))
    .where(col(Respondent.address) == bindparam("b_address"))
    .values(last_inbound_at=case((or_(col(Respondent.last_inbound_at).is_(None),
                                      col(Respondent.last_inbound_at) < _RECEIVED), _RECEIVED),
                                 else_=col(Respondent.last_inbound_at)),
            unreachable_at=None)
    .returning(Respondent)
    .execution_options(synchronize_session=False, populate_existing=True)
)


def _state_columns(state: flows.ConversationState, now: datetime) -> dict[str, object]:
    # The outcome goes with the state, so finishing costs no UPDATE of its own.
    return {"step": state.step.value, "locale": state.locale, "state": state.to_dict(),
            "deadline": state.deadline, "version": state.version, "updated_at": now,
            "outcome": state.outcome.value if state.outcome else None}


def _store_state(conversation: Conversation, state: flows.ConversationState, now: datetime) -> None:
    for name, value in _state_columns(state, now).items():
        setattr(conversation, name, value)


async def _record_inbound(
    session: AsyncSession, respondent: Respondent, message: InboundMessage
) -> None:
    """Record the message id, whose unique key stops a second recording, and its time.

    A message proves the respondent reachable and opens the channel's reply window.
    """
    session.add(_inbound_record(respondent, message))
    if respondent.last_inbound_at is None or respondent.last_inbound_at < message.received_at:
        respondent.last_inbound_at = message.received_at
    respondent.unreachable_at = None
    # Flushing here makes a duplicate fail on the unique key before any other work.
    await session.flush()


def _inbound_record(respondent: Respondent, message: InboundMessage) -> InboundRecord:
    return InboundRecord(channel=message.channel, provider_message_id=message.provider_message_id,
                         respondent_id=respondent.id, received_at=message.received_at)


async def _touch_respondent(session: AsyncSession, message: InboundMessage) -> Respondent | None:
    """Mark the sender reachable as of this message and return them; None if new.

    One UPDATE ... RETURNING reads and writes the row, where a SELECT and a flushed UPDATE
    would take two round trips. A message proves the respondent reachable and opens the
    channel's reply window; the latest message time is kept if messages arrive out of order.
    """
    found = await session.exec(_TOUCH_RESPONDENT, params={
        "b_channel": message.channel, "b_address": message.address,
        "b_received": message.received_at})
    return found.scalars().first()


async def _load_respondent(session: AsyncSession, respondent_id: str) -> Respondent:
    respondent = await session.get(Respondent, respondent_id)
    if respondent is None:
        raise LookupError(f"respondent {respondent_id!r} not found")
    return respondent


async def _has_consent(session: AsyncSession, respondent_id: str, spec: flows.SurveySpec) -> bool:
    """Whether the latest decision for this jurisdiction and policy version is a live yes."""
    found = await session.exec(
        select(Consent)
        .where(Consent.respondent_id == respondent_id)
        .where(Consent.jurisdiction == spec.jurisdiction)
        .where(Consent.policy_version == spec.policy_version)
        .order_by(col(Consent.created_at).desc())
        .limit(1)
    )
    latest = found.first()
    return latest is not None and latest.granted and latest.withdrawn_at is None


def _is_duplicate_message(error: IntegrityError) -> bool:
    text = str(error.orig).lower()
    return "uq_inbound_channel_message" in text or (
        "inbound_message" in text and "unique" in text
    )
