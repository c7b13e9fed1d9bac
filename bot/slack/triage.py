"""Claim, resolve and reply: what the alert buttons do to the ``Alert`` row, the audit log,
the customer's outbox and the Slack message.

A reply goes to the customer through the outbox and ``OutboxSender`` like every other
message, on the respondent's own channel and address.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.alerting import AlertDispatcher
from bot.delivery import OutboxSender
from bot.slack.blocks import (
    REPLY_BLOCK,
    REPLY_MAX_LENGTH,
    TEXT_LIMIT,
    ReplyForm,
    local_time,
    mention,
    quote,
)
from bot.slack.mrkdwn import escape
from bot.slack.threads import queue_thread_post
from bot.surveys import SurveysFile
from channels.base import Channel
from storage.models import Alert, AuditLog, Outbox, Respondent, Response
from storage.types import utcnow

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TriageOutcome:
    """Whether the button changed the alert, and what to tell the person when it did not."""

    changed: bool
    message: str = ""


@dataclass(frozen=True)
class ReplyOutcome:
    """A queued reply (``outbox_id``) or why it was not queued: a field error for the
    dialog's text box, or a new form to show in its place."""

    alert_id: str
    outbox_id: str | None = None
    errors: dict[str, str] | None = None
    form: ReplyForm | None = None


class Triage:
    def __init__(self, *, sessions: async_sessionmaker[AsyncSession], alerts: AlertDispatcher,
                 outbox: OutboxSender, channels: Mapping[str, Channel],
                 surveys: SurveysFile) -> None:
        self._sessions = sessions
        self._alerts = alerts
        self._outbox = outbox
        self._channels = channels
        self._surveys = surveys

    async def claim(self, alert_id: str, user_id: str, *, now: datetime | None = None
                    ) -> TriageOutcome:
        """Mark an open alert as claimed by ``user_id`` and redraw it."""
        return await self._transition(alert_id, user_id, "claimed", ("open",), now or utcnow())

    async def resolve(self, alert_id: str, user_id: str, *, now: datetime | None = None
                      ) -> TriageOutcome:
        """Mark an open or claimed alert as resolved by ``user_id`` and redraw it."""
        return await self._transition(alert_id, user_id, "resolved", ("open", "claimed"),
                                      now or utcnow())

    async def _transition(self, alert_id: str, user_id: str, status: str,
                          allowed: tuple[str, ...], now: datetime) -> TriageOutcome:
        who = "claimed" if status == "claimed" else "resolved"
        async with self._sessions() as session, session.begin():
            changed = await session.exec(
                update(Alert)
                .where(col(Alert.id) == alert_id, col(Alert.status).in_(allowed))
                .values(status=status, **{f"{who}_by": user_id, f"{who}_at": now})
                .execution_options(synchronize_session=False)
            )
            if changed.rowcount != 1:
                return await self._why_not(session, alert_id, status)
            session.add(AuditLog(actor=f"slack:{user_id}", action=f"alert.{status}",
                                 record_type="alert", record_id=alert_id, created_at=now))
        logger.info("alert %s %s by Slack user %s", alert_id, status, user_id)
        await self._alerts.refresh(alert_id)
        return TriageOutcome(changed=True)

    async def _why_not(self, session: AsyncSession, alert_id: str, wanted: str) -> TriageOutcome:
        alert = await session.get(Alert, alert_id)
        zone = self._surveys.slack.zone
        if alert is None:
            return TriageOutcome(False, "This alert no longer exists.")
        if alert.status == "resolved" and alert.resolved_at is not None:
            return TriageOutcome(False, f"Already resolved by {mention(alert.resolved_by)} at "
                                        f"{local_time(alert.resolved_at, zone)}.")
        if alert.claimed_at is not None:
            return TriageOutcome(False, f"Already claimed by {mention(alert.claimed_by)} at "
                                        f"{local_time(alert.claimed_at, zone)}.")
        return TriageOutcome(False, f"This alert cannot be {wanted} now.")

    async def reply_form(self, alert_id: str, *, now: datetime | None = None) -> ReplyForm:
        """Decide what the reply dialog offers, from the channel's window and the config."""
        async with self._sessions() as session:
            respondent = await _respondent_of(session, alert_id)
        if respondent is None:
            return ReplyForm(alert_id, "unavailable", "",
                             reason="This alert's customer record no longer exists.")
        return self._form_for(alert_id, respondent, now or utcnow())

    def _form_for(self, alert_id: str, respondent: Respondent, now: datetime) -> ReplyForm:
        name = respondent.channel
        channel = self._channels.get(name)
        if respondent.opted_out_at is not None:
            return ReplyForm(alert_id, "unavailable", name, reason=(
                "The customer opted out of messages, so no reply can be sent."))
        if channel is None:
            return ReplyForm(alert_id, "unavailable", name, reason=(
                f"The {escape(name)} channel is not set up on this server, so the reply "
                "cannot be sent."))
        window = channel.capabilities.window
        last = respondent.last_inbound_at
        if window is None or (last is not None and now - last < window):
            seen = f" The customer last wrote {_ago(now - last)} ago." if last else ""
            return ReplyForm(alert_id, "text", name, reason=f"Sent on {escape(name)}.{seen}")
        return self._template_form(alert_id, name, window, last, now)

    def _template_form(self, alert_id: str, name: str, window: timedelta,
                       last: datetime | None, now: datetime) -> ReplyForm:
        # WhatsApp (and Twilio for it) accept free text only within 24 hours of the
        # customer's last message; outside it only an approved template may be sent.
        seen = f"last wrote {_ago(now - last)} ago" if last else "has never written to us"
        reason = (f"The customer {seen}, outside {escape(name)}'s {_ago(window)} window, so "
                  "free text cannot be sent.")
        template = self._surveys.slack.reply_templates.get(name)
        if template is None:
            return ReplyForm(alert_id, "unavailable", name, reason=(
                f"{reason} No reply template is configured for {escape(name)} "
                "(slack.reply_templates in surveys.toml)."))
        return ReplyForm(alert_id, "template", name, reason=reason,
                         template_preview=template.preview)

    async def send_reply(self, alert_id: str, user_id: str, *, mode: str, text: str | None,
                         now: datetime | None = None) -> ReplyOutcome:
        """Queue the reply in the outbox with its audit entry and thread message, or say why
        not. The caller delivers it with ``deliver_reply`` after acknowledging Slack."""
        now = now or utcnow()
        body = (text or "").strip()
        async with self._sessions() as session, session.begin():
            alert = await session.get(Alert, alert_id)
            respondent = await _respondent_of(session, alert_id)
            if alert is None or respondent is None:
                return ReplyOutcome(alert_id, form=ReplyForm(alert_id, "unavailable", "",
                                    reason="This alert no longer exists."))
            form = self._form_for(alert_id, respondent, now)
            problem = _reply_problem(form, mode, body)
            if problem is not None:
                return problem
            row = self._queue(session, respondent, form, body, now)
            await session.flush()
            _record_reply(session, alert, user_id, row, form, body, now)
        logger.info("queued reply outbox %s for alert %s by Slack user %s",
                    row.id, alert_id, user_id)
        return ReplyOutcome(alert_id, outbox_id=row.id)

    def _queue(self, session: AsyncSession, respondent: Respondent, form: ReplyForm, body: str,
               now: datetime) -> Outbox:
        template = self._surveys.slack.reply_templates.get(form.channel) \
            if form.mode == "template" else None
        row = Outbox(
            respondent_id=respondent.id, channel=respondent.channel, address=respondent.address,
            message_key="slack.reply", text=template.preview if template else body,
            locale=respondent.locale or "en", created_at=now,
            template_sid=template.id if template else None,
            template_variables=dict(template.variables) if template else {},
        )
        session.add(row)
        return row

    async def deliver_reply(self, outcome: ReplyOutcome) -> None:
        """Send the queued reply, post its thread message, and redraw the alert."""
        if outcome.outbox_id is None:
            return
        await self._outbox.deliver([outcome.outbox_id])
        await self._alerts.threads.deliver(now=utcnow())
        await self._alerts.refresh(outcome.alert_id)


