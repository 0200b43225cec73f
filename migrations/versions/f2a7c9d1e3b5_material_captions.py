"""materials: captions (link or WebVTT), transcript, "send when captions are ready"

Revision ID: f2a7c9d1e3b5
Revises: d8b2e6f3a914
Create Date: 2026-12-07 15:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f2a7c9d1e3b5'
down_revision = 'd8b2e6f3a914'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('session_material', schema=None) as batch_op:
        batch_op.add_column(sa.Column('captions_url', sa.String(length=500), server_default='', nullable=False))
        batch_op.add_column(sa.Column('captions_vtt', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('transcript', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('hold_for_captions', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('session_material', schema=None) as batch_op:
        batch_op.drop_column('hold_for_captions')
        batch_op.drop_column('transcript')
        batch_op.drop_column('captions_vtt')
        batch_op.drop_column('captions_url')
