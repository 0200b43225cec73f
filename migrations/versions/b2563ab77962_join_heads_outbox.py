"""join heads: outbox

Revision ID: b2563ab77962
Revises: 4d8491612c26, 6aea8a2f75c7
Create Date: 2026-11-29 19:41:41.910775

"""
from alembic import op
import sqlalchemy as sa

import forum.models.base


# revision identifiers, used by Alembic.
revision = 'b2563ab77962'
down_revision = ('4d8491612c26', '6aea8a2f75c7')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
