"""Helpers for tests that use the site as a person would: officers who sign in, events
built directly in the database, and a live server in a thread for the browser tests."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash
from werkzeug.serving import make_server

from forum.core.extensions import db
from forum.events import service as events
from forum.models import Event, EventPanelist, Officer, Panelist, Participant, Session, Subscription
from tests.conftest import csrf_from

OFFICER_EMAIL = "officer@forum.test"
OFFICER_PASSWORD = "correct horse battery"


def make_officer(email: str = OFFICER_EMAIL, password: str = OFFICER_PASSWORD) -> Officer:
    officer = Officer(email=email, name="Pat Officer", is_admin=True)
    # a cheap hash keeps tests fast; the app's own default (scrypt) is used everywhere else
    officer.password_hash = generate_password_hash(password, method="pbkdf2:sha256:1000")
    db.session.add(officer)
    db.session.commit()
    return officer


def sign_in(client: FlaskClient, email: str = OFFICER_EMAIL, password: str = OFFICER_PASSWORD):  # type: ignore[no-untyped-def]
    """Sign in through the real form (CSRF and all); returns the POST response."""
    page = client.get("/login")
    return client.post(
        "/login", data={"email": email, "password": password, "csrf_token": csrf_from(page.data)}
    )


def post_form(client: FlaskClient, page_url: str, data: dict, action: str | None = None):  # type: ignore[no-untyped-def,type-arg]
    """GET a page for its CSRF token, then POST `data` to `action` (default: the page)."""
    page = client.get(page_url)
    assert page.status_code == 200, page.data[:500]
    return client.post(action or page_url, data={**data, "csrf_token": csrf_from(page.data)})


def make_event(
    slug: str,
    days: list[tuple[datetime, datetime]],
    *,
    kind: str = "eforum",
    zone: str = "America/New_York",
    publish: bool = True,
    panelists: tuple[tuple[str, str], ...] = (),
    **fields: object,
) -> Event:
    """An event with sessions at the given wall times and panelists (name, role)."""
    event = Event(slug=slug, title=slug.replace("-", " ").title(), kind=kind, timezone=zone, **fields)
    db.session.add(event)
    for position, (start, end) in enumerate(days):
        session = Session(position=position)
        events.set_session_times(session, start, end, zone)
        event.sessions.append(session)
    for position, (name, role) in enumerate(panelists):
        panelist = Panelist(
            name=name, bio=f"**{name}** has a bio.", title="Librarian", affiliation="A Library"
        )
        event.panelist_links.append(EventPanelist(panelist=panelist, role=role, position=position))
    if publish:
        events.publish_event(event)
    db.session.commit()
    return event


def subscribe(event: Event, email: str) -> Subscription:
    """An active subscriber, made directly (the subscription flow is another area's)."""
    person = Participant(email=email, email_key=email.lower())
    sub = Subscription(participant=person, event=event, status="active")
    db.session.add(sub)
    db.session.commit()
    return sub


@contextmanager
def live_server(app: Flask) -> Iterator[str]:
    """Serve `app` on 127.0.0.1 at a free port in a thread; yields the base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
