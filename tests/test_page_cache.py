"""The public pages come from a cache of rendered bytes keyed by the public version counter:
every kind of change a reader would see shows on their next request (an officer's edit, a
seat taken, a recording added, a branding change), with the cache in process memory and in
Redis; a revalidation reads one row and renders nothing; nothing private is ever stored."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from flask import Flask, g, template_rendered
from flask.testing import FlaskClient
from sqlalchemy import event as sa_event
from sqlalchemy import text

from forum.core import clock
from forum.core.extensions import db
from forum.models import Event
from forum.web import page_cache
from forum.webinars import recordings
from tests.conftest import csrf_from
from tests.support.factories import make_event, subscribe
from tests.support.live import make_officer, post_form, sign_in
from tests.support.page_cache import REDIS_URL
from tests.test_door_parity import web_form

WALLS = [(datetime(2030, 9, 10, 13), datetime(2030, 9, 10, 14))]


@pytest.fixture
def officer(app: Flask) -> FlaskClient:
    make_officer()
    browser = app.test_client()
    assert sign_in(browser).status_code == 302
    return browser


def _fresh() -> None:
    """Forget the previous request's user and CSRF token: the test's app context outlives a
    request (a server's does not), and Flask-Login and Flask-WTF keep both in `g`."""
    for name in ("_login_user", "csrf_token"):
        g.pop(name, None)


def _page(client: FlaskClient, url: str, *, stored: bool = True) -> str:
    """A reader's page; `stored`: it is then in the cache (served from it next time)."""
    _fresh()
    response = client.get(url)
    assert response.status_code == 200, url
    assert not stored or any(f"|{url.split('?')[0]}|" in key for key in _keys()), url
    _fresh()
    return response.get_data(as_text=True)


def test_the_cache_is_used_and_only_a_bump_refreshes_it(cached: str, client: FlaskClient) -> None:
    event = make_event("mentoring", WALLS, title="Mentoring in Technical Services")
    assert "Mentoring in Technical Services" in _page(client, "/events/mentoring")
    # a change written past the ORM and its listeners: the cached page is what is served
    db.session.execute(text("UPDATE event SET title = 'Sneaky' WHERE id = :id"), {"id": event.id})
    db.session.commit()
    assert "Mentoring in Technical Services" in _page(client, "/events/mentoring")


def test_an_officer_edit_shows_on_the_next_request(
    cached: str, client: FlaskClient, officer: FlaskClient
) -> None:
    event = make_event("mentoring", WALLS, title="Mentoring in Technical Services")
    before = {}
    for url in ("/", "/events/mentoring"):
        _fresh()
        before[url] = client.get(url)
    assert len(_keys()) == 2  # both stored
    _fresh()
    assert all("Mentoring in Technical Services" in r.get_data(as_text=True) for r in before.values())
    changed = post_form(
        officer, "/manage/events/mentoring/edit", {**web_form(event), "title": "Mentoring, Revised"}
    )
    assert changed.status_code == 302, changed.data[:300]
    for url, first in before.items():
        assert "Mentoring, Revised" in _page(client, url), url
        assert client.get(url, headers={"If-None-Match": first.headers["ETag"]}).status_code == 200, url


def test_a_seat_taken_shows_on_the_next_request(cached: str, client: FlaskClient) -> None:
    event = make_event("cataloging", WALLS, kind="series", seat_limit=3)
    assert 'data-seats-left="3"' in _page(client, "/events/cataloging")
    subscribe(event, "ana@example.org")
    assert 'data-seats-left="2"' in _page(client, "/events/cataloging")


def test_a_recording_added_shows_on_the_next_request(cached: str, client: FlaskClient) -> None:
    event = make_event("cataloging", WALLS, kind="series")
    assert "https://video.example.org/rec-1" not in _page(client, "/events/cataloging")
    recordings.add_material(event.sessions[0], url="https://video.example.org/rec-1", public=True)
    db.session.commit()
    assert "https://video.example.org/rec-1" in _page(client, "/events/cataloging")


def test_a_branding_change_shows_on_the_next_request(
    cached: str, client: FlaskClient, officer: FlaskClient
) -> None:
    make_event("mentoring", WALLS)
    for url in ("/", "/events/mentoring"):
        assert "Library Collections Forum" not in _page(client, url)
    saved = post_form(officer, "/manage/settings", {"org_name": "Library Collections Forum"})
    assert saved.status_code == 302
    for url in ("/", "/events/mentoring"):
        assert "Library Collections Forum" in _page(client, url), url


def test_a_revalidation_reads_one_row_and_renders_nothing(cached: str, client: FlaskClient) -> None:
    make_event("mentoring", WALLS, panelists=[("Ana Reyes", "moderator")])
    with clock.frozen(datetime(2030, 1, 1, 12, 0, 30, tzinfo=UTC)):  # one minute of the key
        _revalidate(client)


def _revalidate(client: FlaskClient) -> None:
    first = client.get("/events/mentoring")
    statements: list[str] = []
    reader = page_cache.version_reader()
    reads: list[object] = []
    read = reader.read

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    def counted() -> object:
        reads.append(1)
        return read()

    sa_event.listen(db.engine, "before_cursor_execute", count)
    reader.read = counted  # type: ignore[method-assign]
    try:
        again = client.get("/events/mentoring", headers={"If-None-Match": first.headers["ETag"]})
        hit = client.get("/events/mentoring")
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", count)
        del reader.read
    assert again.status_code == 304 and again.data == b""
    assert hit.status_code == 200 and hit.data.replace(
        csrf_from(hit.data).encode(), b""
    ) == first.data.replace(csrf_from(first.data).encode(), b"")
    # one read of the version each (on PostgreSQL on the reader's own connection, past the
    # engine), and no other statement
    assert len(reads) == 2 and all("page_version" in s for s in statements), statements


def test_nothing_private_is_stored(
    cached: str, app: Flask, client: FlaskClient, officer: FlaskClient
) -> None:
    make_event("mentoring", WALLS)
    _fresh()
    reader = client.get("/events/mentoring")
    _fresh()
    other = app.test_client().get("/events/mentoring")
    token = csrf_from(reader.data)
    assert token and csrf_from(other.data) != token  # each reader's own token, not a stored one
    stored = [page_cache.store().get(k) for k in _keys()]
    assert stored and all(
        b and token.encode() not in b.body and csrf_from(other.data).encode() not in b.body for b in stored
    )
    # an officer's page (their name, the sign-out form) is never stored nor served to readers
    assert "Sign out" in _page(officer, "/events/mentoring", stored=False)
    assert "Sign out" not in _page(client, "/events/mentoring")
    # the token put back into the cached page is one the subscribe form accepts
    token = csrf_from(_page(client, "/events/mentoring"))
    _fresh()
    form = client.post("/events/mentoring/subscribe", data={"email": "ana@example.org", "csrf_token": token})
    assert form.status_code == 200 and "check your inbox" in form.get_data(as_text=True).lower()


def _keys(*, every: bool = False) -> list[str]:
    """The stored pages' keys of this database's current version (Redis is shared: another
    test process, here or in a session beside this one, may hold keys of its own database
    under the same prefix, but never of the same randomly started version). `every`: all
    of them, of any version (what must never be stored, must not be there at all)."""
    found = page_cache.store()
    read = page_cache.version_reader().read()
    mine = f"p2|{read[0]}|" if read is not None and not every else "p2|"
    if isinstance(found, page_cache.MemoryStore):
        return [k for k in found._items if k.startswith(mine)]
    import redis  # noqa: PLC0415 - only the Redis half of this test lists keys

    server = redis.Redis.from_url(REDIS_URL)
    keys = [k.decode().removeprefix(found.prefix) for k in server.scan_iter(found.prefix + "*")]
    return [k for k in keys if k.startswith(mine)]


def test_a_draft_is_never_cached_as_public(cached: str, client: FlaskClient) -> None:
    event = make_event("mentoring", WALLS, publish=False)
    assert client.get("/events/mentoring").status_code == 404
    event.status = "published"
    db.session.commit()
    assert client.get("/events/mentoring").status_code == 200
    db.session.get(Event, event.id).status = "draft"  # type: ignore[union-attr]
    db.session.commit()
    assert client.get("/events/mentoring").status_code == 404


@pytest.fixture
def rendered(app: Flask) -> Iterator[list[str]]:
    """The templates rendered during the test (Flask's own signal: a render is a cache miss)."""
    names: list[str] = []

    def note(sender: Flask, template: object, context: object, **extra: object) -> None:
        names.append(str(getattr(template, "name", "")))

    with template_rendered.connected_to(note, app):
        yield names


def _stored_for(path: str) -> list[str]:
    return [k for k in _keys() if f"|{path}|" in k]


def test_arguments_the_page_does_not_read_share_its_copy(
    cached: str, client: FlaskClient, rendered: list[str]
) -> None:
    """A newsletter's tracking arguments, or random ones, neither render the event page anew
    nor add a copy that pushes other pages out of the store."""
    make_event("mentoring", WALLS, title="Mentoring in Technical Services")
    first = _page(client, "/events/mentoring?utm_source=newsletter&utm_medium=email")
    for n in range(30):
        page = _page(client, f"/events/mentoring?utm_source=list-{n}&zzz={n}&fbclid=x{n}")
        assert "Mentoring in Technical Services" in page
    assert "Mentoring in Technical Services" in _page(client, "/events/mentoring")
    assert rendered.count("public/event.html") == 1, rendered  # the first; every other one from the cache
    assert len(_stored_for("/events/mentoring")) == 1
    assert "newsletter" not in first


def test_an_argument_the_page_reads_still_gives_its_own_page(
    cached: str, client: FlaskClient, rendered: list[str]
) -> None:
    make_event("mentoring", WALLS)
    plain = _page(client, "/events/mentoring")
    paris = _page(client, "/events/mentoring?tz=Europe/Paris")
    assert 'value="Europe/Paris" selected' in paris and 'value="Europe/Paris" selected' not in plain
    tracked = _page(client, "/events/mentoring?utm_source=newsletter&tz=Europe/Paris")
    assert 'value="Europe/Paris" selected' in tracked  # Paris's copy, not the plain one
    assert rendered.count("public/event.html") == 2 and len(_stored_for("/events/mentoring")) == 2
