"""ETag / Last-Modified and 304 answers for the public HTML pages (index, event, panelist),
with the validators the calendar feeds already use (`web/versions.py`): a cheap query of what
the page is built from, so a browser revalidating an unchanged page gets a 304 before any
template is rendered.

A page is more than its rows, so its ETag also covers what else changes the HTML: the
`?tz=` a no-JS visitor picked, who is signed in, the session's CSRF secret (the subscribe form
carries a token), and a 30-minute window, so a page kept by the browser never holds a CSRF
token older than Flask-WTF accepts (an hour), and anything a page shows that its version
does not list is stale for at most that long. Pages are `private, no-cache`: they carry a
per-session token, so shared caches must not keep them, and browsers must ask every time.
Whatever a public page shows must be in its version (see docs/CONVENTIONS.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime

from flask import Response, make_response, request, session
from flask_login import current_user
from sqlalchemy import select

from forum.common import branding
from forum.core import clock, i18n
from forum.core.extensions import db
from forum.models import Event, EventPanelist, Material, Panelist, Session
from forum.models.events import session_panelist
from forum.web.versions import Version, event_version, not_modified, version_of
from forum.webinars.seats import counts as seat_counts
from forum.webinars.seats import has_limit

CSRF_WINDOW_SECONDS = 30 * 60
PAGE_CACHE_CONTROL = "private, no-cache"


def _window_start() -> datetime:
    now = int(clock.now().timestamp())
    return datetime.fromtimestamp(now - now % CSRF_WINDOW_SECONDS, UTC)


def _for_this_request(base: Version, csrf_form: bool) -> Version:
    """The rows' version plus what the request adds to the HTML."""
    officer = current_user.get_id() if getattr(current_user, "is_authenticated", False) else None
    brand = branding.current()  # every page shows the organisation's name, logo and colour
    # the reader's language (their browser's; a signed-in officer's choice is under `officer`)
    language = i18n.from_accept_language(request.headers.get("Accept-Language"))
    extra: tuple[object, ...] = (
        request.args.get("tz", ""), officer, brand.stylesheet_version, repr(brand), language
    )
    last = base.last_modified
    if csrf_form:
        window = _window_start()
        extra += (session.get("csrf_token"), window.timestamp())
        last = max(_aware(last), window) if last is not None else window
    etag = hashlib.sha1(f"{base.etag}|{extra!r}".encode(), usedforsecurity=False).hexdigest()[:32]
    return Version(etag, _aware(last) if last is not None else None)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def conditional_page(base: Version, render: Callable[[], str], *, csrf_form: bool = False) -> Response:
    """200 with validators, or 304 when the browser's copy is current (never while a flash
    message waits to be shown: that one is in no version). `csrf_form`: the page holds a
    form with a CSRF token (its session secret and age are then part of the version)."""
    if "_flashes" not in session and not_modified(_for_this_request(base, csrf_form)):
        response = Response(status=304)
    else:
        response = make_response(render())
    version = _for_this_request(base, csrf_form)  # again: rendering may have made the CSRF secret
    response.set_etag(version.etag)
    if version.last_modified is not None:
        response.last_modified = version.last_modified
    response.headers["Cache-Control"] = PAGE_CACHE_CONTROL
    response.vary.add("Accept-Language")
    return response


# --- versions of the public pages ---------------------------------------------------------


def event_page_version(event: Event) -> Version:
    """The event's calendar version, plus what only its page shows: public session
    materials (recordings, slides), panelists attached to single sessions, seats and topics."""
    base = event_version(event)
    materials = db.session.execute(
        select(Material.id, Material.session_id, Material.public, Material.kind, Material.title, Material.url)
        .join(Session, Session.id == Material.session_id)
        .where(Session.event_id == event.id)
        .order_by(Material.id)
    ).all()
    on_sessions = db.session.execute(
        select(session_panelist.c.session_id, session_panelist.c.panelist_id)
        .join(Session, Session.id == session_panelist.c.session_id)
        .where(Session.event_id == event.id)
        .order_by(session_panelist.c.session_id, session_panelist.c.panelist_id)
    ).all()
    filed = [(t.slug, t.name) for t in event.topics]  # the page links its topics' calendars
    seats = seat_counts(event) if has_limit(event) else None
    ends = event.ends_at
    ended = ends is not None and ends <= clock.now()  # the page drops its form when the event ends
    extra = hashlib.sha1(
        f"{materials!r}|{on_sessions!r}|{seats!r}|{ended}|{filed!r}".encode(), usedforsecurity=False
    ).hexdigest()
    return Version(f"{base.etag}-{extra[:12]}", base.last_modified)


def index_version() -> Version:
    """Every listed event and its sessions, and which side of "now" each event is on."""
    events = db.session.execute(
        select(Event.id, Event.status, Event.updated_at).where(Event.status != "draft").order_by(Event.id)
    ).all()
    sessions = db.session.execute(
        select(Session.event_id, Session.id, Session.status, Session.updated_at, Session.ends_at)
        .join(Event, Event.id == Session.event_id)
        .where(Event.status != "draft")
        .order_by(Session.event_id, Session.id)
    ).all()
    now = clock.now()
    ends: dict[int, list[datetime]] = {}
    for event_id, _, status, _, end in sessions:
        if status != "cancelled":
            ends.setdefault(event_id, []).append(_aware(end))
    past = {event_id: max(times) < now for event_id, times in ends.items()}
    rows = [("index", *e, past.get(e[0])) for e in events] + [tuple(s) for s in sessions]
    return version_of(rows, [e[2] for e in events] + [s[3] for s in sessions])


def panelist_version(panelist: Panelist) -> Version:
    """The panelist, the events they are on (status, dates) and their role there."""
    links = db.session.execute(
        select(EventPanelist.id, EventPanelist.role, EventPanelist.event_id, Event.status, Event.updated_at)
        .join(Event, Event.id == EventPanelist.event_id)
        .where(EventPanelist.panelist_id == panelist.id)
        .order_by(EventPanelist.id)
    ).all()
    sessions = db.session.execute(
        select(Session.event_id, Session.id, Session.status, Session.updated_at)
        .where(Session.event_id.in_([link[2] for link in links]))
        .order_by(Session.event_id, Session.id)
    ).all()
    rows = [("panelist", panelist.id, panelist.updated_at), *links, *sessions]
    return version_of(rows, [panelist.updated_at, *(link[4] for link in links), *(s[3] for s in sessions)])
