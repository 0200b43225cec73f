"""officer roles: site administrator, per-event roles, read-only API tokens

Every officer that exists today could do everything, so each becomes a site administrator
(nothing they could do before is taken away); officers invited from now on hold only the
roles granted to them per event.

Revision ID: a3c5e7f90b12
Revises: 3f5a1c2b9d70
Create Date: 2026-12-07 12:10:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'a3c5e7f90b12'
down_revision = '3f5a1c2b9d70'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('officer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_admin', sa.Boolean(), server_default='0', nullable=False))
    op.execute(sa.text("UPDATE officer SET is_admin = :yes").bindparams(yes=True))
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('read_only', sa.Boolean(), server_default='0', nullable=False))
    op.create_table(
        'event_role',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('officer_id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('role', sa.String(length=20), nullable=False),
        sa.Column('granted_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['event_id'], ['event.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['granted_by_id'], ['officer.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['officer_id'], ['officer.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('officer_id', 'event_id', name='uq_event_role_officer_event'),
    )
    with op.batch_alter_table('event_role', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_role_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_event_role_officer_id'), ['officer_id'], unique=False)


def downgrade():
    op.drop_table('event_role')
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_column('read_only')
    with op.batch_alter_table('officer', schema=None) as batch_op:
        batch_op.drop_column('is_admin')
