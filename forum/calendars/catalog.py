"""The organisation's calendar: every published event's sessions in one list and one feed,
all of them or one topic's, as Indico's category calendars give.

What the public page (`web/calendars/overview.py`) and the public feeds
(`/feeds/calendar.ics`, `/feeds/topics/<slug>.ics`) show comes from here, so they agree:
sessions of public events (published, or cancelled after publishing: then marked
cancelled), optionally of one topic and one kind. A feed keeps sessions that ended up to
FEED_PAST_DAYS ago, so a calendar that polls it still sees a recent session's cancellation
(STATUS:CANCELLED, SEQUENCE raised) before the session drops out. The VEVENTs are the
per-event feeds' own (`calendar.build_calendar` with no reader): same UID and SEQUENCE,
no personal join link, no participant's address, no token.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from forum.calendars.calendar import build_calendar
from forum.core.extensions import db
from forum.models import Event, EventPanelist, Session, Topic, event_topic

FEED_PAST_DAYS = 90
#: the page lists at most this many sessions (the feed has them all)
PAGE_LIMIT = 300


def feed_cutoff(at: datetime) -> datetime:
    """Sessions ending after this are in the feeds: FEED_PAST_DAYS back, at midnight UTC, so
    the feeds' validators change once a day on this account, not every request."""
    day = (at - timedelta(days=FEED_PAST_DAYS)).date()
    return datetime.combine(day, time(0), tzinfo=at.tzinfo)


def _public_sessions(topic: Topic | None, kind: str | None) -> Select[Any]:
    query = select(Session).join(Event, Event.id == Session.event_id).where(Event.public_clause())
    if topic is not None:
        query = query.join(event_topic, event_topic.c.event_id == Event.id).where(
            event_topic.c.topic_id == topic.id
        )
    if kind:
        query = query.where(Event.kind == kind)
    return query


_LOADED = (
    selectinload(Session.event).selectinload(Event.sessions),  # "day 2 of 5" in summaries
    selectinload(Session.event).selectinload(Event.topics),
    selectinload(Session.event).selectinload(Event.panelist_links).selectinload(EventPanelist.panelist),
)


def upcoming(at: datetime, topic: Topic | None = None, kind: str | None = None) -> list[Session]:
    """Sessions not yet over, soonest first (cancelled ones too: the page marks them)."""
    query = (
        _public_sessions(topic, kind)
        .where(Session.ends_at > at)
        .options(*_LOADED)
        .order_by(Session.starts_at, Session.id)
        .limit(PAGE_LIMIT)
    )
    return list(db.session.scalars(query))


def feed_sessions(at: datetime, topic: Topic | None = None) -> list[Session]:
    query = (
        _public_sessions(topic, None)
        .where(Session.ends_at > feed_cutoff(at))
        .options(*_LOADED)
        .order_by(Session.starts_at, Session.id)
    )
    return list(db.session.scalars(query))


def feed_rows(at: datetime, topic: Topic | None = None) -> list[tuple[Any, ...]]:
    """What a feed is built from, cheaply (no VEVENT made): the feeds' ETag is a hash of it."""
    query = (
        _public_sessions(topic, None)
        .where(Session.ends_at > feed_cutoff(at))
        .with_only_columns(
            Event.id,
            Event.status,
            Event.updated_at,
            Session.id,
            Session.sequence,
            Session.status,
            Session.updated_at,
            Session.uid,
        )
        .order_by(Session.id)
    )
    return [tuple(row) for row in db.session.execute(query)]


def feed_name(site: str, topic: Topic | None) -> str:
    return f"{site}: {topic.name}" if topic is not None else site


def feed(at: datetime, site: str, topic: Topic | None = None) -> bytes:
    """The public feed: every session of every public event (of `topic`), updated and
    cancelled ones as the per-event feeds say them."""
    return build_calendar(
        feed_sessions(at, topic), name=feed_name(site, topic), refresh=timedelta(hours=1)
    ).to_ical()
