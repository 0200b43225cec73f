"""an ended event may offer "Register for the recordings"

Revision ID: a7d3e5f1c2b9
Revises: f3c9a1d2e4b7
Create Date: 2026-12-07 15:50:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7d3e5f1c2b9'
down_revision = 'f3c9a1d2e4b7'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recordings_signup', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_column('recordings_signup')
