"""desk: scans sent by front-desk devices that worked offline, walk-in confirmation codes

Revision ID: 0015_desk
Revises: 0016_list_terms
Create Date: 2026-11-30 01:00:00

"""
import sqlalchemy as sa
from alembic import op

import app.core.db
from app.core.db import append_only_ddl, drop_append_only_ddl

# revision identifiers, used by Alembic.
revision = '0015_desk'
down_revision = '0016_list_terms'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'device_scans',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('device_id', sa.String(length=64), nullable=False),
        sa.Column('scan_id', sa.String(length=64), nullable=False),
        sa.Column('operator_id', sa.Integer(), nullable=False),
        sa.Column('scanned_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('received_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('raw_code', sa.String(length=600), nullable=False),
        sa.Column('result', sa.String(length=30), nullable=False),
        sa.Column('booking_id', sa.Integer(), nullable=True),
        sa.Column('scan_row_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['booking_id'], ['bookings.id'],
                                name=op.f('fk_device_scans_booking_id_bookings')),
        sa.ForeignKeyConstraint(['operator_id'], ['users.id'],
                                name=op.f('fk_device_scans_operator_id_users')),
        sa.ForeignKeyConstraint(['scan_row_id'], ['scans.id'],
                                name=op.f('fk_device_scans_scan_row_id_scans')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_device_scans')),
        sa.UniqueConstraint('device_id', 'scan_id', name=op.f('uq_device_scans_device_id_scan_id')),
    )
    with op.batch_alter_table('device_scans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_device_scans_booking_id'), ['booking_id'], unique=False)
    for statement in append_only_ddl('device_scans', op.get_bind().dialect.name):
        op.execute(statement)
    op.create_table(
        'desk_confirmations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('creator_id', sa.Integer(), nullable=False),
        sa.Column('operator_id', sa.Integer(), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('used_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('failed_attempts', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['creator_id'], ['users.id'],
                                name=op.f('fk_desk_confirmations_creator_id_users')),
        sa.ForeignKeyConstraint(['operator_id'], ['users.id'],
                                name=op.f('fk_desk_confirmations_operator_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_desk_confirmations')),
    )
    with op.batch_alter_table('desk_confirmations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_desk_confirmations_creator_id'), ['creator_id'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('desk_confirmations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_desk_confirmations_creator_id'))
    op.drop_table('desk_confirmations')
    for statement in drop_append_only_ddl('device_scans', op.get_bind().dialect.name):
        op.execute(statement)
    with op.batch_alter_table('device_scans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_device_scans_booking_id'))
    op.drop_table('device_scans')
