"""join heads: harden

Revision ID: 5d0f3bc7c4fd
Revises: 039a71838fd4, 7c1d2e9f4a60
Create Date: 2026-11-29 20:08:44.914325

"""
from alembic import op
import sqlalchemy as sa

import forum.models.base


# revision identifiers, used by Alembic.
revision = '5d0f3bc7c4fd'
down_revision = ('039a71838fd4', '7c1d2e9f4a60')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
