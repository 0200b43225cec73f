"""question notify: an answer is mailed to the event's contact when given

Registration questions (and presets) may ask that each answer reach the event's contact
when it is given, such as an accommodation request.

Revision ID: c4d8e2f1a907
Revises: b3e5c1a7d926
Create Date: 2026-12-07 12:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4d8e2f1a907'
down_revision = 'b3e5c1a7d926'
branch_labels = None
depends_on = None


def upgrade():
    for table in ('form_question', 'question_preset'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('notify', sa.Boolean(), server_default=sa.false(), nullable=False))
    # the "Accommodation request" preset, where the library was already made, notifies
    op.execute(
        sa.text("UPDATE question_preset SET notify = :yes WHERE label = 'Accommodation request'").bindparams(
            yes=True
        )
    )


def downgrade():
    for table in ('question_preset', 'form_question'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('notify')
