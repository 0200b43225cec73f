"""Cached public pages answered in front of Flask (`forum/web/fast_pages.py`) are the app's
own answers: the same status, headers and bytes (but for each reader's CSRF token) as the
app sends for the same request, for every cached page, for a first visit and a returning
browser, a 200 and a 304; and whatever the fast path cannot answer exactly (a signed-in
officer, a flash message, a session about to change) still reaches the app."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from http.cookies import SimpleCookie

import pytest
from flask import Flask, g
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from werkzeug.test import TestResponse

from forum.common import page_versions
from forum.core import clock
from forum.core.extensions import db
from forum.models import Panelist
from forum.web import page_cache
from forum.web.fast_pages import FastPages
from tests.conftest import csrf_from
from tests.support.factories import make_event
from tests.support.live import make_officer, post_form, sign_in
from tests.support.page_cache import returning_browser
from tests.test_door_parity import web_form
from tests.test_page_cache import _keys

WALLS = [(datetime(2030, 9, 10, 13), datetime(2030, 9, 10, 14))]
NOW = datetime(2030, 1, 1, 12, 0, 10, tzinfo=UTC)


@pytest.fixture
def entered(app: Flask) -> list[str]:
    """The paths of the requests that reached Flask (its first before_request hook)."""
    seen: list[str] = []

    def note() -> None:
        from flask import request  # noqa: PLC0415 - the test's own hook, read per request

        seen.append(request.path)

    app.before_request_funcs.setdefault(None, []).insert(0, note)
    return seen


def fast(app: Flask) -> FastPages:
    middleware = app.wsgi_app
    assert isinstance(middleware, FastPages)
    return middleware


def _clear() -> None:
    """The test's app context outlives a request (a server's does not): forget its user,
    token and Flask-Babel's locale."""
    for name in ("_login_user", "csrf_token", "_flask_babel"):
        g.pop(name, None)


def _get(client: FlaskClient, url: str, **headers: str) -> TestResponse:
    _clear()
    return client.get(url, headers=headers)


def _steady(client: FlaskClient, url: str) -> None:
    """Browse until the session stops changing (the CSRF secret, then Flask-Login's mark)."""
    for _ in range(3):
        _get(client, url)


def _pages() -> list[str]:
    event = make_event("mentoring", WALLS, kind="series", seat_limit=5, panelists=[("Ana Reyes", "moderator")])
    person = db.session.query(Panelist).one()
    db.session.commit()
    return ["/", f"/events/{event.slug}", f"/panelists/{person.id}", "/calendar", "/calendar?kind=series"]


def _without_token(response: TestResponse) -> bytes:
    body = response.get_data()
    return body.replace(csrf_from(body).encode(), b"") if b"csrf_token" in body else body


def _headers(response: TestResponse) -> dict[str, str]:
    found = {k: v for k, v in response.headers.items() if k != "Set-Cookie"}
    cookies = response.headers.getlist("Set-Cookie")
    for raw in cookies:  # the attributes must agree; the value is each session's own
        cookie = SimpleCookie(raw)
        for name, morsel in cookie.items():
            found[f"Set-Cookie {name}"] = repr(sorted((k, v) for k, v in morsel.items() if v))
    return found


def _compare(
    app: Flask, entered: list[str], url: str, make_client: object, *, stored: str | None = None, **headers: str
) -> None:
    """The app's answer (rendered anew, unless a 304) and the fast path's for the same
    request and the same session. `stored`: the fast path answers from the copy the app
    stored for this other address (the same page asked for with other arguments, by another
    reader with the same headers)."""
    assert callable(make_client)
    answers = {}
    revalidating = "If-None-Match" in headers or "If-Modified-Since" in headers
    for door in ("app", "fast"):
        fast(app).enabled = door == "fast"
        if door == "app" and not revalidating:
            page_cache.store().clear()
        if door == "fast" and stored is not None:
            page_cache.store().clear()
            fast(app).enabled = False
            assert _get(app.test_client(), stored, **headers).status_code == 200, stored  # the app stores it
            fast(app).enabled = True
        entered.clear()
        answers[door] = _get(make_client(), url, **headers)
        assert (url.split("?")[0] in entered) == (door == "app"), (door, url)
    app_answer, fast_answer = answers["app"], answers["fast"]
    assert fast_answer.status_code == app_answer.status_code, url
    if revalidating:
        assert app_answer.status_code == 304, url
        assert fast_answer.get_data() == app_answer.get_data() == b""
    else:
        assert _without_token(fast_answer) == _without_token(app_answer), url
    expected, got = _headers(app_answer), _headers(fast_answer)
    if "Set-Cookie session" in expected:  # a new session each: their CSRF secrets differ
        expected.pop("ETag"), got.pop("ETag")
    assert got == expected, url


