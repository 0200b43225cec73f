"""archive full-text search: tsvector + GIN (PostgreSQL), FTS5 + triggers (SQLite)

Revision ID: d8b2e6f3a914
Revises: c4f1a9e2b7d3
Create Date: 2026-12-07 13:15:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd8b2e6f3a914'
down_revision = 'c4f1a9e2b7d3'
branch_labels = None
depends_on = None

# The statements as they were when this migration was written (forum/models/search_ddl.py
# holds the live copy that create_all runs); a migration must not change with the model.
POSTGRESQL = (
    "ALTER TABLE post ADD COLUMN search_language regconfig NOT NULL DEFAULT 'english'",
    "ALTER TABLE post ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
    " setweight(to_tsvector(search_language, coalesce(subject, '')), 'A') ||"
    " setweight(to_tsvector(search_language, coalesce(body_text, '')), 'B')) STORED",
    "CREATE INDEX ix_post_search_vector ON post USING gin (search_vector)",
    "CREATE OR REPLACE FUNCTION post_search_language() RETURNS trigger AS $$ BEGIN"
    " NEW.search_language := coalesce("
    "(SELECT e.search_language FROM event e WHERE e.id = NEW.event_id), 'english')::regconfig;"
    " RETURN NEW; END $$ LANGUAGE plpgsql",
    "CREATE TRIGGER post_search_language BEFORE INSERT ON post"
    " FOR EACH ROW EXECUTE FUNCTION post_search_language()",
)
SQLITE = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS post_fts USING fts5(subject, body_text,"
    " content='post', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER IF NOT EXISTS post_fts_ai AFTER INSERT ON post BEGIN"
    " INSERT INTO post_fts(rowid, subject, body_text) VALUES (new.id, new.subject, new.body_text); END",
    "CREATE TRIGGER IF NOT EXISTS post_fts_ad AFTER DELETE ON post BEGIN"
    " INSERT INTO post_fts(post_fts, rowid, subject, body_text)"
    " VALUES ('delete', old.id, old.subject, old.body_text); END",
    "CREATE TRIGGER IF NOT EXISTS post_fts_au AFTER UPDATE OF subject, body_text ON post BEGIN"
    " INSERT INTO post_fts(post_fts, rowid, subject, body_text)"
    " VALUES ('delete', old.id, old.subject, old.body_text);"
    " INSERT INTO post_fts(rowid, subject, body_text) VALUES (new.id, new.subject, new.body_text); END",
    "INSERT INTO post_fts(post_fts) VALUES ('rebuild')",
)


def upgrade():
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('search_language', sa.String(length=32), server_default='english', nullable=False))
    dialect = op.get_bind().dialect.name
    for statement in POSTGRESQL if dialect == 'postgresql' else SQLITE if dialect == 'sqlite' else ():
        op.execute(statement)
    if dialect == 'postgresql':  # existing posts: their event's language (the trigger does new ones)
        op.execute(
            "UPDATE post SET search_language = e.search_language::regconfig FROM event e WHERE e.id = post.event_id"
        )


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == 'postgresql':
        for statement in (
            "DROP TRIGGER IF EXISTS post_search_language ON post",
            "DROP FUNCTION IF EXISTS post_search_language()",
            "DROP INDEX IF EXISTS ix_post_search_vector",
            "ALTER TABLE post DROP COLUMN IF EXISTS search_vector",
            "ALTER TABLE post DROP COLUMN IF EXISTS search_language",
        ):
            op.execute(statement)
    elif dialect == 'sqlite':
        for statement in (
            "DROP TRIGGER IF EXISTS post_fts_au",
            "DROP TRIGGER IF EXISTS post_fts_ad",
            "DROP TRIGGER IF EXISTS post_fts_ai",
            "DROP TABLE IF EXISTS post_fts",
        ):
            op.execute(statement)
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_column('search_language')
