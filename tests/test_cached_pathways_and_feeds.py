"""The pathway pages, the panelist page and the public feeds (calendar files, the archive's
Atom feed) come from the page cache, in front of Flask: the fast path answers them as the app
does, every kind of change a reader would see shows on their next request, a calendar program's
copy stays current across a change it does not show (its ETag is made from the file), and
nothing private (a personal feed, a signed link, an officer's view of a draft) is ever stored."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import ClassVar

import pytest
from flask import Flask
from flask import request as flask_request
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.datastructures import ImmutableMultiDict

from forum.core import clock
from forum.core.extensions import db
from forum.discussion import service as discussion
from forum.models import Event, Panelist, Participant
from forum.pathways import service as pathways
from forum.web import page_cache
from forum.webinars import recordings
from tests.conftest import csrf_from
from tests.support.discussion import LIST, OPEN_AT, make_forum, message
from tests.support.discussion import subscribe as discussion_subscribe
from tests.support.factories import make_event, subscribe
from tests.support.live import make_officer, post_form, sign_in
from tests.support.page_cache import returning_browser
from tests.support.pathways import make_pathway
from tests.test_fast_pages import _compare, _get, _steady, fast
from tests.test_page_cache import _keys

WALLS = [(datetime(2030, 9, 10, 13), datetime(2030, 9, 10, 14))]
NOW = datetime(2030, 1, 1, 12, 0, 10, tzinfo=UTC)


@pytest.fixture
def entered(app: Flask) -> list[str]:
    """The paths of the requests that reached Flask (its first before_request hook)."""
    seen: list[str] = []
    app.before_request_funcs.setdefault(None, []).insert(0, lambda: seen.append(flask_request.path))
    return seen


def _fast(client: FlaskClient, url: str, entered: list[str]) -> str:
    """The reader's page, asserting it came from the fast path (stored by an earlier request)."""
    _steady(client, url)
    entered.clear()
    page = _get(client, url)
    assert page.status_code == 200, url
    assert entered == [], (url, entered)
    return page.get_data(as_text=True)


def _next(client: FlaskClient, url: str) -> str:
    page = _get(client, url)
    assert page.status_code == 200, url
    return page.get_data(as_text=True)


def _officer(app: Flask) -> FlaskClient:
    make_officer()
    browser = app.test_client()
    assert sign_in(browser).status_code == 302
    return browser


def _files() -> list[str]:
    event = make_event("cataloging", WALLS, kind="series", panelists=[("Ana Reyes", "moderator")])
    db.session.commit()
    forum = make_forum()
    discussion_subscribe(forum, "ann@example.org", "Ann Reader", posts_approved=1)
    with clock.frozen(OPEN_AT):
        discussion.receive(message(subject="Mentoring ideas", body="From the start."), LIST)
    db.session.commit()
    session_id = event.sessions[0].id
    return [
        "/events/cataloging.ics",
        f"/events/cataloging/sessions/{session_id}.ics",
        "/feeds/events/cataloging.ics",
        "/feeds/events/cataloging.ics?lang=fr",
        "/feeds/calendar.ics",
        f"/events/{forum.slug}/archive/feed.atom",
        f"/events/{forum.slug}/archive/feed.atom?kind=posts",
    ]


def test_the_fast_path_answers_pages_and_files_as_the_app_does(
    cached: str, app: Flask, client: FlaskClient, entered: list[str]
) -> None:
    with clock.frozen(NOW):
        make_pathway()
        person = db.session.scalars(select(Panelist)).first()
        files = _files()
        person = person or db.session.scalars(select(Panelist)).one()
        pages = [
            "/pathways",
            "/pathways?q=cataloging",
            "/pathways/new-to-cataloging",
            f"/panelists/{person.id}",
        ]
        pages += ["/pathways/new-to-cataloging?tz=Europe/Paris"]
        _steady(client, "/pathways/new-to-cataloging")  # the follow form gives the browser its session
        returning = returning_browser(app, client)

        for url in pages + files:
            _fast(client, url, entered)
            _compare(app, entered, url, returning)
            _compare(app, entered, url, app.test_client)  # a first visit
            _compare(app, entered, url, returning, **{"Accept-Language": "fr-CA,fr;q=0.9"})
            etag = _get(returning(), url).headers["ETag"]
            _compare(app, entered, url, returning, **{"If-None-Match": etag})
            fast(app).enabled = True


