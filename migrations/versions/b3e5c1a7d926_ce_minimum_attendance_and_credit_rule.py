"""CE credit follows attendance: a minimum per session (share or minutes, per event and per
session) and the credit rule (full hours when met, or minutes rounded to quarter hours)

Existing events get the default minimum (75 % of each session) and full-hours credit.

Revision ID: b3e5c1a7d926
Revises: 1a43bc595a1f
Create Date: 2026-12-07 12:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b3e5c1a7d926'
down_revision = '1a43bc595a1f'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('ce_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('min_share', sa.Integer(), nullable=True, server_default='75'))
        batch_op.add_column(sa.Column('min_minutes', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('credit', sa.String(length=8), nullable=False, server_default='full'))
    with op.batch_alter_table('session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ce_min_share', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('ce_min_minutes', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('session', schema=None) as batch_op:
        batch_op.drop_column('ce_min_minutes')
        batch_op.drop_column('ce_min_share')
    with op.batch_alter_table('ce_settings', schema=None) as batch_op:
        batch_op.drop_column('credit')
        batch_op.drop_column('min_minutes')
        batch_op.drop_column('min_share')
