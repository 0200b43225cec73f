"""Delivery health of one event's mail: what was sent, refused or is still waiting, per day.

Read from the outbox rows themselves (their status and times survive the retention
job, which only clears the bytes). Each row counts once, on the day of its latest
outcome in the event's time zone: ``sent`` on its sent_at, ``failed`` on the moment
it failed (the sender sets next_attempt_at to that instant), and queued, retrying or
being-sent rows on the day they were queued.

The database groups by (status, instant): a fan-out's rows share their enqueue time
and each group commit shares one sent_at, so a 10,000-copy digest comes back as a
few dozen rows; only the last step, instant to local day, happens here in Python
(zone maths belongs to forum.timezones alone).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import case, func, select

from forum.core import clock
from forum.core.extensions import db
from forum.core.timezones import to_zone
from forum.models import Event, OutboundMessage, Subscription

#: Chart buckets, in stacking order (bottom first).
OUTCOMES = ("sent", "failed", "waiting")


@dataclass(frozen=True)
class DayMail:
    """One local day's mail for an event."""

    day: date
    sent: int = 0
    failed: int = 0
    waiting: int = 0

    @property
    def total(self) -> int:
        return self.sent + self.failed + self.waiting


@dataclass(frozen=True)
class BounceCounts:
    """Subscriptions hurt by hard bounces: switched off, and still on but bouncing."""

    disabled: int
    bouncing: int


def _outcome_time():  # type: ignore[no-untyped-def]
    """The instant a row's current outcome belongs to (see the module docstring)."""
    return case(
        (OutboundMessage.status == "sent", OutboundMessage.sent_at),
        (OutboundMessage.status == "failed", OutboundMessage.next_attempt_at),
        else_=OutboundMessage.created_at,
    )


def daily_mail(event: Event, days: int = 30, now: datetime | None = None) -> list[DayMail]:
    """The last `days` local days of `event`'s mail (today included), oldest first."""
    now = now or clock.now()
    today = to_zone(now, event.timezone).date()
    first = today - timedelta(days=days - 1)
    when = _outcome_time().label("at")
    rows = db.session.execute(
        select(OutboundMessage.status, when, func.count())
        .where(
            OutboundMessage.event_id == event.id,
            OutboundMessage.status != "cancelled",  # never meant to leave (erased recipient)
            when >= now - timedelta(days=days + 1),  # a day of slack for any zone offset
        )
        .group_by(OutboundMessage.status, when)
    ).all()
    counts = {first + timedelta(days=n): dict.fromkeys(OUTCOMES, 0) for n in range(days)}
    for status, at, n in rows:
        if at is None:
            continue
        day = to_zone(at, event.timezone).date()
        if day in counts:
            counts[day][status if status in ("sent", "failed") else "waiting"] += n
    return [DayMail(day, **c) for day, c in counts.items()]


def bounce_counts(event: Event) -> BounceCounts:
    """How many of the event's subscriptions bounces disabled, and how many bounce but still get mail."""
    disabled, bouncing = db.session.execute(
        select(
            func.count().filter(Subscription.status == "disabled"),
            func.count().filter(
                Subscription.status.in_(("active", "pending")), Subscription.hard_bounces > 0
            ),
        ).where(Subscription.event_id == event.id)
    ).one()
    return BounceCounts(disabled=disabled or 0, bouncing=bouncing or 0)
