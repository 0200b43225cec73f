"""digest_since and digest_chosen_at per subscription: a change of rhythm repeats and skips no post

Revision ID: d1a9e7c3b5f2
Revises: 11ed4d73e2e3
Create Date: 2026-12-07 17:55:00

"""
import sqlalchemy as sa
from alembic import op

from forum.models.base import TZDateTime

revision = 'd1a9e7c3b5f2'
down_revision = '11ed4d73e2e3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('subscription') as batch:
        batch.add_column(sa.Column('digest_since', TZDateTime(), nullable=True))
        batch.add_column(sa.Column('digest_chosen_at', TZDateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('subscription') as batch:
        batch.drop_column('digest_chosen_at')
        batch.drop_column('digest_since')
