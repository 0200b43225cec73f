"""join heads: inbound

Revision ID: c01aee9b67fa
Revises: 40afda2a4d40, b2563ab77962
Create Date: 2026-11-29 19:42:58.461187

"""
from alembic import op
import sqlalchemy as sa

import forum.models.base


# revision identifiers, used by Alembic.
revision = 'c01aee9b67fa'
down_revision = ('40afda2a4d40', 'b2563ab77962')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
