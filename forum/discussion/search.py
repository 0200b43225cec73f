"""Searching a forum's archive: the one function every door calls (`search`).

Full text with stemming, quoted phrases, `-word` exclusions and `or`, ranked, with
highlighted snippets, on whichever database runs: PostgreSQL's `tsvector` (GIN index,
`websearch_to_tsquery`, `ts_rank`, `ts_headline`; the event's text-search language) or
SQLite's FTS5 (porter stemmer, `bm25`, `snippet()`); the index itself is in
`forum.models.search_ddl`. Author and date filters narrow either. Only accepted posts are
found. Snippets mark matches with control characters the database puts in, so the text
is HTML-escaped first and only `<mark>` is ever added: a post cannot inject markup.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup, escape
from sqlalchemy import (
    ColumnElement,
    Integer,
    bindparam,
    cast,
    column,
    func,
    literal,
    literal_column,
    select,
    table,
    text,
)
from sqlalchemy.dialects.postgresql import REGCONFIG, TSQUERY

from forum.core.extensions import db
from forum.models import Event, Post

START, STOP = "\x02", "\x03"
MAX_QUERY = 200
_TOKEN_RE = re.compile(r'(-?)"([^"]*)"?|(\S+)')
_WORD_RE = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Hit:
    """One post found, its rank (higher is better) and a snippet with <mark>ed matches."""

    post: Post
    rank: float
    snippet: Markup


#: How many of the newest matches are ranked. A word in most posts matches tens of
#: thousands at 100,000 posts; scoring each (ts_rank re-reads its tsvector, bm25 its
#: position lists) is what cost hundreds of milliseconds. The newest matches are found in
#: index order and only they are scored: a reader searching an archive that size gets the
#: best of its recent matches, and every match when there are fewer (the usual case).
CANDIDATES = 300


def search(
    event: Event,
    query: str,
    *,
    author: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
) -> list[Hit]:
    """Accepted posts of `event` matching `query`, best first; filters alone list newest first.

    `author` matches part of the author's shown name (never the address: archives may be
    public); `since`/`until` bound the time the post was accepted (until is exclusive).
    Ranked among the newest CANDIDATES matches; snippets are made for the `limit` shown.
    """
    query = query.strip()[:MAX_QUERY]
    filters: list[ColumnElement[bool]] = [Post.event_id == event.id, Post.status == "accepted"]
    if author.strip():
        names = author_names(event, author)
        if names is None:  # more authors than are worth listing: match their names in place
            pattern = "%" + author.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            filters.append(Post.author_name.ilike(pattern, escape="\\"))
        elif not names:
            return []
        else:
            filters.append(Post.author_name.in_(names))
    if since is not None:
        filters.append(Post.accepted_at >= since)
    if until is not None:
        filters.append(Post.accepted_at < until)
    if not query:
        if not (author.strip() or since or until):
            return []
        posts = db.session.scalars(
            select(Post).where(*filters).order_by(Post.accepted_at.desc(), Post.id.desc()).limit(limit)
        )
        return [Hit(post, 0.0, _lead(post.body_text)) for post in posts]
    if db.session.get_bind().dialect.name == "postgresql":
        return _postgresql(event, filters, query, limit)
    match = fts5_query(query)
    if not match:
        return []
    window = None
    if since is not None or until is not None:
        window = db.session.execute(select(func.min(Post.id), func.max(Post.id)).where(*filters)).one()
        if window[0] is None:
            return []
    return _sqlite(filters, match, limit, window)


#: How many distinct author names `author_names` reads before giving up on listing them.
MAX_AUTHORS = 1000

_AUTHORS = text(
    "WITH RECURSIVE names(name) AS ("
    " SELECT min(author_name) FROM post WHERE event_id = :event"
    " UNION ALL SELECT (SELECT min(p.author_name) FROM post p"
    " WHERE p.event_id = :event AND p.author_name > names.name)"
    " FROM names WHERE names.name IS NOT NULL)"
    " SELECT name FROM names WHERE name IS NOT NULL LIMIT :cap"
)


def author_names(event: Event, author: str) -> list[str] | None:
    """The forum's author names containing `author` (any case), or None if it has too many.

    A forum has few authors beside its posts, so the names are listed first (one probe of
    the (event, author_name, accepted_at) index per distinct name, skipping from each to the
    next) and the posts then matched by equality, which that index answers; a substring
    match (`ilike '%ann%'`) can use no index, and the planner cannot guess how many posts it
    keeps, so it read tens of thousands of rows for a name that wrote few of them.
    Matched here rather than in SQL so case folding is Unicode's on both databases.
    """
    needle = author.strip().casefold()
    names = list(db.session.scalars(_AUTHORS, {"event": event.id, "cap": MAX_AUTHORS + 1}))
    if len(names) > MAX_AUTHORS:
        return None
    return [name for name in names if needle in name.casefold()]


def _postgresql(event: Event, filters: list[ColumnElement[bool]], query: str, limit: int) -> list[Hit]:
    """The newest CANDIDATES matches (the GIN index for a rare word, the (event, status,
    accepted_at) index walked backwards for a common one: the planner picks), ranked, the
    best `limit` kept, and only then their headlines (ts_headline re-reads the text).

    The tsquery is built once in the event's language (a constant, so the GIN index can
    answer it), never per row from the post's own column.
    """
    language = cast(literal(event.search_language or "english"), REGCONFIG)
    tsquery = func.websearch_to_tsquery(language, bindparam("q", query))
    vector: ColumnElement[str] = literal_column("post.search_vector")
    # the tsvector test first: it decides (phrase positions included) and is in the row,
    # while the pairs are in TOAST; when the planner walks posts newest first rather than
    # using the pairs' GIN index, a post without the words is then rejected unread
    filters = [*filters, vector.op("@@")(tsquery)]
    pairs = _phrase_pairs(language, query)
    if pairs:  # the GIN index on word pairs finds where a phrase's words stand together
        filters.append(literal_column("post.search_pairs").op("@@")(cast(literal(pairs), TSQUERY)))
    candidates = (
        select(Post.id.label("id"), Post.accepted_at.label("at"), vector.label("vector"))
        .where(*filters)
        .order_by(Post.accepted_at.desc(), Post.id.desc())
        .limit(CANDIDATES)
        .cte("candidates")
        .prefix_with("MATERIALIZED")
    )
    rank = func.ts_rank(candidates.c.vector, tsquery).label("rank")
    best = (
        select(candidates.c.id, rank)
        .order_by(rank.desc(), candidates.c.at.desc(), candidates.c.id.desc())
        .limit(limit)
    )
    # planned for these words, never a generic plan: psycopg prepares a statement after a
    # few runs and PostgreSQL then may reuse a plan costed for "some tsquery" (0.5% of posts),
    # a bitmap over every post with the words; a phrase of common words then read ~40% of
    # the archive (357 ms server CPU per query at 100,000 posts, bench/search.py)
    previous = db.session.scalar(text("SELECT current_setting('plan_cache_mode')"))
    db.session.execute(text("SELECT set_config('plan_cache_mode', 'force_custom_plan', true)"))
    try:
        ranked = [(post_id, float(r)) for post_id, r in db.session.execute(best)]
    finally:
        db.session.execute(text("SELECT set_config('plan_cache_mode', :mode, true)"), {"mode": previous})
    if not ranked:
        return []
    options = (
        f'StartSel={START}, StopSel={STOP}, MaxWords=35, MinWords=12, MaxFragments=2, FragmentDelimiter=" … "'
    )
    headline = func.ts_headline(language, Post.body_text, tsquery, bindparam("opts", options))
    rows = db.session.execute(select(Post, headline).where(Post.id.in_([i for i, _ in ranked])))
    found = {post.id: (post, snippet) for post, snippet in rows}
    return [Hit(found[i][0], r, _marked(found[i][1])) for i, r in ranked if i in found]


def _phrase_pairs(language: ColumnElement[str], query: str) -> str:
    """The adjacent word pairs every match must have (`'librari_board' & ...`), from the
    quoted phrases the query requires (not those excluded or joined by `or`); empty when none.
    The words are stemmed by the database, as the posts' pairs were (`forum_word_pairs`)."""
    found: set[str] = set()
    for phrase in required_phrases(query):
        pairs = func.tsvector_to_array(func.forum_word_pairs(language, bindparam("p", phrase)))
        found.update(db.session.scalars(select(func.unnest(pairs))))
    return " & ".join("'" + lexeme.replace("'", "''") + "'" for lexeme in sorted(found))


