"""Helpers for the continuing-education tests: a finished webinar series with confirmed
registrants, and the instants around it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from forum.core import clock
from forum.core.extensions import db
from forum.models import Attendance, Event, Participant, Session, Subscription
from tests.support.live import make_event

ZONE = "America/Chicago"
#: Three 90-minute webinars, 2030-03-05/12/19 at 1:00 PM Central.
DAYS = [(datetime(2030, 3, d, 13, 0), datetime(2030, 3, d, 14, 30)) for d in (5, 12, 19)]


def series(slug: str = "cataloging-series", **fields: object) -> Event:
    fields.setdefault("learning_outcomes", "Apply RDA to print monographs\nExplain BIBFRAME to colleagues")
    title = fields.pop("title", None)
    event = make_event(slug, DAYS, kind="series", zone=ZONE, **fields)
    if title:
        event.title = str(title)
        db.session.commit()
    return event


def register(event: Event, email: str, name: str = "", status: str = "active") -> Subscription:
    """A confirmed registration (the subscription flow is another area's), confirmed a week before."""
    person = db.session.query(Participant).filter_by(email_key=email.lower()).one_or_none()
    if person is None:
        person = Participant(email=email, email_key=email.lower(), name=name)
    first = event.starts_at or clock.now()
    sub = Subscription(participant=person, event=event, status=status, confirmed_at=first - timedelta(days=7))
    db.session.add(sub)
    db.session.commit()
    return sub


def clicked(sub: Subscription, session: Session) -> Attendance:
    """The row the personal join link writes (engineer "webinars"' /join/<token>) on first use."""
    at = session.starts_at + timedelta(minutes=2)
    row = Attendance(
        subscription_id=sub.id,
        session_id=session.id,
        sources="link",
        first_seen_at=at,
        last_seen_at=at,
        clicks=1,
    )
    db.session.add(row)
    db.session.commit()
    return row


def attended(sub: Subscription, session: Session, minutes: int | None = None) -> Attendance:
    """A platform report's row: `minutes` in the room (default: the whole session)."""
    if minutes is None:
        minutes = int((session.ends_at - session.starts_at).total_seconds() // 60)
    row = db.session.query(Attendance).filter_by(subscription_id=sub.id, session_id=session.id).one_or_none()
    if row is None:
        row = Attendance(subscription_id=sub.id, session_id=session.id, sources="", clicks=0)
        db.session.add(row)
    row.add_source("import")
    row.minutes = minutes
    db.session.commit()
    return row


def after_end(event: Event, **delta: float) -> datetime:
    end = event.ends_at
    assert end is not None
    return (end + timedelta(**delta)).astimezone(UTC)
