"""join heads: officer

Revision ID: 039a71838fd4
Revises: 1f29f57380f1, 7c7344c9e4a0
Create Date: 2026-11-29 20:06:04.765271

"""
from alembic import op
import sqlalchemy as sa

import forum.models.base


# revision identifiers, used by Alembic.
revision = '039a71838fd4'
down_revision = ('1f29f57380f1', '7c7344c9e4a0')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
