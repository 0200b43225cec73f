"""languages: a participant's and an officer's locale, an event's primary and second language

Revision ID: 11ed4d73e2e3
Revises: f3a8c1d2e4b5
Create Date: 2026-12-07 14:48:46.004539

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '11ed4d73e2e3'
down_revision = 'f3a8c1d2e4b5'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=8), server_default='en', nullable=False))
        batch_op.add_column(sa.Column('second_language', sa.String(length=8), server_default='', nullable=False))
        batch_op.add_column(sa.Column('second_title', sa.String(length=200), server_default='', nullable=False))
        batch_op.add_column(sa.Column('second_summary', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('second_outcomes', sa.Text(), server_default='', nullable=False))

    with op.batch_alter_table('officer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=16), nullable=True))

    with op.batch_alter_table('participant', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=16), nullable=True))


def downgrade():
    with op.batch_alter_table('participant', schema=None) as batch_op:
        batch_op.drop_column('language')

    with op.batch_alter_table('officer', schema=None) as batch_op:
        batch_op.drop_column('language')

    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_column('second_outcomes')
        batch_op.drop_column('second_summary')
        batch_op.drop_column('second_title')
        batch_op.drop_column('second_language')
        batch_op.drop_column('language')
