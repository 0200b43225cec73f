"""join heads: officer

Revision ID: c758e27f4375
Revises: 10493e306ac2, 53dca8280c49
Create Date: 2026-11-29 19:29:51.198830

"""
from alembic import op
import sqlalchemy as sa

import forum.models.base


# revision identifiers, used by Alembic.
revision = 'c758e27f4375'
down_revision = ('10493e306ac2', '53dca8280c49')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
