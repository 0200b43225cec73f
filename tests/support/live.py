"""Helpers for tests that use the site as a person would: officers who sign in, events
built directly in the database, and a live server in a thread for the browser tests."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from forum.models import Event, Officer, Subscription
from tests.conftest import csrf_from
from tests.support import factories
from tests.support.factories import OFFICER_PASSWORD as OFFICER_PASSWORD
from tests.support.factories import make_event as make_event

OFFICER_EMAIL = "officer@forum.test"


def make_officer(email: str = OFFICER_EMAIL, password: str = OFFICER_PASSWORD) -> Officer:
    return factories.make_officer(email, "Pat Officer", password)


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


def subscribe(event: Event, email: str) -> Subscription:
    """An active subscriber, made directly (the subscription flow is another area's)."""
    return factories.subscribe(event, email)


@contextmanager
def serving(server: Any) -> Iterator[str]:
    """Run a socketserver-style `server` (bound to 127.0.0.1) in a thread; yields its base URL."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def live_server(app: Flask) -> Iterator[str]:
    """Serve `app` on 127.0.0.1 at a free port in a thread; yields the base URL."""
    with serving(make_server("127.0.0.1", 0, app, threaded=True)) as url:
        yield url
