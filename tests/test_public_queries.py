"""The public pages ask the database a fixed number of questions, however many sessions,
panelists, materials or events they show (no query per row: each was a slower page)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event as sa_event

from forum.core.extensions import db
from forum.models import Panelist
from forum.webinars import recordings
from tests.support.live import make_event
from tests.support.pathways import make_pathway


@contextmanager
def counting(app: Flask) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        seen.append(statement)

    sa_event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", count)


def _series(slug: str, sessions: int, panelist: Panelist | None = None) -> None:
    event = make_event(
        slug,
        [(datetime(2099, 3, 2 + i, 13), datetime(2099, 3, 2 + i, 14)) for i in range(sessions)],
        kind="series",
        panelists=(("Ada Lovelace", "moderator"), ("Grace Hopper", "panelist")),
        seat_limit=50,
    )
    for i, session in enumerate(event.sessions):
        session.title = f"Part {i + 1}"
        session.panelists.append(event.panelist_links[i % 2].panelist)
        recordings.add_material(session, url=f"https://video.example.org/{slug}/{i}", public=True)
    if panelist is not None:
        event.panelist_links[0].panelist = panelist
    db.session.commit()


def _statements(app: Flask, client: FlaskClient, path: str) -> int:
    client.get(path)  # first view: the session cookie (CSRF secret) is made
    db.session.close()  # a fresh request's view of the database: nothing already loaded
    with counting(app) as seen:
        response = client.get(path)
    assert response.status_code == 200, path
    return len(seen)


def test_event_page_statements_do_not_grow_with_sessions(app, client: FlaskClient) -> None:  # type: ignore[no-untyped-def]
    _series("small", 2)
    _series("large", 8)
    small = _statements(app, client, "/events/small")
    large = _statements(app, client, "/events/large")
    assert small == large <= 16
    page = client.get("/events/large").get_data(as_text=True)
    assert page.count("https://video.example.org/large/") == 8  # every material is shown
    assert "Part 8" in page and page.count("With <a") == 8  # and each session's panelist


def test_index_and_panelist_page_statements_do_not_grow_with_events(app, client: FlaskClient) -> None:  # type: ignore[no-untyped-def]
    ada = Panelist(name="Ada Lovelace", bio="Ada.")
    db.session.add(ada)
    db.session.commit()
    ada_id = ada.id
    _series("one", 2, panelist=ada)
    index_one = _statements(app, client, "/")
    panelist_one = _statements(app, client, f"/panelists/{ada_id}")
    for n in range(2, 6):
        _series(f"more-{n}", 3, panelist=db.session.get(Panelist, ada_id))
    assert _statements(app, client, "/") == index_one
    assert _statements(app, client, f"/panelists/{ada_id}") == panelist_one
    page = client.get(f"/panelists/{ada_id}").get_data(as_text=True)
    assert all(f"/events/more-{n}" in page for n in range(2, 6))


def test_pathway_pages_statements_do_not_grow_with_steps_or_pathways(app, client: FlaskClient) -> None:  # type: ignore[no-untyped-def]
    make_pathway("short-path", external=2)
    listing = _statements(app, client, "/pathways")
    short = _statements(app, client, "/pathways/short-path")
    make_pathway("long-path", external=8)
    make_pathway("other-path", external=3)
    assert _statements(app, client, "/pathways/long-path") == short
    assert _statements(app, client, "/pathways") == listing
    page = client.get("/pathways/long-path").get_data(as_text=True)
    assert page.count("https://example.org/res/long-path/") == 8  # every step is shown


def test_cached_zone_select_renders_as_wtforms_select(app) -> None:  # type: ignore[no-untyped-def]
    """The pathway page's follow form keeps its ~420-zone select's markup (web/forms.py
    CachedSelect): the same HTML as WTForms' own Select, for every selection."""
    from wtforms.widgets import Select

    from forum.web.pathways.pages import FollowForm

    with app.test_request_context():
        for zone in ("America/New_York", "Asia/Kolkata", "UTC", "Not/AZone", "America/New_York"):
            form = FollowForm()
            form.timezone.data = zone
            cached = form.timezone(**{"data-zone-default": "1"})
            assert cached == Select()(form.timezone, **{"data-zone-default": "1"}), zone
            assert (f'selected value="{zone}"' in cached) == (zone != "Not/AZone")
