"""certificate wording per event: CE provider name and number, signatory

Revision ID: f3c9a1d2e4b7
Revises: f2a7c9d1e3b5
Create Date: 2026-12-07 15:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f3c9a1d2e4b7'
down_revision = 'f2a7c9d1e3b5'
branch_labels = None
depends_on = None

COLUMNS = (("provider_name", 200), ("provider_number", 100), ("signatory_name", 200), ("signatory_title", 200))


def upgrade():
    with op.batch_alter_table('ce_settings', schema=None) as batch_op:
        for name, length in COLUMNS:
            batch_op.add_column(sa.Column(name, sa.String(length=length), server_default='', nullable=False))


def downgrade():
    with op.batch_alter_table('ce_settings', schema=None) as batch_op:
        for name, _ in reversed(COLUMNS):
            batch_op.drop_column(name)
