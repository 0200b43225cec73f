"""Searching the archive as a reader expects, on SQLite (FTS5) and PostgreSQL (tsvector):
stemming, phrases, exclusions, ranking, author and date filters, safe highlighted snippets."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.event import listen, remove

from forum.core import clock
from forum.core.extensions import db
from forum.discussion import search as archive_search
from forum.discussion import service as discussion
from forum.models import Event, Post
from tests.conftest import BACKENDS
from tests.support.discussion import LIST, OPEN_AT, make_forum, message, subscribe


def _forum() -> Event:
    event = make_forum()
    subscribe(event, "ann@example.org", "Ann Reader", posts_approved=1)
    subscribe(event, "bob@example.org", "Bob Builder", posts_approved=1)
    return event


def _post(subject: str, body: str, sender: str = "ann@example.org", name: str = "Ann Reader", days: int = 0):  # type: ignore[no-untyped-def]
    with clock.frozen(OPEN_AT):
        post = discussion.receive(message(sender=sender, name=name, subject=subject, body=body), LIST).post
    post.accepted_at = OPEN_AT + timedelta(days=days)
    db.session.commit()
    return post


def _subjects(hits: list[archive_search.Hit]) -> list[str]:
    return [hit.post.subject for hit in hits]


def test_stemming_phrases_exclusion_and_ranking(app):
    event = _forum()
    _post("Shared systems", "Our two libraries merged their catalogs last year.")
    _post("Cataloging backlog", "The cataloging backlog is the thing we mentor on first.")
    _post("Coffee", "New catalogers drink a lot of coffee; mentors too.")
    _post("Unrelated", "Nothing about the topic, only mentoring programs.")
    assert set(_subjects(archive_search.search(event, "cataloging"))) >= {
        "Shared systems",
        "Cataloging backlog",
    }
    hits = archive_search.search(event, "catalog")
    assert hits[0].post.subject == "Cataloging backlog"  # subject and body: ranked first
    assert _subjects(archive_search.search(event, '"cataloging backlog"')) == ["Cataloging backlog"]
    assert _subjects(archive_search.search(event, '"backlog cataloging"')) == []  # a phrase keeps order
    assert "Shared systems" not in _subjects(archive_search.search(event, "catalogs -merged"))
    assert "Shared systems" in _subjects(archive_search.search(event, "merged or backlog"))
    assert isinstance(archive_search.search(event, 'NEAR( "* ) OR AND:'), list)  # odd syntax never fails
    assert archive_search.search(event, "   ") == []


def test_author_and_date_filters(app):
    event = _forum()
    _post("Ann on mentoring", "Mentoring new staff.", days=0)
    _post("Bob on mentoring", "Mentoring at night.", sender="bob@example.org", name="Bob Builder", days=2)
    _post("Bob later", "Mentoring later on.", sender="bob@example.org", name="Bob Builder", days=5)
    assert sorted(_subjects(archive_search.search(event, "mentoring", author="bob"))) == [
        "Bob later",
        "Bob on mentoring",
    ]
    window = archive_search.search(
        event, "mentoring", since=OPEN_AT + timedelta(days=1), until=OPEN_AT + timedelta(days=3)
    )
    assert _subjects(window) == ["Bob on mentoring"]
    assert _subjects(archive_search.search(event, "", author="ann")) == ["Ann on mentoring"]  # filter alone


def test_snippets_mark_matches_and_escape_the_post(app):
    event = _forum()
    _post("Markup", "Tom & Jerry <script>alert(1)</script> sort the catalogs <b>daily</b>.")
    [hit] = archive_search.search(event, "catalog")
    assert "<mark>catalogs</mark>" in hit.snippet
    assert re.sub(r"</?mark>", "", hit.snippet).count("<") == 0  # only <mark> is markup
    assert re.search(r"&(?!amp;|lt;|gt;|#)", hit.snippet) is None  # "&" arrives escaped


def test_held_posts_and_other_forums_are_not_found(app):
    event = _forum()
    other = make_forum(slug="cataloging")
    subscribe(other, "ann@example.org", "Ann", posts_approved=1)
    with clock.frozen(OPEN_AT):
        discussion.receive(message(sender="stranger@example.net", body="catalogs held"), LIST)
        discussion.receive(
            message(body="catalogs elsewhere", to="cataloging@forum.test"), "cataloging@forum.test"
        )
    db.session.commit()
    assert archive_search.search(event, "catalogs") == []


def test_the_archive_page_searches_with_filters(app, client):
    _forum()
    _post("Cataloging backlog", "The cataloging <b>backlog</b>.", days=0)
    _post("Bob's catalogs", "Bob catalogs things.", sender="bob@example.org", name="Bob Builder", days=3)
    page = client.get("/events/mentoring/archive?q=catalog&author=Bob").get_data(as_text=True)
    assert "1 post matching" in page and "<mark>catalogs</mark>" in page and "Bob&#39;s catalogs" in page
    day = (OPEN_AT + timedelta(days=3)).date().isoformat()
    dated = client.get(f"/events/mentoring/archive?q=catalog&from={day}").get_data(as_text=True)
    assert "1 post matching" in dated and "Cataloging backlog" not in dated
    bad = client.get("/events/mentoring/archive?q=catalog&from=yesterday")
    assert bad.status_code == 200 and "2 posts matching" in bad.get_data(as_text=True)


def test_author_filter_alone_with_a_word_and_with_no_such_author(app):
    event = _forum()
    subscribe(event, "zoe@example.org", "Zoë Ærøskøbing", posts_approved=1)
    _post("Ann on budgets", "Budget talk.", days=0)
    _post("Bob on budgets", "Budget talk too.", sender="bob@example.org", name="Bob Builder", days=1)
    _post("Bob on coffee", "Coffee only.", sender="bob@example.org", name="Bob Builder", days=2)
    _post("Zoë on budgets", "Budgets again.", sender="zoe@example.org", name="Zoë Ærøskøbing", days=3)
    assert _subjects(archive_search.search(event, "budget", author="BUILDER")) == ["Bob on budgets"]
    assert _subjects(archive_search.search(event, "", author="bob")) == ["Bob on coffee", "Bob on budgets"]
    assert _subjects(archive_search.search(event, "budget", author="ærø")) == ["Zoë on budgets"]  # any case
    assert _subjects(archive_search.search(event, "", author="ZOË")) == ["Zoë on budgets"]
    assert archive_search.search(event, "budget", author="Carla") == []
    assert archive_search.search(event, "", author="example.org") == []  # never the address
    # the letters shared by two authors' names find both
    assert sorted(_subjects(archive_search.search(event, "budget", author="b"))) == [
        "Bob on budgets",
        "Zoë on budgets",
    ]


def test_author_filter_beyond_the_listed_names_still_matches(app, monkeypatch):
    event = _forum()
    _post("Ann on budgets", "Budget talk.", days=0)
    _post("Bob on budgets", "Budget talk too.", sender="bob@example.org", name="Bob Builder", days=1)
    monkeypatch.setattr(archive_search, "MAX_AUTHORS", 1)  # more authors than are listed
    assert archive_search.author_names(event, "bob") is None
    assert _subjects(archive_search.search(event, "budget", author="bob")) == ["Bob on budgets"]


def test_a_phrase_with_common_words_finds_only_where_they_stand_together(app):
    event = _forum()
    _post("Board", "The library board met; the library staff and the board disagreed.", days=0)
    _post("Boards", "Our library boards approve budgets.", days=1)  # stemmed: board(s)
    _post("Apart", "A board of the library, not the library's board either way.", days=2)
    _post("Reversed", "The board library is not a thing.", days=3)
    assert sorted(_subjects(archive_search.search(event, '"library board"'))) == ["Board", "Boards"]
    assert _subjects(archive_search.search(event, '"library board" budgets')) == ["Boards"]
    later = OPEN_AT + timedelta(days=1)
    assert _subjects(archive_search.search(event, '"library board"', author="ann", since=later)) == ["Boards"]


def _plans(run) -> list[str]:  # type: ignore[no-untyped-def]
    """The EXPLAIN output of every SELECT of posts `run()` sends, with the parameters it sent."""
    sent: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith(("SELECT", "WITH")) and " post" in statement:
            sent.append((statement, parameters))

    listen(db.engine, "before_cursor_execute", record)
    try:
        run()
    finally:
        remove(db.engine, "before_cursor_execute", record)
    raw = db.session.connection().connection.dbapi_connection
    plans = []
    for statement, parameters in sent:
        with raw.cursor() as cursor:  # type: ignore[union-attr]
            cursor.execute("EXPLAIN " + statement, parameters)
            plans.append("\n".join(row[0] for row in cursor.fetchall()))
    return plans


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b == "postgresql"])
def test_author_and_word_search_reads_posts_through_indexes_on_postgresql(app):
    """At a few thousand posts, with fresh statistics, no part of an author search reads the
    whole post table: the names come from the (event, author, accepted_at) index, the posts
    through it or the full-text index (timing is the bench's business; this is the plan)."""
    event = _forum()
    names = [f"{first} {last}" for first in ("Ann", "Bob", "Carla", "Dev") for last in ("Reed", "Park", "Ng")]
    words = ["budget", "library", "board", "policy", "grant", "survey", "staff", "rural"]
    rows = [
        {
            "event_id": event.id,
            "message_id": f"<{n}@plan.test>",
            "subject": f"{words[n % 8]} {words[n % 5]}",
            "author_name": names[n % len(names)],
            "author_email": f"a{n % len(names)}@plan.test",
            "body_text": " ".join(words[(n * k) % 8] for k in range(1, 30)) + f" term{n % 97}",
            "body_html": "<p>x</p>",
            "status": "accepted",
            "created_at": OPEN_AT + timedelta(minutes=n),
            "accepted_at": OPEN_AT + timedelta(minutes=n),
            "references": "",
        }
        for n in range(4000)
    ]
    db.session.execute(Post.__table__.insert(), rows)
    db.session.execute(text("ANALYZE post"))
    db.session.commit()
    db.session.refresh(event)  # loaded now, so the plans below are the search's own
    for query in ("term42", "budget"):
        plans = _plans(lambda q=query: archive_search.search(event, q, author="Carla"))
        assert len(plans) == 3  # names, ranked candidates, headlines
        assert "ix_post_event_author_accepted" in plans[0]
        assert not [plan for plan in plans if "Seq Scan on post" in plan], plans
        hits = archive_search.search(event, query, author="carla")
        assert hits and {hit.post.author_name.split()[0] for hit in hits} == {"Carla"}
    rare = _plans(lambda: archive_search.search(event, "term42", author="Carla Ng"))[1]
    assert "ix_post_event_author_accepted" in rare or "ix_post_search_vector" in rare, rare
