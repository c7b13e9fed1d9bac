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


def _now_column(*, index: bool = False) -> Any:
    """A required timestamp that defaults to the time the row is built."""
    column = Column(UTCDateTime(), nullable=False, index=index)
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
    status: str = Field(default="pending", max_length=16)
    attempts: int = Field(default=0)
    last_error: str | None = Field(default=None)
    provider_message_id: str | None = Field(default=None, max_length=128)
    created_at: datetime = _now_column()
    sent_at: datetime | None = _optional_time()


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


class AuditLog(SQLModel, table=True):
    """Who did what to which record: consent, export, erase, reply, config change."""

    __tablename__ = "audit_log"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    actor: str = Field(max_length=128)
    action: str = Field(max_length=64)
    record_type: str = Field(max_length=64)
    record_id: str = Field(max_length=64)
    detail: dict[str, Any] = _json_column(dict)
    created_at: datetime = _now_column(index=True)
