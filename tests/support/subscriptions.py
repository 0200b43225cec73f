"""Helpers for the subscription tests: events, outbox reading, links in mail, officer login."""

from __future__ import annotations

import re
from datetime import datetime

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from forum.models import Event, OutboundMessage
from tests.conftest import submit
from tests.support import factories
from tests.support.factories import login_officer as login_officer
from tests.support.factories import outbox as outbox
from tests.support.factories import parsed as parsed
from tests.support.factories import text_of as text_of

URL_RE = re.compile(r"https?://\S+")


def subscribe_form(client: FlaskClient, event: Event, **fields: object) -> TestResponse:
    """Fill in the event's sign-up form as a visitor would (GET it, POST it with its token)."""
    page = client.get(f"/events/{event.slug}/subscribe")
    return submit(client, f"/events/{event.slug}/subscribe", page.data, **fields)


def make_event(slug: str = "mentoring", title: str = "Mentoring in Technical Services", **kw) -> Event:
    """A published e-forum with one session, as a participant would find it."""
    day = (datetime(2030, 9, 10, 10), datetime(2030, 9, 10, 18))
    conduct = "https://example.org/conduct/v2"
    return factories.make_event(
        slug, [day], title=title, publish=False, status="published", conduct_url=conduct, **kw
    )


def link_in(row: OutboundMessage, path_part: str) -> str:
    """The first URL in the mail's text that contains `path_part`, as a client path."""
    for url in URL_RE.findall(text_of(row)):
        if path_part in url:
            return url.removeprefix("http://forum.test")
    raise AssertionError(f"no {path_part} link in {text_of(row)!r}")
