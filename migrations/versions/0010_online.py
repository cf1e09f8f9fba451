"""online payment: at most one open order per booking and provider

Revision ID: 0010_online
Revises: 0009_payments
Create Date: 2026-11-29 22:00:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0010_online'
down_revision = '0009_payments'
branch_labels = None
depends_on = None

OPEN = sa.text("status = 'created'")


def upgrade():
    with op.batch_alter_table('online_orders', schema=None) as batch_op:
        batch_op.create_index('uq_online_orders_open', ['booking_id', 'provider'], unique=True,
                              sqlite_where=OPEN, postgresql_where=OPEN)


def downgrade():
    with op.batch_alter_table('online_orders', schema=None) as batch_op:
        batch_op.drop_index('uq_online_orders_open')
