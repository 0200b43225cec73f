"""What officers do to events and sessions, whichever door they come in by (web, API, CLI).

Every change that attendees' calendars must follow goes through here, so the
SEQUENCE bump and the update/cancel mails happen in the same transaction as the change.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from . import calendar, clock
from .extensions import db
from .models import Event, Session, Subscription


def set_session_times(session: Session, start_wall: datetime, end_wall: datetime, zone: str) -> list[str]:
    """Set a session's wall times; returns notes for the officer (e.g. an ambiguous time).

    Raises `timezones.TimeInputError` (a message fit to show next to the field).
    A change to an existing session of a published event sends calendar updates.
    """
    before = (session.start_wall, session.end_wall, session.timezone)
    notes = session.set_times(start_wall, end_wall, zone)
    if session.id is not None and before != (start_wall, end_wall, zone):
        session_changed(session)
    return notes


def session_changed(session: Session) -> None:
    """Something attendees see in their calendar changed (time, title, join link)."""
    session.bump()
    if session.event.status == "published" and session.status != "cancelled":
        db.session.flush()
        calendar.send_updates(session)


def cancel_session(session: Session) -> None:
    if session.status == "cancelled":
        return
    session.status = "cancelled"
    session.bump()
    if session.event.status == "published":
        db.session.flush()
        calendar.send_cancellations(session)


def publish_event(event: Event) -> None:
    if event.status == "published":
        return
    event.status = "published"
    event.published_at = clock.now()


def cancel_event(event: Event) -> None:
    """Cancel the whole event: every remaining session is cancelled in calendars too."""
    if event.status == "cancelled":
        return
    for session in event.sessions:
        cancel_session(session)
    event.status = "cancelled"
    event.cancelled_at = clock.now()


def calendar_recipients(event: Event) -> int:
    """How many people a change to this event's sessions will send a calendar update to.

    Shown to the officer before they save.
    """
    if event.status != "published" or event.id is None:
        return 0
    return (
        db.session.scalar(
            select(func.count(Subscription.id)).where(
                Subscription.event_id == event.id, Subscription.status == "active"
            )
        )
        or 0
    )
