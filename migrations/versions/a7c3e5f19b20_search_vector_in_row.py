"""post.search_vector kept in the row (STORAGE MAIN), not in TOAST

Matching a post against a tsquery read its vector through the TOAST table (about four
buffers a row at 100,000 posts, bench/search.py); with STORAGE MAIN the bodies are moved
out first and the vector stays on the heap page. Rows written from now on are stored so;
`VACUUM FULL post` rewrites older ones (optional; search is correct either way).

Revision ID: a7c3e5f19b20
Revises: c2e8f1a7b3d4
Create Date: 2026-12-07 15:00:00

"""
from alembic import op

revision = 'a7c3e5f19b20'
down_revision = 'c2e8f1a7b3d4'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("ALTER TABLE post ALTER COLUMN search_vector SET STORAGE MAIN")


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("ALTER TABLE post ALTER COLUMN search_vector SET STORAGE EXTENDED")
