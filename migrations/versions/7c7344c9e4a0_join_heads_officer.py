"""join heads: officer

Revision ID: 7c7344c9e4a0
Revises: 7eb9c159957e, c01aee9b67fa
Create Date: 2026-11-29 19:45:04.920865

"""
from alembic import op
import sqlalchemy as sa

import forum.models.base


# revision identifiers, used by Alembic.
revision = '7c7344c9e4a0'
down_revision = ('7eb9c159957e', 'c01aee9b67fa')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