def _reply_problem(form: ReplyForm, mode: str, body: str) -> ReplyOutcome | None:
    if form.mode != mode:
        # The window closed (or the customer opted out) while the dialog was open.
        if mode == "text":
            return ReplyOutcome(form.alert_id, errors={REPLY_BLOCK: (
                "This can no longer be sent as free text. Close this dialog and press "
                "Reply to customer again.")})
        return ReplyOutcome(form.alert_id, form=form)
    if mode == "text" and not body:
        return ReplyOutcome(form.alert_id, errors={REPLY_BLOCK: "Write a message first."})
    if len(body) > REPLY_MAX_LENGTH:
        return ReplyOutcome(form.alert_id, errors={REPLY_BLOCK: (
            f"The message has {len(body)} characters; the maximum is {REPLY_MAX_LENGTH}.")})
    return None


def _record_reply(session: AsyncSession, alert: Alert, user_id: str, row: Outbox,
                  form: ReplyForm, body: str, now: datetime) -> None:
    detail: dict[str, Any] = {"outbox_id": row.id, "channel": form.channel,
                              "template": row.template_sid, "characters": len(row.text)}
    session.add(AuditLog(actor=f"slack:{user_id}", action="alert.reply", record_type="alert",
                         record_id=alert.id, detail=detail, created_at=now))
    alert.replies = [*alert.replies, {"by": user_id, "at": now.isoformat(), **detail}]
    alert.last_reply_at = now
    # The mention and the lead-in take far less than the 300 characters left over.
    shown = quote(row.text if row.template_sid else body, limit=TEXT_LIMIT - 300)
    if row.template_sid:
        what = f"sent the approved template on {escape(form.channel)}:\n{shown}"
    else:
        what = f"replied on {escape(form.channel)}:\n{shown}"
    queue_thread_post(session, alert_id=alert.id, kind="reply", now=now,
                      text=f"{mention(user_id)} {what}")


async def _respondent_of(session: AsyncSession, alert_id: str) -> Respondent | None:
    alert = await session.get(Alert, alert_id)
    response = await session.get(Response, alert.response_id) if alert else None
    return await session.get(Respondent, response.respondent_id) if response else None


def _ago(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    if hours < 1:
        return _plural(max(int(hours * 60), 1), "minute")
    if hours < 48:
        return _plural(round(hours), "hour")
    return _plural(round(hours / 24), "day")


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"
