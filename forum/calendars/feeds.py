"""Calendar feeds: an event's sessions, and a participant's personal feed of every
session of the events they are in (with their own join links)."""

from __future__ import annotations

from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.orm import selectinload

from forum.calendars.calendar import build_calendar
from forum.core.extensions import db
from forum.models import Event, EventPanelist, Participant, Session, Subscription


def in_personal_feed(participant: Participant) -> ColumnElement[bool]:
    """Rows (Subscription joined to Event) the participant's personal feed shows: their
    active subscriptions to events that are public."""
    return and_(Subscription.participant_id == participant.id, Subscription.is_active, Event.public_clause())


def participant_sessions(participant: Participant) -> list[Session]:
    """Every session of every non-draft event the participant is actively subscribed to."""
    return list(
        db.session.scalars(
            select(Session)
            .join(Event, Session.event_id == Event.id)
            .join(Subscription, Subscription.event_id == Event.id)
            .where(in_personal_feed(participant))
            .options(
                selectinload(Session.event)
                .selectinload(Event.panelist_links)
                .selectinload(EventPanelist.panelist),
                selectinload(Session.event).selectinload(Event.sessions),
            )
            .order_by(Session.starts_at, Session.id)
        )
    )


def participant_feed(participant: Participant) -> bytes:
    """The personal feed: every session of their events, with their own join links."""
    mine = {s.event_id: s for s in participant.subscriptions if s.is_active}
    return build_calendar(
        participant_sessions(participant),
        name=_("Forum: %(name)s", name=participant.display),
        refresh=timedelta(hours=1),
        reader=lambda session: mine.get(session.event_id),
    ).to_ical()


def event_feed(event: Event) -> bytes:
    return build_calendar(event.sessions, name=event.title, refresh=timedelta(hours=1)).to_ical()
