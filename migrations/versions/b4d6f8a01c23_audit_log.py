"""audit log: one row per officer action (who, what, which object, before -> after, when, from where)

Revision ID: b4d6f8a01c23
Revises: a3c5e7f90b12
Create Date: 2026-12-07 12:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'b4d6f8a01c23'
down_revision = 'a3c5e7f90b12'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'audit_entry',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('officer_id', sa.Integer(), nullable=True),
        sa.Column('actor', sa.String(length=400), nullable=False),
        sa.Column('via', sa.String(length=12), nullable=False),
        sa.Column('address', sa.String(length=64), nullable=False),
        sa.Column('action', sa.String(length=40), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=True),
        sa.Column('object_type', sa.String(length=20), nullable=False),
        sa.Column('object_id', sa.Integer(), nullable=True),
        sa.Column('summary', sa.Text(), nullable=False),
        sa.Column('changes', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['officer_id'], ['officer.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.create_index('ix_audit_entry_event_at', ['event_id', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entry_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entry_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entry_officer_id'), ['officer_id'], unique=False)


def downgrade():
    op.drop_table('audit_entry')
