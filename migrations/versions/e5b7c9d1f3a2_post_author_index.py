"""post: index (event_id, author_name, accepted_at) for the archive search's author filter

The author filter lists the forum's distinct author names by skipping along this index,
then finds their posts by equality (forum/discussion/search.py `author_names`); a
substring match on the name could use no index (p95 832 ms at 100,000 posts).

Revision ID: e5b7c9d1f3a2
Revises: 8dfed81b645a
Create Date: 2026-12-07 19:00:00

"""
from alembic import op

revision = 'e5b7c9d1f3a2'
down_revision = '8dfed81b645a'
branch_labels = None
depends_on = None


def upgrade():
    # not a batch operation: under SQLite that would recreate `post` and lose its FTS5 triggers
    op.create_index('ix_post_event_author_accepted', 'post', ['event_id', 'author_name', 'accepted_at'], unique=False)


def downgrade():
    op.drop_index('ix_post_event_author_accepted', table_name='post')
