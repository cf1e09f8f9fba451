"""pages: short booking codes

Revision ID: 0007_pages
Revises: 0012_programs
Create Date: 2026-11-29 21:55:00

"""
import secrets

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0007_pages'
down_revision = '0012_programs'
branch_labels = None
depends_on = None

# The alphabet of app.checkin.short_codes, copied: a migration must not change when the app does.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def _new_code(used: set[str]) -> str:
    while True:
        code = "".join(secrets.choice(ALPHABET) for _ in range(8))
        if code not in used:
            used.add(code)
            return code


def upgrade():
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('short_code', sa.String(length=8), nullable=True))
    # Bookings made before this revision get a code too: every QR code shown from now on
    # prints one.
    bind = op.get_bind()
    used: set[str] = set()
    for (booking_id,) in bind.execute(sa.text("SELECT id FROM bookings ORDER BY id")).all():
        bind.execute(sa.text("UPDATE bookings SET short_code = :code WHERE id = :id"),
                     {"code": _new_code(used), "id": booking_id})
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f('uq_bookings_short_code'), ['short_code'])


def downgrade():
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_bookings_short_code'), type_='unique')
        batch_op.drop_column('short_code')
