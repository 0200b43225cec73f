"""join heads: ce

Revision ID: 05719412faa0
Revises: 5144c502424a, c758e27f4375
Create Date: 2026-11-29 19:31:52.326722

"""
from alembic import op
import sqlalchemy as sa

import forum.models.base


# revision identifiers, used by Alembic.
revision = '05719412faa0'
down_revision = ('5144c502424a', 'c758e27f4375')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
