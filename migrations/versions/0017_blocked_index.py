"""bookings: an index on (resource_id, blocked_until) for the look at a slot's neighbours

Revision ID: 0017_blocked_index
Revises: 0015_desk
Create Date: 2026-11-30 03:50:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0017_blocked_index'
down_revision = '0015_desk'
branch_labels = None
depends_on = None


def upgrade():
    # A booking's neighbours are those with start_at < end and blocked_until > start. Bounded on
    # start_at alone, the look reads every past booking of the room; bounded on blocked_until it
    # reads only the room's bookings that end after the slot starts.
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.create_index('ix_bookings_resource_blocked', ['resource_id', 'blocked_until'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_index('ix_bookings_resource_blocked')
