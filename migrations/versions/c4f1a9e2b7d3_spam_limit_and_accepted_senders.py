"""spam score limit per event, and the accepted-senders list

Revision ID: c4f1a9e2b7d3
Revises: e1f2a3b4c5d6
Create Date: 2026-12-07 13:05:00

"""
from alembic import op
import sqlalchemy as sa

import forum.models.base


# revision identifiers, used by Alembic.
revision = 'c4f1a9e2b7d3'
down_revision = 'e1f2a3b4c5d6'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('spam_score_limit', sa.Float(), server_default='5.0', nullable=False))
    op.create_table('accepted_sender',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('added_by', sa.String(length=320), nullable=False),
    sa.Column('created_at', forum.models.base.TZDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_accepted_sender_event_id_event'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accepted_sender')),
    sa.UniqueConstraint('event_id', 'email', name=op.f('uq_accepted_sender_event_id'))
    )
    with op.batch_alter_table('accepted_sender', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_accepted_sender_event_id'), ['event_id'], unique=False)


def downgrade():
    with op.batch_alter_table('accepted_sender', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_accepted_sender_event_id'))
    op.drop_table('accepted_sender')
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_column('spam_score_limit')
