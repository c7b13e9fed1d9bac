"""slack triage: alert threads, reminders, weekly summaries and rollups for /nps

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types
from storage import rollups

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('slack_summary',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('period_start', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('period_end', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('slack_channel', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('slack_ts', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('parts_posted', sa.Integer(), nullable=False),
    sa.Column('chart_posted', sa.Boolean(), nullable=False),
    sa.Column('post_started_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('lease_until', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('posted_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('kind', 'period_start', name='uq_slack_summary_period')
    )
    op.create_table('alert_thread_post',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('alert_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('slack_ts', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('next_attempt_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('posted_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['alert_id'], ['alert.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('alert_thread_post', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_thread_post_alert_id'), ['alert_id'], unique=False)
        batch_op.create_index('ix_alert_thread_post_status_created', ['status', 'created_at'], unique=False)

    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.add_column(sa.Column('post_started_at', storage.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('post_lease_until', storage.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('post_attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('post_error', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column('last_reply_at', storage.types.UTCDateTime(timezone=True), nullable=True))

    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.create_index('ix_response_created_at', ['created_at'], unique=False,
                              postgresql_include=['scale', 'category', 'region', 'country',
                                                  'language', 'customer_type', 'buyer_type',
                                                  'security_maturity', 'channel', 'survey_id',
                                                  'touchpoint'])

    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.create_index('ix_invitation_due_at_rates', ['due_at'], unique=False,
                              postgresql_include=['status', 'respondent_id', 'survey_id',
                                                  'touchpoint'])

    op.create_table('invitation_daily',
    sa.Column('period_start', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('survey_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('touchpoint', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('region', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('country', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
    sa.Column('locale', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('customer_type', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('buyer_type', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('security_maturity', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('period_start', 'survey_id', 'touchpoint', 'status', 'region', 'country', 'locale', 'customer_type', 'buyer_type', 'security_maturity', 'channel')
    )
    op.create_table('invitation_monthly',
    sa.Column('period_start', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('survey_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('touchpoint', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('region', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('country', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
    sa.Column('locale', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('customer_type', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('buyer_type', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('security_maturity', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('period_start', 'survey_id', 'touchpoint', 'status', 'region', 'country', 'locale', 'customer_type', 'buyer_type', 'security_maturity', 'channel')
    )
    op.create_table('response_daily',
    sa.Column('period_start', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('survey_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('scale', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('region', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('country', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('customer_type', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('buyer_type', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('security_maturity', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('touchpoint', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.Column('promoters', sa.Integer(), nullable=False),
    sa.Column('passives', sa.Integer(), nullable=False),
    sa.Column('detractors', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('period_start', 'survey_id', 'scale', 'region', 'country', 'language', 'customer_type', 'buyer_type', 'security_maturity', 'channel', 'touchpoint')
    )
    op.create_table('response_monthly',
    sa.Column('period_start', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('survey_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('scale', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('region', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('country', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('customer_type', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('buyer_type', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('security_maturity', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('touchpoint', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.Column('promoters', sa.Integer(), nullable=False),
    sa.Column('passives', sa.Integer(), nullable=False),
    sa.Column('detractors', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('period_start', 'survey_id', 'scale', 'region', 'country', 'language', 'customer_type', 'buyer_type', 'security_maturity', 'channel', 'touchpoint')
    )
    # The rollups' triggers and first counts (see storage.rollups); SQLite reads base rows.
    if op.get_bind().dialect.name == "postgresql":
        for statement in (*rollups.INSTALL, *rollups.REBUILD):
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in rollups.UNINSTALL:
            op.execute(statement)
    op.drop_table('response_monthly')
    op.drop_table('response_daily')
    op.drop_table('invitation_monthly')
    op.drop_table('invitation_daily')
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.drop_index('ix_invitation_due_at_rates')

    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.drop_index('ix_response_created_at')

    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_column('last_reply_at')
        batch_op.drop_column('post_error')
        batch_op.drop_column('post_attempts')
        batch_op.drop_column('post_lease_until')
        batch_op.drop_column('post_started_at')

    with op.batch_alter_table('alert_thread_post', schema=None) as batch_op:
        batch_op.drop_index('ix_alert_thread_post_status_created')
        batch_op.drop_index(batch_op.f('ix_alert_thread_post_alert_id'))

    op.drop_table('alert_thread_post')
    op.drop_table('slack_summary')
