"""topics: an officer-managed list events and pathways are filed under (the
organisation-wide calendar's filter and per-topic feeds)

Revision ID: f3a8c1d2e4b5
Revises: b4d6f8a0c2e1
Create Date: 2026-12-07 14:50:00

"""
import sqlalchemy as sa
from alembic import op

from forum.models.base import TZDateTime

revision = 'f3a8c1d2e4b5'
down_revision = 'b4d6f8a0c2e1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'topic',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('slug', sa.String(length=80), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('created_at', TZDateTime(), nullable=False),
        sa.Column('updated_at', TZDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('slug'),
    )
    op.create_table(
        'event_topic',
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('topic_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['event_id'], ['event.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['topic_id'], ['topic.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('event_id', 'topic_id'),
    )
    op.create_index(op.f('ix_event_topic_topic_id'), 'event_topic', ['topic_id'], unique=False)
    op.create_table(
        'pathway_topic',
        sa.Column('pathway_id', sa.Integer(), nullable=False),
        sa.Column('topic_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['pathway_id'], ['pathway.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['topic_id'], ['topic.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('pathway_id', 'topic_id'),
    )
    op.create_index(op.f('ix_pathway_topic_topic_id'), 'pathway_topic', ['topic_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_pathway_topic_topic_id'), table_name='pathway_topic')
    op.drop_table('pathway_topic')
    op.drop_index(op.f('ix_event_topic_topic_id'), table_name='event_topic')
    op.drop_table('event_topic')
    op.drop_table('topic')
