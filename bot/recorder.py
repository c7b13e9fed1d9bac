"""Writing the actions of one conversation step into the open database transaction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

import flows
from flows import Category, Scale
from storage.models import Alert, Consent, Conversation, Invitation, Outbox, Respondent, Response


@dataclass
class StepRecorder:
    """Applies ``flows`` actions for one respondent and conversation inside ``session``.

    The caller owns the transaction: everything recorded here commits or rolls back together
    with the conversation state, which is what keeps an answer and its next prompt in step.
    """

    session: AsyncSession
    respondent: Respondent
    conversation: Conversation
    now: datetime
    channel: str
    touchpoint: str
    provider_message_id: str | None = None
    outbox_ids: list[str] = field(default_factory=list)
    # The rows behind ``outbox_ids``, handed to the sender after commit.
    outbox_rows: list[Outbox] = field(default_factory=list)
    detractor_response_id: str | None = None
    # Whether a score raises a Slack alert; every detractor when None.
    alerts_on: Callable[[Scale, int], bool] | None = None

    async def apply(self, actions: tuple[flows.Action, ...]) -> None:
        for action in actions:
            await self._apply_one(action)

    async def _apply_one(self, action: flows.Action) -> None:
        match action:
            case flows.Send():
                self._queue(action)
            case flows.RecordConsent():
                self._record_consent(action)
            case flows.RecordScore():
                await self._record_score(action)
            case flows.RecordComment():
                await self._update_response(comment=action.text,
                                            comment_language=action.language)
            case flows.RecordEffort():
                await self._update_response(effort_score=action.score)
            case flows.OptOut():
                await self._opt_out()
            case flows.SetLocale():
                self.respondent.locale = action.locale
                self.respondent.locale_source = int(action.source)
            case flows.Finish():
                await self._finish(action.outcome)

    def _queue(self, send: flows.Send) -> None:
        row = queue_send(self.session, self.respondent, send, now=self.now,
                         conversation_id=self.conversation.id,
                         invitation_id=self.conversation.invitation_id,
                         ordinal=len(self.outbox_ids))
        self.outbox_ids.append(row.id)
        self.outbox_rows.append(row)

    def _record_consent(self, action: flows.RecordConsent) -> None:
        self.session.add(Consent(
            respondent_id=self.respondent.id,
            jurisdiction=action.jurisdiction,
            policy_version=action.policy_version,
            granted=action.granted,
            text_shown=action.text_shown,
            locale=action.locale,
            catalog_version=action.catalog_version,
            channel=self.channel,
            provider_message_id=self.provider_message_id,
            created_at=self.now,
        ))

    async def _record_score(self, action: flows.RecordScore) -> None:
        respondent = self.respondent
        response = Response(
            conversation_id=self.conversation.id,
            invitation_id=self.conversation.invitation_id,
            respondent_id=respondent.id,
            survey_id=self.conversation.survey_id,
            scale=action.scale.value,
            score=action.score,
            category=action.category.value,
            raw_text=action.raw,
            locale=self.conversation.locale,
            channel=self.channel,
            touchpoint=self.touchpoint,
            region=respondent.region,
            country=respondent.country,
            language=self.conversation.locale,
            customer_type=respondent.customer_type,
            buyer_type=respondent.buyer_type,
            security_maturity=respondent.security_maturity,
            attributes=dict(respondent.attributes),
            created_at=self.now,
            updated_at=self.now,
        )
        self.session.add(response)
        if raises_alert(self.alerts_on, action.scale, action.score, action.category):
            # No ORM relationship orders the inserts, so the response must exist first.
            await self.session.flush()
            self.session.add(Alert(response_id=response.id, created_at=self.now))
            self.detractor_response_id = response.id

    async def _update_response(self, **values: object) -> None:
        """Write to the conversation's response without loading it, which saves a round trip."""
        result = await self.session.exec(
            update(Response)
            .where(col(Response.conversation_id) == self.conversation.id)
            .values(**values, updated_at=self.now)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            raise LookupError(f"conversation {self.conversation.id} has no response to update")

    async def _opt_out(self) -> None:
        self.respondent.opted_out_at = self.now
        await self.session.exec(
            update(Invitation)
            .where(Invitation.respondent_id == self.respondent.id)  # type: ignore[arg-type]
            .where(Invitation.status == "scheduled")  # type: ignore[arg-type]
            .values(status="suppressed", suppressed_reason="opted_out", updated_at=self.now)
        )

    async def _finish(self, outcome: flows.Outcome) -> None:
        # The conversation's outcome is written with its new state, in the same UPDATE.
        if self.conversation.invitation_id is None:
            return
        query = (
            update(Invitation)
            .where(col(Invitation.id) == self.conversation.invitation_id)
            .values(status=_INVITATION_STATUS[outcome], updated_at=self.now)
            .execution_options(synchronize_session=False)
        )
        if outcome is flows.Outcome.EXPIRED:
            # An invitation whose opening message never arrived stays failed, not expired.
            query = query.where(col(Invitation.status) != "failed")
        await self.session.exec(query)


def raises_alert(alerts_on: Callable[[Scale, int], bool] | None, scale: Scale, score: int,
                 category: Category | None) -> bool:
    """Return whether a score raises a Slack alert: ``alerts_on`` decides, else every
    detractor does."""
    if alerts_on is None:
        return category is Category.DETRACTOR
    return alerts_on(scale, score)


def queue_send(
    session: AsyncSession,
    respondent: Respondent,
    send: flows.Send,
    *,
    now: datetime,
    conversation_id: str | None = None,
    invitation_id: str | None = None,
    ordinal: int = 0,
) -> Outbox:
    """Add an outbox row for ``send`` to the respondent's own channel and address."""
    row = Outbox(
        conversation_id=conversation_id,
        invitation_id=invitation_id,
        respondent_id=respondent.id,
        channel=respondent.channel,
        address=respondent.address,
        message_key=send.key,
        ordinal=ordinal,
        text=send.text,
        locale=send.locale,
        buttons=[{"label": button.label, "payload": button.payload} for button in send.buttons],
        created_at=now,
    )
    session.add(row)
    return row


_INVITATION_STATUS = {
    flows.Outcome.COMPLETED: "answered",
    flows.Outcome.UNREADABLE: "answered",
    flows.Outcome.DECLINED: "suppressed",
    flows.Outcome.OPTED_OUT: "suppressed",
    flows.Outcome.EXPIRED: "expired",
}
