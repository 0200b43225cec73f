"""Searching the archive as a reader expects, on SQLite (FTS5) and PostgreSQL (tsvector):
stemming, phrases, exclusions, ranking, author and date filters, safe highlighted snippets."""

from __future__ import annotations

import re
from datetime import timedelta

from forum.core import clock
from forum.core.extensions import db
from forum.discussion import search as archive_search
from forum.discussion import service as discussion
from forum.models import Event
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
