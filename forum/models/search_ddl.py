"""The archive's full-text index, per dialect: SQL that SQLAlchemy's table model cannot say.

PostgreSQL: a stored generated `tsvector` column on `post` (subject weighted above body) in
the post's own text-search configuration, copied from its event's `search_language` by a
BEFORE INSERT trigger, with a GIN index, kept in the row (STORAGE MAIN) rather than in TOAST;
and `search_pairs`, the post's adjacent word pairs (GIN-indexed), so a quoted phrase is found
through the index rather than by reading every post that has its words. SQLite: an external-content FTS5 table over
`post(subject, body_text)` with the porter stemmer, kept in sync by triggers.

`db.create_all()` (tests, a fresh dev database) runs these after creating `post`; the
migration that introduced them runs the same statements. Beware: an Alembic batch operation
on `post` under SQLite recreates the table and drops the triggers; re-run SQLITE after it.
"""

from __future__ import annotations

from sqlalchemy import DDL, event

from forum.models.discussion import Post

#: A post's adjacent word pairs as lexemes (`librari_board`): the GIN index on them finds the
#: few posts where a quoted phrase's words stand together, which the tsvector's own GIN index
#: cannot (it has no positions: a phrase of two common words had every post rechecked).
PAIRS_FUNCTION = (
    "CREATE OR REPLACE FUNCTION forum_word_pairs(cfg regconfig, document text) RETURNS tsvector"
    " LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$"
    " SELECT coalesce(array_to_tsvector(array_agg(DISTINCT a.lexeme || '_' || b.lexeme)), ''::tsvector)"
    " FROM (SELECT t.lexeme, unnest(t.positions) AS pos FROM unnest(to_tsvector(cfg, document)) AS t) AS a"
    " JOIN (SELECT t.lexeme, unnest(t.positions) AS pos FROM unnest(to_tsvector(cfg, document)) AS t) AS b"
    " ON b.pos = a.pos + 1 $$"
)

POSTGRESQL = (
    "ALTER TABLE post ADD COLUMN search_language regconfig NOT NULL DEFAULT 'english'",
    "ALTER TABLE post ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
    " setweight(to_tsvector(search_language, coalesce(subject, '')), 'A') ||"
    " setweight(to_tsvector(search_language, coalesce(body_text, '')), 'B')) STORED",
    "CREATE INDEX ix_post_search_vector ON post USING gin (search_vector)",
    # in the row, not TOAST: a post's bodies are pushed out first, so matching a row reads
    # its vector from the heap page the index scan is on (6x fewer buffers per row)
    "ALTER TABLE post ALTER COLUMN search_vector SET STORAGE MAIN",
    PAIRS_FUNCTION,
    "ALTER TABLE post ADD COLUMN search_pairs tsvector GENERATED ALWAYS AS (forum_word_pairs("
    "search_language, coalesce(subject, '') || ' ' || coalesce(body_text, ''))) STORED",
    "CREATE INDEX ix_post_search_pairs ON post USING gin (search_pairs)",
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


for _statement in POSTGRESQL:
    event.listen(Post.__table__, "after_create", DDL(_statement).execute_if(dialect="postgresql"))
for _statement in SQLITE:
    event.listen(Post.__table__, "after_create", DDL(_statement).execute_if(dialect="sqlite"))
