"""digest choices per subscription (rhythm, style, hour, weekday) and thread choices (mute/follow)

Revision ID: f3a1c2d4e5b6
Revises: a89c127fed88
Create Date: 2026-12-07 15:10:00

"""
import sqlalchemy as sa
from alembic import op

from forum.models.base import TZDateTime

revision = 'f3a1c2d4e5b6'
down_revision = 'a89c127fed88'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('subscription') as batch:
        batch.add_column(sa.Column('digest_rhythm', sa.String(length=8), server_default='daily', nullable=False))
        batch.add_column(sa.Column('digest_style', sa.String(length=8), server_default='full', nullable=False))
        batch.add_column(sa.Column('digest_hour', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('digest_weekday', sa.Integer(), server_default='0', nullable=False))
    op.create_table(
        'thread_choice',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('subscription_id', sa.Integer(), nullable=False),
        sa.Column('thread_id', sa.Integer(), nullable=False),
        sa.Column('choice', sa.String(length=8), nullable=False),
        sa.Column('created_at', TZDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['subscription_id'], ['subscription.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['thread_id'], ['thread.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('subscription_id', 'thread_id'),
    )
    op.create_index(op.f('ix_thread_choice_thread_id'), 'thread_choice', ['thread_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_thread_choice_thread_id'), table_name='thread_choice')
    op.drop_table('thread_choice')
    with op.batch_alter_table('subscription') as batch:
        batch.drop_column('digest_weekday')
        batch.drop_column('digest_hour')
        batch.drop_column('digest_style')
        batch.drop_column('digest_rhythm')