def test_the_fast_path_answers_as_the_app_does(
    cached: str, app: Flask, client: FlaskClient, entered: list[str]
) -> None:
    with clock.frozen(NOW):
        pages = _pages()
        _steady(client, pages[1])  # the event page's form gives the browser its session
        returning = returning_browser(app, client)
        for url in pages:
            # a returning browser, in a steady session: the page is stored, then served fast
            _steady(client, url)
            entered.clear()
            assert _get(client, url).status_code == 200
            assert url.split("?")[0] not in entered, url  # answered in front of Flask
            _compare(app, entered, url, returning)
            _compare(app, entered, url, returning, **{"Accept-Language": "fr-CA,fr;q=0.9"})
            _compare(app, entered, url, app.test_client)  # a first visit: a new session where the page has a form
            # a revalidation, 304 from both
            etag = _get(returning(), url).headers["ETag"]
            _compare(app, entered, url, returning, **{"If-None-Match": etag})
            _compare(app, entered, url, app.test_client, **{"If-Modified-Since": "Tue, 01 Jan 2030 12:00:10 GMT"})
            fast(app).enabled = True


def _with(url: str, query: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{query}"


def test_arguments_a_page_does_not_read_are_answered_fast_as_the_app_does(
    cached: str, app: Flask, client: FlaskClient, entered: list[str]
) -> None:
    """A tracking argument is served the page stored without it (or with another one), by
    the fast path, with the app's own headers and bytes; one the page reads is not."""
    with clock.frozen(NOW):
        pages = _pages()
        pages.append(f"{pages[1]}?tz=Europe/Paris")
        _steady(client, pages[1])
        returning = returning_browser(app, client)

        for url in pages:
            _steady(client, _with(url, "utm_source=newsletter"))
            for n in range(5):  # every other value, or argument, from that one copy
                entered.clear()
                assert _get(client, _with(url, f"utm_source=list-{n}&zzz={n}")).status_code == 200
                assert entered == [], url
            tracked = _with(url, "utm_source=newsletter&fbclid=abc")
            _compare(app, entered, tracked, returning, stored=url)
            _compare(app, entered, tracked, app.test_client, stored=_with(url, "zzz=1"))
            _compare(app, entered, url, returning, stored=tracked, **{"Accept-Language": "fr-CA,fr;q=0.9"})
            etag = _get(returning(), url).headers["ETag"]
            _compare(app, entered, tracked, returning, **{"If-None-Match": etag})  # the same page's ETag
            fast(app).enabled = True
        # the zone is read: Paris's page is its own copy, never the plain page's
        _steady(client, pages[1])
        paris = _get(client, _with(pages[-1], "utm_source=x")).get_data(as_text=True)
        assert 'value="Europe/Paris" selected' in paris


@pytest.mark.parametrize("argument", ["t=abc123", "token=abc123", "t="])
def test_a_token_like_argument_is_answered_by_the_app_and_never_stored(
    cached: str, app: Flask, client: FlaskClient, entered: list[str], argument: str
) -> None:
    """The app answers a URL that looks like a signed link `no-store` (`web/security.py`):
    such a reader is never served the copy stored for other readers, nor is theirs stored."""
    make_event("mentoring", WALLS)
    _steady(client, "/events/mentoring")  # stored, and served fast to others
    stored = set(_keys())
    url = f"/events/mentoring?utm_source=x&{argument}"
    for _ in range(2):
        entered.clear()
        page = _get(client, url)
        assert page.status_code == 200 and entered == ["/events/mentoring"]  # the app, each time
        assert page.headers["Cache-Control"] == "no-store"
        assert page.headers["Referrer-Policy"] == "same-origin"
    assert set(_keys()) == stored  # nothing new stored
    assert not any("abc123" in key for key in _keys(every=True))
    entered.clear()
    assert _get(client, "/events/mentoring").headers["Cache-Control"] == "private, no-cache"
    assert entered == []  # the others' copy is still served fast, with its own headers


def test_the_token_a_first_visit_gets_from_the_fast_path_is_accepted(
    cached: str, app: Flask, client: FlaskClient, entered: list[str]
) -> None:
    make_event("mentoring", WALLS)
    _steady(client, "/events/mentoring")  # stored
    entered.clear()
    visitor = app.test_client()
    page = _get(visitor, "/events/mentoring")
    assert entered == [] and page.headers.getlist("Set-Cookie")  # fast, with a new session
    g.pop("csrf_token", None)
    form = visitor.post(
        "/events/mentoring/subscribe", data={"email": "ana@example.org", "csrf_token": csrf_from(page.data)}
    )
    assert form.status_code == 200 and "check your inbox" in form.get_data(as_text=True).lower()


def test_an_officer_is_never_served_the_shared_copy(
    cached: str, app: Flask, client: FlaskClient, entered: list[str]
) -> None:
    make_event("mentoring", WALLS)
    make_officer()
    _steady(client, "/events/mentoring")
    officer = app.test_client()
    assert sign_in(officer).status_code == 302
    entered.clear()
    page = _get(officer, "/events/mentoring")
    assert "/events/mentoring" in entered  # the app answered
    assert "Sign out" in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    assert "Sign out" not in _get(client, "/events/mentoring").get_data(as_text=True)
    # a remember-me cookie alone may sign someone in: the app decides
    stranger = app.test_client()
    stranger.set_cookie("remember_token", "1|whatever")
    entered.clear()
    _get(stranger, "/events/mentoring")
    assert entered == ["/events/mentoring"]


def test_a_flash_message_or_a_forged_session_goes_to_the_app(
    cached: str, app: Flask, client: FlaskClient, entered: list[str]
) -> None:
    make_event("mentoring", WALLS)
    _steady(client, "/events/mentoring")
    with client.session_transaction() as sess:
        sess["_flashes"] = [("message", "Saved.")]
    entered.clear()
    assert "Saved." in _get(client, "/events/mentoring").get_data(as_text=True)
    assert entered == ["/events/mentoring"]
    forged = app.test_client()
    forged.set_cookie("session", "eyJfZnJlc2giOmZhbHNlfQ.forged.signature")
    entered.clear()
    assert _get(forged, "/events/mentoring").status_code == 200
    assert entered == ["/events/mentoring"]


def test_each_language_has_its_own_copy(cached: str, client: FlaskClient, entered: list[str]) -> None:
    make_event("mentoring", WALLS)
    for _ in range(3):
        french = _get(client, "/", **{"Accept-Language": "fr"}).get_data(as_text=True)
        english = _get(client, "/", **{"Accept-Language": "en"}).get_data(as_text=True)
    assert entered == ["/", "/"]  # rendered and stored once per language, then served fast
    assert 'lang="fr' in french and 'lang="en' in english


@pytest.mark.parametrize("watch", [False, True], ids=["read", "watch"])
def test_every_change_shows_on_the_next_fast_request(
    cached: str, app: Flask, client: FlaskClient, entered: list[str], watch: bool
) -> None:
    """Watched too: this process's own commits are known before they return."""
    app.config["PAGE_VERSION_WATCH"] = watch
    page_cache.close(app)
    event = make_event("mentoring", WALLS, title="Mentoring in Technical Services")
    make_officer()
    officer = app.test_client()
    assert sign_in(officer).status_code == 302
    _steady(client, "/events/mentoring")
    entered.clear()
    assert "Mentoring in Technical Services" in _get(client, "/events/mentoring").get_data(as_text=True)
    assert entered == []
    _clear()
    changed = post_form(officer, "/manage/events/mentoring/edit", {**web_form(event), "title": "Mentoring, Revised"})
    assert changed.status_code == 302
    assert "Mentoring, Revised" in _get(client, "/events/mentoring").get_data(as_text=True)
    _clear()
    saved = post_form(officer, "/manage/settings", {"org_name": "Library Collections Forum"})
    assert saved.status_code == 302
    assert "Library Collections Forum" in _get(client, "/events/mentoring").get_data(as_text=True)


@pytest.mark.parametrize("watch", [False, True], ids=["read", "watch"])
def test_a_change_committed_by_another_process_shows(
    cached: str, app: Flask, client: FlaskClient, backend: str, watch: bool
) -> None:
    """Another process's bump (here a connection of the test's own, past this app's session).
    Read on every request (the default), the next request shows it. Watched
    (PAGE_VERSION_WATCH=1, PostgreSQL), it shows once the NOTIFY has reached this process:
    PostgreSQL signals it before the writer's COMMIT returns, and delivery takes from
    microseconds to milliseconds on a loaded machine, so this waits for it, within a bound."""
    app.config["PAGE_VERSION_WATCH"] = watch
    page_cache.close(app)
    event = make_event("mentoring", WALLS, title="Mentoring in Technical Services")
    _steady(client, "/events/mentoring")
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"], **app.config["SQLALCHEMY_ENGINE_OPTIONS"])
    try:
        with engine.begin() as conn:  # as any other process: the change, the bump, the NOTIFY
            conn.execute(text("UPDATE event SET title = 'Changed Elsewhere' WHERE id = :id"), {"id": event.id})
            conn.execute(text("UPDATE page_version SET value = value + 1"))
            if backend == "postgresql":
                conn.execute(text(f"NOTIFY {page_versions.CHANNEL}"))
    finally:
        engine.dispose()
    db.session.expire_all()  # the test's session outlives a request (a server's does not)
    waited = 0.0
    while "Changed Elsewhere" not in _get(client, "/events/mentoring").get_data(as_text=True):
        assert watch and backend == "postgresql" and waited < 2.0, f"still stale after {waited:.2f} s"
        time.sleep(0.01)
        waited += 0.01


@pytest.mark.parametrize("watch", [False, True], ids=["read", "watch"])
def test_a_lost_database_connection_is_replaced(
    cached: str, app: Flask, client: FlaskClient, backend: str, watch: bool
) -> None:
    app.config["PAGE_VERSION_WATCH"] = watch
    page_cache.close(app)
    make_event("mentoring", WALLS, title="Mentoring in Technical Services")
    _steady(client, "/events/mentoring")
    if backend == "postgresql":  # the reader's and the watch's connections die (a database restart)
        held = page_cache.version_reader()._local.held  # this thread's: the test client's too
        pids = [c.info.backend_pid for c in (held.conn, held.watch) if c is not None]
        killed = [db.session.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}) for pid in pids]
        db.session.commit()
        assert killed == [True] * (2 if watch else 1)
    for _ in range(3):  # the app answers while the reader reconnects, then the fast path again
        page = _get(client, "/events/mentoring")
        assert page.status_code == 200 and "Mentoring in Technical Services" in page.get_data(as_text=True)


def test_the_kept_signer_signs_as_itsdangerous_does(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast path signs new sessions and CSRF tokens with one kept signer: the same bytes
    as the app's own serializers give (else browsers would get cookies the app refuses)."""
    from itsdangerous import TimestampSigner, URLSafeTimedSerializer  # noqa: PLC0415 - only this test pins its clock

    from forum.web.fast_pages import signing  # noqa: PLC0415 - beside the import above

    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: 1_900_000_000)
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    csrf = URLSafeTimedSerializer("test-secret", salt="wtf-csrf-token")
    for data in ({"csrf_token": "ab" * 20}, {"_fresh": False, "csrf_token": "x"}, {}, {"n": [1, (2, 3)]}):
        assert signing(serializer)(data) == serializer.dumps(data)
        assert signing(csrf)("ab" * 20) == csrf.dumps("ab" * 20)
    assert serializer.loads(signing(serializer)({"csrf_token": "cd" * 20})) == {"csrf_token": "cd" * 20}
