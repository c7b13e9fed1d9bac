"""Delivery status of sent messages, and of the invitations that they open.

An invitation follows its first message: ``sent`` once the platform accepts it, then
``delivered`` or ``failed`` as status reports arrive. Statuses only move forward, because
platforms may report them out of order. An invitation that is answered, expired or
suppressed keeps its status whatever arrives later.
"""

from __future__ import annotations

import logging
from datetime import datetime
from enum import StrEnum

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from channels.base import ChannelError, DeliveryReport, DeliveryState, Unreachable
from storage.models import DeliveryEvent, Invitation, Outbox, Respondent

logger = logging.getLogger(__name__)

_OUTBOX_RANK = {"pending": 0, "sent": 1, "delivered": 2, "read": 3, "failed": 4}
_INVITATION_RANK = {"scheduled": 0, "sent": 1, "delivered": 2, "failed": 3}
_OUTBOX_STATUS = {
    DeliveryState.SENT: "sent", DeliveryState.DELIVERED: "delivered",
    DeliveryState.READ: "read", DeliveryState.FAILED: "failed",
}
# The invitation tracks whether its message arrived; having been read adds nothing.
_INVITATION_STATUS = {
    DeliveryState.SENT: "sent", DeliveryState.DELIVERED: "delivered",
    DeliveryState.READ: "delivered", DeliveryState.FAILED: "failed",
}


class ReportOutcome(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    UNKNOWN_MESSAGE = "unknown_message"


async def record_send_result(
    session: AsyncSession,
    row: Outbox,
    *,
    now: datetime,
    error: ChannelError | None = None,
    reports: bool = False,
) -> None:
    """Update the invitation of ``row`` after a send attempt, in the caller's transaction.

    Only an invitation still ``scheduled`` changes. Its first accepted message makes it
    ``sent``, and a failure that the sender gave up on (the row is ``failed``) makes it
    ``failed``. On a channel with status ``reports``, reports that arrived before the
    message id was stored are applied afterwards.
    """
    await _record_on_invitation(session, row, now=now, error=error)
    if reports and error is None and row.provider_message_id:
        await _apply_early_reports(session, row)


async def _record_on_invitation(
    session: AsyncSession, row: Outbox, *, now: datetime, error: ChannelError | None
) -> None:
    if row.invitation_id is None:
        return
    invitation = await session.get(Invitation, row.invitation_id)
    if invitation is None or invitation.status != "scheduled":
        return
    invitation.attempts += 1
    invitation.updated_at = now
    if error is None:
        invitation.status = "sent"
        invitation.provider_message_id = row.provider_message_id
        return
    invitation.last_error = row.last_error
    if row.status == "failed":
        invitation.status = "failed"
        logger.warning("invitation %s failed: %s", invitation.id, row.last_error)


async def apply_report(
    sessions: async_sessionmaker[AsyncSession], report: DeliveryReport
) -> ReportOutcome:
    """Store a status report once and move the message and its invitation forward.

    The unique key on (channel, message id, status) makes a repeated report a no-op, while
    the sent, delivered and read reports of one message each count once.
    """
    try:
        async with sessions() as session, session.begin():
            session.add(DeliveryEvent(
                channel=report.channel,
                provider_message_id=report.provider_message_id,
                status=report.status,
                state=report.state.value,
                error_code=report.error_code,
                received_at=report.received_at,
            ))
            await session.flush()
            row = await _outbox_row(session, report)
            if row is None:
                return ReportOutcome.UNKNOWN_MESSAGE
            await _apply(session, row, report)
    except IntegrityError as error:
        if not _is_duplicate_report(error):
            raise
        logger.info("status %s of message %s was already recorded", report.status,
                    report.provider_message_id)
        return ReportOutcome.DUPLICATE
    return ReportOutcome.APPLIED


async def _outbox_row(session: AsyncSession, report: DeliveryReport) -> Outbox | None:
    found = await session.exec(
        select(Outbox)
        .where(Outbox.channel == report.channel)
        .where(Outbox.provider_message_id == report.provider_message_id)
    )
    return found.first()


async def _apply(session: AsyncSession, row: Outbox, report: DeliveryReport) -> None:
    status = _OUTBOX_STATUS.get(report.state)
    if status is not None and _OUTBOX_RANK[status] > _OUTBOX_RANK.get(row.status, 0):
        row.status = status
    if report.state is DeliveryState.FAILED:
        row.last_error = _describe_failure(report)
        logger.warning("outbox %s was not delivered: %s", row.id, row.last_error)
        if isinstance(report.error, Unreachable):
            respondent = await session.get(Respondent, row.respondent_id)
            if respondent is not None:
                respondent.unreachable_at = report.received_at
    if row.invitation_id is not None:
        await _apply_to_invitation(session, row, report)


async def _apply_to_invitation(session: AsyncSession, row: Outbox, report: DeliveryReport) -> None:
    invitation = await session.get(Invitation, row.invitation_id)
    if invitation is None or invitation.provider_message_id != report.provider_message_id:
        return
    status = _INVITATION_STATUS.get(report.state)
    current = _INVITATION_RANK.get(invitation.status)
    if status is None or current is None or _INVITATION_RANK[status] <= current:
        return
    invitation.status = status
    invitation.updated_at = report.received_at
    if report.state is DeliveryState.FAILED:
        invitation.last_error = row.last_error
    logger.info("invitation %s is %s (message status %s)", invitation.id, status, report.status)


async def _apply_early_reports(session: AsyncSession, row: Outbox) -> None:
    """Apply reports that arrived before the send recorded the message id.

    NOTE: a report committed while this transaction runs is still missed on PostgreSQL's
    READ COMMITTED; the gap is the few milliseconds between send and commit.
    """
    found = await session.exec(
        select(DeliveryEvent)
        .where(DeliveryEvent.channel == row.channel)
        .where(DeliveryEvent.provider_message_id == row.provider_message_id)
        .order_by(col(DeliveryEvent.received_at))
    )
    for event in found:
        report = DeliveryReport(
            channel=event.channel, provider_message_id=event.provider_message_id,
            status=event.status, state=DeliveryState(event.state),
            received_at=event.received_at, error_code=event.error_code,
        )
        await _apply(session, row, report)


def _describe_failure(report: DeliveryReport) -> str:
    if report.error is not None:
        return f"{type(report.error).__name__}: {report.error}"
    return f"status {report.status}, error code {report.error_code or 'none'}"


def _is_duplicate_report(error: IntegrityError) -> bool:
    text = str(error.orig).lower()
    return "uq_delivery_event_message_status" in text or (
        "delivery_event" in text and "unique" in text
    )
