"""programs as data: resource photos

Revision ID: 0012_programs
Revises: 0008_ops
Create Date: 2026-11-29 22:40:00

"""
from alembic import op
import sqlalchemy as sa
import app.core.db


# revision identifiers, used by Alembic.
revision = '0012_programs'
down_revision = '0008_ops'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'resource_photos',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('resource_id', sa.Integer(), nullable=False),
        sa.Column('file_name', sa.String(length=64), nullable=False),
        sa.Column('thumb_name', sa.String(length=64), nullable=False),
        sa.Column('width', sa.Integer(), nullable=False),
        sa.Column('height', sa.Integer(), nullable=False),
        sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
        sa.Column('uploaded_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['resource_id'], ['resources.id'],
                                name=op.f('fk_resource_photos_resource_id_resources'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'],
                                name=op.f('fk_resource_photos_uploaded_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_resource_photos')),
        sa.UniqueConstraint('file_name', name=op.f('uq_resource_photos_file_name')),
        sa.UniqueConstraint('thumb_name', name=op.f('uq_resource_photos_thumb_name')),
    )
    with op.batch_alter_table('resource_photos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_resource_photos_resource_id'), ['resource_id'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('resource_photos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_resource_photos_resource_id'))
    op.drop_table('resource_photos')
