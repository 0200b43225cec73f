"""Helpers for the subscription tests: events, outbox reading, links in mail, officer login."""

from __future__ import annotations

import re
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

from flask.testing import FlaskClient
from sqlalchemy import select

from forum.core.extensions import db
from forum.models import Event, Officer, OutboundMessage, Session
from tests.support.fanouts import write_fan_outs

URL_RE = re.compile(r"https?://\S+")


def make_event(slug: str = "mentoring", title: str = "Mentoring in Technical Services", **kw) -> Event:
    """A published e-forum with one session, as a participant would find it."""
    event = Event(
        slug=slug,
        title=title,
        status="published",
        conduct_url="https://example.org/conduct/v2",
        timezone="America/New_York",
        **kw,
    )
    session = Session(event=event)
    session.set_times(datetime(2030, 9, 10, 10), datetime(2030, 9, 10, 18), "America/New_York")
    db.session.add_all([event, session])
    db.session.commit()
    return event


def outbox(kind: str | None = None, recipient: str | None = None) -> list[OutboundMessage]:
    write_fan_outs()
    query = select(OutboundMessage).order_by(OutboundMessage.id)
    if kind:
        query = query.where(OutboundMessage.kind == kind)
    if recipient:
        query = query.where(OutboundMessage.recipient == recipient)
    return list(db.session.scalars(query))


def parsed(row: OutboundMessage) -> EmailMessage:
    return message_from_bytes(row.full_message, policy=policy.default)  # type: ignore[return-value]


def text_of(row: OutboundMessage) -> str:
    msg = parsed(row)
    part = msg.get_body(preferencelist=("plain",))
    assert part is not None
    return part.get_content()


def link_in(row: OutboundMessage, path_part: str) -> str:
    """The first URL in the mail's text that contains `path_part`, as a client path."""
    for url in URL_RE.findall(text_of(row)):
        if path_part in url:
            return url.removeprefix("http://forum.test")
    raise AssertionError(f"no {path_part} link in {text_of(row)!r}")


def login_officer(client: FlaskClient, email: str = "officer@example.org") -> Officer:
    """Sign an officer in the way Flask-Login remembers one (its session key)."""
    officer = Officer.by_email(email)
    if officer is None:
        officer = Officer(email=email, name="Megan Officer", is_admin=True)
        officer.set_password("correct horse battery staple")
        db.session.add(officer)
        db.session.commit()
    with client.session_transaction() as sess:
        sess["_user_id"] = str(officer.id)
        sess["_fresh"] = True
    return officer
