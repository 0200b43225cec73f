"""officer TOTP second factor: secret, when it was turned on, last step used, recovery hashes

Revision ID: c2e8f1a7b3d4
Revises: b7d1e4a2c9f0
Create Date: 2026-12-07 15:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c2e8f1a7b3d4'
down_revision = 'b7d1e4a2c9f0'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('officer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_secret', sa.String(length=64), server_default='', nullable=False))
        batch_op.add_column(sa.Column('totp_enabled_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('totp_last_step', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('totp_recovery', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('officer', schema=None) as batch_op:
        batch_op.drop_column('totp_recovery')
        batch_op.drop_column('totp_last_step')
        batch_op.drop_column('totp_enabled_at')
        batch_op.drop_column('totp_secret')