def test_the_pathway_page_without_a_zone_is_not_the_utc_one(cached: str, client: FlaskClient) -> None:
    """Without `?tz=` the follow form offers New York; with `?tz=UTC`, UTC: two pages."""
    make_pathway()
    plain = _next(client, "/pathways/new-to-cataloging")
    utc = _next(client, "/pathways/new-to-cataloging?tz=UTC")
    assert 'selected value="America/New_York"' in plain
    assert 'selected value="UTC"' in utc and 'selected value="America/New_York"' not in utc
    assert 'selected value="America/New_York"' in _next(client, "/pathways/new-to-cataloging")


def test_a_pathway_edit_shows_on_the_next_request(
    cached: str, client: FlaskClient, entered: list[str]
) -> None:
    item = make_pathway()
    for url in ("/pathways", "/pathways/new-to-cataloging"):
        assert "New to cataloging" in _fast(client, url, entered)
    pathways.save_pathway(item, title="Cataloging from scratch", slug=item.slug, needs=list(item.needs))
    db.session.commit()
    for url in ("/pathways", "/pathways/new-to-cataloging"):
        assert "Cataloging from scratch" in _next(client, url), url
    pathways.unpublish(item)
    db.session.commit()
    assert _get(client, "/pathways/new-to-cataloging").status_code == 404
    assert "Cataloging from scratch" not in _next(client, "/pathways")


def test_a_recording_added_shows_on_the_pathway_page(
    cached: str, client: FlaskClient, entered: list[str]
) -> None:
    make_pathway(series_start=datetime(2024, 6, 4, 14))  # the webinar step is over
    series = Event.by_slug("cataloging-series")  # the one make_pathway made
    assert series is not None
    url = "/pathways/new-to-cataloging"
    assert "https://video.example.org/rec-1" not in _fast(client, url, entered)
    recordings.add_material(series.sessions[0], url="https://video.example.org/rec-1", public=True)
    db.session.commit()
    assert "https://video.example.org/rec-1" in _next(client, url)


def test_an_officer_edit_shows_in_the_feeds_and_on_the_panelist_page(
    cached: str, app: Flask, client: FlaskClient, entered: list[str]
) -> None:
    event = make_event(
        "cataloging", WALLS, kind="series", title="Cataloging Basics", panelists=[("Ana Reyes", "moderator")]
    )
    person = db.session.scalars(select(Panelist)).one()
    urls = [
        "/feeds/events/cataloging.ics",
        "/events/cataloging.ics",
        "/feeds/calendar.ics",
        f"/panelists/{person.id}",
    ]
    for url in urls:
        assert "Cataloging Basics" in _fast(client, url, entered), url
    officer = _officer(app)
    from tests.test_door_parity import web_form  # noqa: PLC0415 - the event form's fields, as in test_page_cache

    changed = post_form(
        officer, "/manage/events/cataloging/edit", {**web_form(event), "title": "Cataloging, Revised"}
    )
    assert changed.status_code == 302
    for url in urls:
        assert "Cataloging, Revised" in _next(client, url), url
    person.name = "Ana Reyes-Ortiz"
    db.session.commit()
    for url in ("/feeds/events/cataloging.ics", f"/panelists/{person.id}"):
        assert "Reyes-Ortiz" in _next(client, url), url


def test_a_branding_change_shows_in_the_calendar_feed_and_on_pathways(
    cached: str, app: Flask, client: FlaskClient, entered: list[str]
) -> None:
    make_pathway()
    for url in ("/feeds/calendar.ics", "/pathways", "/pathways/new-to-cataloging"):
        assert "Library Collections Forum" not in _fast(client, url, entered), url
    saved = post_form(_officer(app), "/manage/settings", {"org_name": "Library Collections Forum"})
    assert saved.status_code == 302
    for url in ("/feeds/calendar.ics", "/pathways", "/pathways/new-to-cataloging"):
        assert "Library Collections Forum" in _next(client, url), url