def required_phrases(query: str) -> list[str]:
    """The quoted phrases of two or more words that every match must contain."""
    tokens = list(_TOKEN_RE.finditer(query))
    required: list[str] = []
    for n, match in enumerate(tokens):
        negated, phrase = match.group(1), match.group(2)
        if phrase is None or negated or len(_WORD_RE.findall(phrase)) < 2:
            continue
        beside = [tokens[i].group(3) for i in (n - 1, n + 1) if 0 <= i < len(tokens)]
        if any(word is not None and word.lower() == "or" for word in beside):
            continue
        required.append(phrase)
    return required


_FTS = table("post_fts", column("rowid", Integer))
_FTS_NAME: ColumnElement[str] = literal_column("post_fts")


def _sqlite(
    filters: list[ColumnElement[bool]], match: str, limit: int, window: tuple[int, int] | None
) -> list[Hit]:
    """bm25 for the newest CANDIDATES matches only (FTS5 walks its doclists by rowid,
    newest first, and stops there), the best `limit` kept, then snippet() for those rows.

    A date window becomes a rowid range FTS5 seeks to (`window`: the least and greatest id
    of the posts in it), so matches outside it are never read.
    """
    rank = func.bm25(_FTS_NAME, 4.0, 1.0).label("rank")
    inner = (
        select(Post.id.label("id"), rank, Post.accepted_at.label("at"))
        .select_from(_FTS)
        .join(Post, Post.id == _FTS.c.rowid)
        .where(_FTS_NAME.op("MATCH")(bindparam("match", match)), *filters)
        .order_by(_FTS.c.rowid.desc())
        .limit(CANDIDATES)
    )
    if window is not None:
        inner = inner.where(_FTS.c.rowid.between(window[0], window[1]))
    found = inner.subquery("found")
    best = (
        select(found.c.id, found.c.rank)
        .order_by(found.c.rank, found.c.at.desc(), found.c.id.desc())  # bm25: lower is better
        .limit(limit)
    )
    ranked = [(post_id, -float(r)) for post_id, r in db.session.execute(best)]
    if not ranked:
        return []
    snippets: dict[int, str] = dict(
        db.session.execute(  # type: ignore[arg-type]
            text(
                "SELECT rowid, snippet(post_fts, -1, char(2), char(3), ' … ', 24) FROM post_fts"
                " WHERE post_fts MATCH :match AND rowid IN (SELECT value FROM json_each(:ids))"
            ),
            {"match": match, "ids": json.dumps([i for i, _ in ranked])},
        ).all()
    )
    posts = {post.id: post for post in db.session.scalars(select(Post).where(Post.id.in_(snippets)))}
    return [Hit(posts[i], r, _marked(snippets[i])) for i, r in ranked if i in posts]


