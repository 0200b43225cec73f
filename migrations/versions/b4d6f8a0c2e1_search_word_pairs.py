"""post.search_pairs: adjacent word pairs with a GIN index, for phrase search (PostgreSQL)

A quoted phrase of common words ("library board") matched nearly every post's tsvector
index entry, so PostgreSQL rechecked positions post by post (1-2 s at 100,000 posts,
bench/search.py). The pairs column lets the GIN index find the few posts where the words
stand together; the tsvector still decides. Adding the column rewrites `post`.

Revision ID: b4d6f8a0c2e1
Revises: a7c3e5f19b20
Create Date: 2026-12-07 15:20:00

"""
from alembic import op

# as forum/models/search_ddl.py had it when this was written
PAIRS_FUNCTION = (
    "CREATE OR REPLACE FUNCTION forum_word_pairs(cfg regconfig, document text) RETURNS tsvector"
    " LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$"
    " SELECT coalesce(array_to_tsvector(array_agg(DISTINCT a.lexeme || '_' || b.lexeme)), ''::tsvector)"
    " FROM (SELECT t.lexeme, unnest(t.positions) AS pos FROM unnest(to_tsvector(cfg, document)) AS t) AS a"
    " JOIN (SELECT t.lexeme, unnest(t.positions) AS pos FROM unnest(to_tsvector(cfg, document)) AS t) AS b"
    " ON b.pos = a.pos + 1 $$"
)

revision = 'b4d6f8a0c2e1'
down_revision = 'a7c3e5f19b20'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute(PAIRS_FUNCTION)
    op.execute(
        "ALTER TABLE post ADD COLUMN search_pairs tsvector GENERATED ALWAYS AS (forum_word_pairs("
        "search_language, coalesce(subject, '') || ' ' || coalesce(body_text, ''))) STORED"
    )
    op.execute("CREATE INDEX ix_post_search_pairs ON post USING gin (search_pairs)")


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute("DROP INDEX ix_post_search_pairs")
    op.execute("ALTER TABLE post DROP COLUMN search_pairs")
    op.execute("DROP FUNCTION forum_word_pairs(regconfig, text)")