def test_a_post_shows_in_the_atom_feed_on_the_next_request(
    cached: str, client: FlaskClient, entered: list[str]
) -> None:
    forum = make_forum()
    discussion_subscribe(forum, "ann@example.org", "Ann Reader", posts_approved=1)
    with clock.frozen(OPEN_AT):
        discussion.receive(message(subject="First thread", body="Hello."), LIST)
    db.session.commit()
    url = "/events/mentoring/archive/feed.atom"
    assert "First thread" in _fast(client, url, entered)
    with clock.frozen(OPEN_AT):
        discussion.receive(message(subject="Second thread", body="Another topic."), LIST)
    db.session.commit()
    assert "Second thread" in _next(client, url)


def test_a_calendar_copy_stays_current_across_a_change_it_does_not_show(
    cached: str, client: FlaskClient, entered: list[str]
) -> None:
    """A calendar program revalidating its feed gets a 304 after a change elsewhere on the
    site (the page version moved on), and the whole file once its own event changes."""
    event = make_event("cataloging", WALLS, kind="series", title="Cataloging Basics")
    url = "/feeds/events/cataloging.ics"
    _fast(client, url, entered)
    etag = _get(client, url).headers["ETag"]
    make_event("other", WALLS, kind="series", title="Another Series")  # a bump the feed does not show
    db.session.commit()
    assert _get(client, url, **{"If-None-Match": etag}).status_code == 304
    entered.clear()
    assert _get(client, url, **{"If-None-Match": etag}).status_code == 304
    assert entered == []  # stored as the app answered 304: then answered in front of it
    event.title = "Cataloging, Revised"
    db.session.commit()
    changed = _get(client, url, **{"If-None-Match": etag})
    assert changed.status_code == 200 and "Cataloging, Revised" in changed.get_data(as_text=True)


def test_nothing_private_is_stored(cached: str, app: Flask, client: FlaskClient, entered: list[str]) -> None:
    event = make_event("cataloging", WALLS, kind="series")
    subscribe(event, "ana@example.org")
    token = db.session.scalars(select(Participant.feed_token)).one()
    for _ in range(3):  # a personal feed: the app answers each time, nothing is stored
        entered.clear()
        assert _get(client, f"/feeds/{token}.ics").status_code == 200
        assert entered == [f"/feeds/{token}.ics"]
    # an officer's view of a draft pathway: neither stored nor shown to readers
    make_pathway("draft-pathway", publish=False)
    officer = _officer(app)
    assert _get(officer, "/pathways/draft-pathway").status_code == 200
    assert _get(client, "/pathways/draft-pathway").status_code == 404
    assert "Sign out" not in _next(client, "/pathways")
    assert not any(token in key or "draft-pathway" in key for key in _keys(every=True))
    assert all(
        b"Sign out" not in (page_cache.store().get(k) or page_cache.Entry(b"", (), False)).body
        for k in _keys(every=True)
    )


@pytest.mark.parametrize("url", ["/pathways/follow/not-a-token", "/pathways/leave/not-a-token"])
def test_signed_links_are_never_stored(
    cached: str, client: FlaskClient, entered: list[str], url: str
) -> None:
    for _ in range(2):
        entered.clear()
        assert _get(client, url).status_code in (400, 404, 410)
        assert entered == [url]
    assert not any("not-a-token" in key for key in _keys(every=True))


