"""The durable records: who was asked, what they agreed to, what they answered, what we sent.

Segment fields are copied onto every ``Response`` at answer time, so a report of last quarter
does not change when a customer later moves from SMB to enterprise.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, new_id, utcnow

# The segment copied onto each response, which reports group and filter on.
_SEGMENT_COLUMNS = ("region", "country", "language", "customer_type", "buyer_type",
                    "security_maturity", "channel", "survey_id", "touchpoint")


def _now_column(*, index: bool = False) -> Any:
    """Build a required timestamp column that defaults to the time the row is built."""
    column: Column[Any] = Column(UTCDateTime(), nullable=False, index=index)
    return Field(default_factory=utcnow, sa_column=column)


def _optional_time() -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


def _json_column(factory: type[dict[str, Any]] | type[list[Any]]) -> Any:
    return Field(default_factory=factory, sa_column=Column(JSON, nullable=False))


class Respondent(SQLModel, table=True):
    """A person on one channel. ``address`` and ``display_name`` are personal data."""

    __tablename__ = "respondent"
    __table_args__ = (UniqueConstraint("channel", "address", name="uq_respondent_channel_address"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    channel: str = Field(max_length=32)
    address: str = Field(max_length=255)
    display_name: str | None = Field(default=None, max_length=255)
    locale: str | None = Field(default=None, max_length=16)
    locale_source: int = Field(default=0)
    country: str | None = Field(default=None, max_length=2)
    region: str | None = Field(default=None, max_length=32)
    timezone: str | None = Field(default=None, max_length=64)
    customer_type: str | None = Field(default=None, max_length=32)
    buyer_type: str | None = Field(default=None, max_length=32)
    security_maturity: str | None = Field(default=None, max_length=32)
    attributes: dict[str, Any] = _json_column(dict)
    opted_out_at: datetime | None = _optional_time()
    unreachable_at: datetime | None = _optional_time()
    # The respondent's latest message; only inbound messages open WhatsApp's 24-hour window.
    last_inbound_at: datetime | None = _optional_time()
    created_at: datetime = _now_column()


class Consent(SQLModel, table=True):
    """One consent decision, with the exact text shown and the policy version it refers to."""

    __tablename__ = "consent"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    respondent_id: str = Field(foreign_key="respondent.id", index=True, max_length=32)
    purpose: str = Field(default="nps_survey", max_length=64)
    jurisdiction: str = Field(max_length=32)
    policy_version: str = Field(max_length=64)
    granted: bool
    text_shown: str
    locale: str = Field(max_length=16)
    catalog_version: str = Field(max_length=64)
    channel: str = Field(max_length=32)
    provider_message_id: str | None = Field(default=None, max_length=128)
    created_at: datetime = _now_column()
    withdrawn_at: datetime | None = _optional_time()


class Invitation(SQLModel, table=True):
    """A request to survey one respondent, created by an event trigger, a campaign or by hand."""

    __tablename__ = "invitation"
    # Lets PostgreSQL count a period's invitations for response rates with index-only scans.
    __table_args__ = (Index("ix_invitation_due_at_rates", "due_at",
                            postgresql_include=["status", "respondent_id", "survey_id",
                                                "touchpoint"]),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    survey_id: str = Field(max_length=64, index=True)
    respondent_id: str = Field(foreign_key="respondent.id", index=True, max_length=32)
    trigger_kind: str = Field(default="manual", max_length=64)
    idempotency_key: str | None = Field(default=None, max_length=255, unique=True)
    touchpoint: str | None = Field(default=None, max_length=64)
    due_at: datetime = _now_column(index=True)
    status: str = Field(default="scheduled", max_length=16, index=True)
    suppressed_reason: str | None = Field(default=None, max_length=255)
    attempts: int = Field(default=0)
    last_error: str | None = Field(default=None)
    provider_message_id: str | None = Field(default=None, max_length=128, index=True)
    created_at: datetime = _now_column()
    updated_at: datetime = _now_column()


class Conversation(SQLModel, table=True):
    """The durable copy of a conversation's state; Redis caches ``state`` by ``version``."""

    __tablename__ = "conversation"
    __table_args__ = (Index("ix_conversation_open_deadline", "step", "deadline"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    respondent_id: str = Field(foreign_key="respondent.id", index=True, max_length=32)
    invitation_id: str | None = Field(default=None, foreign_key="invitation.id", max_length=32)
    survey_id: str = Field(max_length=64)
    step: str = Field(max_length=16)
    locale: str = Field(max_length=16)
    outcome: str | None = Field(default=None, max_length=16)
    state: dict[str, Any] = _json_column(dict)
    deadline: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    version: int = Field(default=0)
    created_at: datetime = _now_column()
    updated_at: datetime = _now_column()


class Response(SQLModel, table=True):
    """One answer to one survey, with a copy of the respondent's segment at answer time."""

    __tablename__ = "response"
    __table_args__ = (
        Index("ix_response_survey_created", "survey_id", "created_at"),
        Index("ix_response_region_created", "region", "created_at"),
        # /nps and the weekly summary filter every query on a period first. On PostgreSQL
        # the index also carries every column they group or filter on, so the partial days
        # at a period's ends can be counted with index-only scans.
        Index("ix_response_created_at", "created_at",
              postgresql_include=["scale", "category", *_SEGMENT_COLUMNS]),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    conversation_id: str = Field(foreign_key="conversation.id", unique=True, max_length=32)
    invitation_id: str | None = Field(default=None, foreign_key="invitation.id", max_length=32)
    respondent_id: str = Field(foreign_key="respondent.id", index=True, max_length=32)
    survey_id: str = Field(max_length=64)
    scale: str = Field(max_length=8)
    score: int
    category: str = Field(max_length=16, index=True)
    raw_text: str = Field(default="")
    comment: str | None = Field(default=None)
    comment_language: str | None = Field(default=None, max_length=16)
    effort_score: int | None = Field(default=None)
    locale: str = Field(max_length=16)
    channel: str = Field(max_length=32)
    touchpoint: str | None = Field(default=None, max_length=64)
    region: str | None = Field(default=None, max_length=32)
    country: str | None = Field(default=None, max_length=2)
    language: str | None = Field(default=None, max_length=16)
    customer_type: str | None = Field(default=None, max_length=32)
    buyer_type: str | None = Field(default=None, max_length=32)
    security_maturity: str | None = Field(default=None, max_length=32)
    attributes: dict[str, Any] = _json_column(dict)
    created_at: datetime = _now_column()
    updated_at: datetime = _now_column()


class InboundMessage(SQLModel, table=True):
    """A provider message that has been processed; the unique key stops a second recording."""

    __tablename__ = "inbound_message"
    __table_args__ = (
        UniqueConstraint("channel", "provider_message_id", name="uq_inbound_channel_message"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    channel: str = Field(max_length=32)
    provider_message_id: str = Field(max_length=128)
    respondent_id: str = Field(foreign_key="respondent.id", max_length=32)
    received_at: datetime = _now_column()


class Outbox(SQLModel, table=True):
    """A message to send, committed with the answer it follows so a crash cannot lose it."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_created", "status", "created_at"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    conversation_id: str | None = Field(default=None, foreign_key="conversation.id", max_length=32)
    respondent_id: str = Field(foreign_key="respondent.id", index=True, max_length=32)
    channel: str = Field(max_length=32)
    address: str = Field(max_length=255)
    message_key: str = Field(default="", max_length=64)
    # Order among the rows one step queued, which share ``created_at``.
    ordinal: int = Field(default=0)
    text: str = Field(default="")
    locale: str = Field(default="en", max_length=16)
    buttons: list[dict[str, str]] = _json_column(list)
    template_sid: str | None = Field(default=None, max_length=64)
    template_variables: dict[str, str] = _json_column(dict)
    # The invitation whose conversation queued this message; its first send opens it.
    invitation_id: str | None = Field(default=None, foreign_key="invitation.id", max_length=32)
    status: str = Field(default="pending", max_length=16)
    attempts: int = Field(default=0)
    last_error: str | None = Field(default=None)
    # Not before this time: set from a platform's retry-after when it rate-limits us.
    next_attempt_at: datetime | None = _optional_time()
    # Status callbacks find the row by the id the platform gave the message.
    provider_message_id: str | None = Field(default=None, max_length=128, index=True)
    created_at: datetime = _now_column()
    sent_at: datetime | None = _optional_time()


class DeliveryEvent(SQLModel, table=True):
    """One status report on a sent message; the unique key drops repeats of the same report.

    Twilio reports sent, delivered, read and failed under one message id, so a report is a
    repeat only when both the id and the status match.
    """

    __tablename__ = "delivery_event"
    __table_args__ = (
        UniqueConstraint("channel", "provider_message_id", "status",
                         name="uq_delivery_event_message_status"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    channel: str = Field(max_length=32)
    provider_message_id: str = Field(max_length=128)
    # The platform's own word (``undelivered``) and its meaning here (``failed``).
    status: str = Field(max_length=32)
    state: str = Field(max_length=16)
    error_code: str | None = Field(default=None, max_length=16)
    received_at: datetime = _now_column()


class Alert(SQLModel, table=True):
    """A detractor alert in Slack; one per response, whatever retries happen."""

    __tablename__ = "alert"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    response_id: str = Field(foreign_key="response.id", unique=True, max_length=32)
    slack_channel: str | None = Field(default=None, max_length=64)
    slack_ts: str | None = Field(default=None, max_length=32)
    status: str = Field(default="open", max_length=16, index=True)
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_at: datetime | None = _optional_time()
    resolved_by: str | None = Field(default=None, max_length=64)
    resolved_at: datetime | None = _optional_time()
    posted_at: datetime | None = _optional_time()
    reminded_at: datetime | None = _optional_time()
    replies: list[dict[str, Any]] = _json_column(list)
    created_at: datetime = _now_column()
    # Set just before chat.postMessage is sent and kept until the post is recorded. A later
    # attempt that finds it set must look the message up in Slack before posting again.
    post_started_at: datetime | None = _optional_time()
    # Until this time one poster owns the alert; another may take over only after it.
    post_lease_until: datetime | None = _optional_time()
    post_attempts: int = Field(default=0)
    post_error: str | None = Field(default=None)
    # The latest reply sent to the customer; their next message is threaded under the alert.
    last_reply_at: datetime | None = _optional_time()


class AlertThreadPost(SQLModel, table=True):
    """A message for an alert's Slack thread (reminder, reply, customer's answer), kept until
    it is posted so that a crash or a Slack outage does not lose it."""

    __tablename__ = "alert_thread_post"
    __table_args__ = (Index("ix_alert_thread_post_status_created", "status", "created_at"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    alert_id: str = Field(foreign_key="alert.id", index=True, max_length=32)
    kind: str = Field(max_length=32)
    text: str
    status: str = Field(default="pending", max_length=16)
    attempts: int = Field(default=0)
    last_error: str | None = Field(default=None)
    slack_ts: str | None = Field(default=None, max_length=32)
    next_attempt_at: datetime | None = _optional_time()
    created_at: datetime = _now_column()
    posted_at: datetime | None = _optional_time()


class SlackSummary(SQLModel, table=True):
    """One periodic Slack summary; the unique period makes a second post for it impossible."""

    __tablename__ = "slack_summary"
    __table_args__ = (UniqueConstraint("kind", "period_start", name="uq_slack_summary_period"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    kind: str = Field(default="weekly", max_length=16)
    period_start: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    period_end: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    channel: str = Field(max_length=64)
    status: str = Field(default="posting", max_length=16)
    slack_channel: str | None = Field(default=None, max_length=64)
    slack_ts: str | None = Field(default=None, max_length=32)
    # Messages posted so far (the first, then its thread replies), and whether the chart is.
    parts_posted: int = Field(default=0)
    chart_posted: bool = Field(default=False)
    post_started_at: datetime | None = _optional_time()
    lease_until: datetime | None = _optional_time()
    last_error: str | None = Field(default=None)
    created_at: datetime = _now_column()
    posted_at: datetime | None = _optional_time()


class AuditLog(SQLModel, table=True):
    """A record of one action on one record: consent, export, erase, reply, config change."""

    __tablename__ = "audit_log"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    actor: str = Field(max_length=128)
    action: str = Field(max_length=64)
    record_type: str = Field(max_length=64)
    record_id: str = Field(max_length=64)
    detail: dict[str, Any] = _json_column(dict)
    created_at: datetime = _now_column(index=True)


class ResponseRollup(SQLModel):
    """Responses per UTC period of ``created_at``, scale and segment, counted per category.
    Missing segment values are ``''``."""

    period_start: datetime = Field(primary_key=True, sa_type=UTCDateTime)
    survey_id: str = Field(primary_key=True, max_length=64)
    scale: str = Field(primary_key=True, max_length=8)
    region: str = Field(primary_key=True, max_length=32)
    country: str = Field(primary_key=True, max_length=2)
    language: str = Field(primary_key=True, max_length=16)
    customer_type: str = Field(primary_key=True, max_length=32)
    buyer_type: str = Field(primary_key=True, max_length=32)
    security_maturity: str = Field(primary_key=True, max_length=32)
    channel: str = Field(primary_key=True, max_length=32)
    touchpoint: str = Field(primary_key=True, max_length=64)
    n: int = Field(default=0)
    promoters: int = Field(default=0)
    passives: int = Field(default=0)
    detractors: int = Field(default=0)


class ResponseDaily(ResponseRollup, table=True):
    """Responses per UTC day; kept by a trigger on PostgreSQL (see ``storage.rollups``)."""

    __tablename__ = "response_daily"


class ResponseMonthly(ResponseRollup, table=True):
    """Responses per UTC calendar month; kept by a trigger on PostgreSQL (see
    ``storage.rollups``)."""

    __tablename__ = "response_monthly"


class InvitationRollup(SQLModel):
    """Invitations per UTC period of ``due_at``, status and the respondent's current segment.
    Missing values are ``''``."""

    period_start: datetime = Field(primary_key=True, sa_type=UTCDateTime)
    survey_id: str = Field(primary_key=True, max_length=64)
    touchpoint: str = Field(primary_key=True, max_length=64)
    status: str = Field(primary_key=True, max_length=16)
    region: str = Field(primary_key=True, max_length=32)
    country: str = Field(primary_key=True, max_length=2)
    locale: str = Field(primary_key=True, max_length=16)
    customer_type: str = Field(primary_key=True, max_length=32)
    buyer_type: str = Field(primary_key=True, max_length=32)
    security_maturity: str = Field(primary_key=True, max_length=32)
    channel: str = Field(primary_key=True, max_length=32)
    n: int = Field(default=0)


class InvitationDaily(InvitationRollup, table=True):
    """Invitations per UTC day; kept by triggers on PostgreSQL (see ``storage.rollups``)."""

    __tablename__ = "invitation_daily"


class InvitationMonthly(InvitationRollup, table=True):
    """Invitations per UTC calendar month; kept by triggers on PostgreSQL (see
    ``storage.rollups``)."""

    __tablename__ = "invitation_monthly"
