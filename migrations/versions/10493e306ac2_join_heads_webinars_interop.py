"""join heads: webinars + interop

Revision ID: 10493e306ac2
Revises: 7344979196da, bba1fd0c27ea
Create Date: 2026-11-29 19:27:50.705075

"""
from alembic import op
import sqlalchemy as sa

import forum.models.base


# revision identifiers, used by Alembic.
revision = '10493e306ac2'
down_revision = ('7344979196da', 'bba1fd0c27ea')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