def test_each_page_and_file_keeps_only_the_arguments_it_reads(
    cached: str, app: Flask, client: FlaskClient, entered: list[str]
) -> None:
    """An argument the view reads gives its own copy; any other one is served, in front of
    Flask, the copy stored without it (the same bytes and headers as the app's answer)."""
    with clock.frozen(NOW):
        make_pathway()
        files = _files()
        atom = files[-2]
        cases = [
            ("/pathways", "q=cataloging"),
            ("/pathways", "topic=cataloging"),
            ("/pathways/new-to-cataloging", "tz=Europe/Paris"),
            ("/calendar", "kind=series"),
            ("/calendar", "tz=Europe/Paris"),
            ("/feeds/events/cataloging.ics", "lang=fr"),
            ("/feeds/calendar.ics", "lang=fr"),
            (atom, "kind=posts"),
        ]
        for path, read in cases:
            plain = _fast(client, path, entered)
            assert _bare(_next(client, f"{path}?{read}")) != _bare(plain), (path, read)  # its own copy
            for url, stored in ((f"{path}?utm_source=x&zzz=1", path), (f"{path}?{read}&utm_source=y", f"{path}?{read}")):
                same = _fast(client, stored, entered)
                entered.clear()
                page = _get(client, url)
                assert page.status_code == 200 and entered == [], url  # from the stored copy, fast
                assert _bare(page.get_data(as_text=True)) == _bare(same), url
                _compare(app, entered, url, app.test_client, stored=stored)  # a first visit
                fast(app).enabled = True


def _bare(page: str) -> str:
    """The page without its reader's CSRF token (signed anew on each answer)."""
    token = csrf_from(page.encode()) if "csrf_token" in page else ""
    return page.replace(token, "") if token else page


class _RecordingArgs(ImmutableMultiDict):  # type: ignore[type-arg]
    """`request.args` that notes every argument name the app's own code asks for, whether
    the request has it or not (the page's bytes may depend on its absence too)."""

    asked: ClassVar[set[str]] = set()
    #: who may look at every argument without the page depending on it: the token check
    #: (it makes an answer `no-store`) and the cache itself, which builds the key
    LOOKERS = ("forum.web.security", "forum.web.page_cache", "forum.web.fast_pages")

    @classmethod
    def _note(cls, key: object) -> None:
        caller = sys._getframe(2).f_globals.get("__name__", "")
        if not caller.startswith((*cls.LOOKERS, "werkzeug.", "flask.")):
            cls.asked.add(str(key))

    def get(self, key, *args, **kwargs):  # type: ignore[no-untyped-def, override]
        self._note(key)
        return super().get(key, *args, **kwargs)

    def getlist(self, key, *args, **kwargs):  # type: ignore[no-untyped-def, override]
        self._note(key)
        return super().getlist(key, *args, **kwargs)

    def __getitem__(self, key):  # type: ignore[no-untyped-def]
        self._note(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self._note(key)
        return super().__contains__(key)


def test_every_argument_a_cached_page_reads_is_in_its_key(app: Flask, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A view that reads a query argument it did not name in `reads=` would have one reader's
    page served to another whose argument differs: each cached page and file is rendered with
    the app's arguments recorded, and every one asked for must be in the key."""
    monkeypatch.setattr(app.request_class, "parameter_storage_class", _RecordingArgs)
    with clock.frozen(NOW):
        make_pathway()
        files = _files()  # the event "cataloging" and its panelist too
        person = db.session.scalars(select(Panelist)).first()
        assert person is not None
        urls = [
            "/",
            "/events/cataloging?tz=Europe/Paris",
            f"/panelists/{person.id}",
            "/calendar?kind=series&tz=UTC",
            "/pathways?q=cataloging",
            "/pathways/new-to-cataloging?tz=Europe/Paris",
            *files,
        ]
        readers = 0
        for url in urls:
            page_cache.store().clear()
            _RecordingArgs.asked.clear()
            assert _get(app.test_client(), url).status_code == 200, url
            declared = fast(app)._paths.get(url.split("?")[0])
            assert declared is not None, f"{url} was not answered through the page cache"
            assert _RecordingArgs.asked <= declared, (url, _RecordingArgs.asked - declared)
            readers += bool(_RecordingArgs.asked)
        assert readers >= 5  # the recording sees the views' reads (tz, q, topic, kind, lang)
