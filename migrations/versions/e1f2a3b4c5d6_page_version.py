"""page_version: the counter public pages' cache and ETags are keyed by

Revision ID: e1f2a3b4c5d6
Revises: c5e7a9b12d34
Create Date: 2026-12-07 13:10:00

"""
import secrets
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = 'e1f2a3b4c5d6'
down_revision = 'c5e7a9b12d34'
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table(
        'page_version',
        sa.Column('key', sa.String(length=32), nullable=False),
        sa.Column('value', sa.BigInteger(), nullable=False),
        sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('key'),
    )
    # a random start: a restored backup or another site on the same Redis never meets old keys
    op.bulk_insert(table, [{'key': 'public', 'value': secrets.randbits(40), 'changed_at': datetime.now(UTC)}])


def downgrade():
    op.drop_table('page_version')