def fts5_query(query: str) -> str:
    """A reader's query (words, "a phrase", -word, or) as an FTS5 expression that cannot fail.

    Every word or phrase is quoted, so FTS5 operators or punctuation typed by a reader are
    text, not syntax; `-` excludes; `or` joins its neighbours. Empty when nothing is left.
    """
    terms: list[str] = []
    excluded: list[str] = []
    pending_or = False
    for match in _TOKEN_RE.finditer(query):
        negated, phrase, word = match.group(1), match.group(2), match.group(3)
        if word is not None and word.lower() == "or" and terms:
            pending_or = True
            continue
        if word is not None and word.startswith("-") and len(word) > 1:
            negated, word = "-", word[1:]
        words = _WORD_RE.findall(phrase if phrase is not None else word or "")
        if not words:
            continue
        quoted = '"' + " ".join(words) + '"'
        if negated:
            excluded.append(quoted)
        elif pending_or:
            terms[-1] = f"({terms[-1]} OR {quoted})"
        else:
            terms.append(quoted)
        pending_or = False
    if not terms:
        return ""
    return " AND ".join(terms) + "".join(f" NOT {term}" for term in excluded)


def _marked(snippet: str | None) -> Markup:
    """The database's snippet, escaped, with its match marks turned into <mark>."""
    safe = str(escape(snippet or ""))
    return Markup(safe.replace(START, "<mark>").replace(STOP, "</mark>"))  # noqa: S704 - escaped above


def _lead(body: str, words: int = 30) -> Markup:
    """The start of a post, for results listed by filters alone (nothing to highlight)."""
    parts = body.split()
    lead = " ".join(parts[:words]) + (" …" if len(parts) > words else "")
    return Markup(escape(lead))  # noqa: S704 - escaped
