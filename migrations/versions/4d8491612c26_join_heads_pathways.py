"""join heads: pathways

Revision ID: 4d8491612c26
Revises: 05719412faa0, 1e32d702f8b2
Create Date: 2026-11-29 19:32:28.482729

"""
from alembic import op
import sqlalchemy as sa

import forum.models.base


# revision identifiers, used by Alembic.
revision = '4d8491612c26'
down_revision = ('05719412faa0', '1e32d702f8b2')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
