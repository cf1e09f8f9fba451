"""bookings record the list version they were priced on

Revision ID: 0016_list_terms
Revises: 0013_accounts
Create Date: 2026-11-30 01:10:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0016_list_terms'
down_revision = '0013_accounts'
branch_labels = None
depends_on = None


def upgrade():
    # Existing bookings stay null: which version priced them was never recorded, and their
    # rules are read from the resource row as before.
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('list_version', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_column('list_version')
