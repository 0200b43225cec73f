"""object roles: an officer's role on a pathway (or any registered kind of object)

Revision ID: b7d1e4a2c9f0
Revises: f3a8c1d05e72
Create Date: 2026-12-07 15:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7d1e4a2c9f0'
down_revision = 'f3a8c1d05e72'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'object_role',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('officer_id', sa.Integer(), nullable=False),
        sa.Column('object_type', sa.String(length=30), nullable=False),
        sa.Column('object_id', sa.Integer(), nullable=False),
        sa.Column('role', sa.String(length=20), nullable=False),
        sa.Column('granted_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['granted_by_id'], ['officer.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['officer_id'], ['officer.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('officer_id', 'object_type', 'object_id', name='uq_object_role_officer_object'),
    )
    with op.batch_alter_table('object_role', schema=None) as batch_op:
        batch_op.create_index('ix_object_role_object', ['object_type', 'object_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_object_role_officer_id'), ['officer_id'], unique=False)


def downgrade():
    op.drop_table('object_role')
