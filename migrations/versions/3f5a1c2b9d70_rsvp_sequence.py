"""rsvp.sequence: the SEQUENCE of the invite an answer replies to

Revision ID: 3f5a1c2b9d70
Revises: c4d8e2f1a907
Create Date: 2026-12-07 12:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3f5a1c2b9d70'
down_revision = 'c4d8e2f1a907'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('rsvp', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sequence', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('rsvp', schema=None) as batch_op:
        batch_op.drop_column('sequence')
