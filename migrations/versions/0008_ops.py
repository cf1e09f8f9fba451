"""operations: scheduler heartbeats; privacy: consents and erasures

Revision ID: 0008_ops
Revises: 0011_policy
Create Date: 2026-11-29 21:40:00

"""
from alembic import op
import sqlalchemy as sa
import app.core.db


revision = '0008_ops'
down_revision = '0011_policy'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('scheduler_heartbeats',
    sa.Column('job', sa.String(length=40), nullable=False),
    sa.Column('last_run_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('result', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('job', name=op.f('pk_scheduler_heartbeats'))
    )
    op.create_table('privacy_consents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('notice_version', sa.String(length=20), nullable=False),
    sa.Column('accepted_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_privacy_consents_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_consents'))
    )
    with op.batch_alter_table('privacy_consents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_privacy_consents_user_id'), ['user_id'], unique=False)
    op.create_table('privacy_erasures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('pseudonym', sa.String(length=20), nullable=False),
    sa.Column('erased_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('retain_until', sa.Date(), nullable=False),
    sa.Column('identity_digest', sa.String(length=64), nullable=True),
    sa.Column('purged_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_privacy_erasures_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_erasures')),
    sa.UniqueConstraint('pseudonym', name=op.f('uq_privacy_erasures_pseudonym')),
    sa.UniqueConstraint('user_id', name=op.f('uq_privacy_erasures_user_id'))
    )


def downgrade():
    op.drop_table('privacy_erasures')
    with op.batch_alter_table('privacy_consents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_privacy_consents_user_id'))
    op.drop_table('privacy_consents')
    op.drop_table('scheduler_heartbeats')
