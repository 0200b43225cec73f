"""When digests go out: each reader's rhythm, hour and zone, and the periods that follow from them.

A forum's digest readers fall into a handful of *schedules*: the forum's own (daily at
`Event.digest_hour` in the forum's zone, what a reader gets who chose nothing), and those
readers chose (daily at their hour in their own zone, or weekly on their weekday at their
hour in their own zone). A schedule's digests cover back-to-back periods, each ending at
one of its instants, so no post falls between two digests of one reader; the last one
ends when the forum closes (the final digest). Everything a schedule sends is keyed by
`Schedule.target` (the `job_run` claim) and `outbox_key`, so a digest goes once per
schedule and period whoever runs the job, and every reader on it shares its bodies.

Instants come from wall times in the schedule's zone (`digest_instant`), so "8 AM" stays
8 AM for the reader across a DST change; an hour skipped by DST moves one hour later.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select

from forum.core import timezones
from forum.core.extensions import db
from forum.models import Event, Participant, Subscription


@dataclass(frozen=True)
class DigestPeriod:
    """One digest of one schedule: posts accepted in [start, end), sent at `end`.

    `label` is the stable part of its exactly-once key: the local date, or "final".
    """

    label: str
    day: date  # local date (the schedule's zone) the digest is sent on
    start: datetime | None  # None: from the forum's beginning
    end: datetime
    final: bool = False

    @property
    def due_at(self) -> datetime:
        return self.end


@dataclass(frozen=True)
class Schedule:
    """When a group of readers gets digests: `rhythm` ("daily"/"weekly") at `hour` in `zone`
    (weekly: on `weekday`, 0 = Monday). `forum_default`: the forum's own, which keeps the
    keys digests had before readers could choose."""

    rhythm: str
    zone: str
    hour: int
    weekday: int | None = None
    forum_default: bool = False

    @property
    def code(self) -> str:
        if self.forum_default:
            return ""
        if self.rhythm == "weekly":
            return f"weekly:{self.weekday}:{self.hour}:{self.zone}"
        return f"daily:{self.hour}:{self.zone}"

    def target(self, event: Event) -> str:
        """The `job_run` target of this schedule's digests of `event`."""
        return f"event:{event.id}" + (f":{self.code}" if self.code else "")

    def outbox_key(self, event: Event, period: DigestPeriod) -> str:
        """The outbox key prefix of one digest's copies (`<key>:<subscription id>` per row)."""
        return f"digest:{event.id}:" + (f"{self.code}:" if self.code else "") + period.label


def forum_schedule(event: Event) -> Schedule:
    return Schedule("daily", event.timezone, event.digest_hour, None, forum_default=True)


def schedule_for(event: Event, rhythm: str, hour: int | None, weekday: int | None, own_zone: str | None) -> Schedule:
    """The schedule of a reader with these choices (and this stored zone, checked here)."""
    zone = timezones.reader_zone(own_zone, fallback=event.timezone)
    if rhythm == "weekly":
        return Schedule("weekly", zone, event.digest_hour if hour is None else hour, (weekday or 0) % 7)
    if hour is None or (hour == event.digest_hour and zone == event.timezone):
        return forum_schedule(event)
    return Schedule("daily", zone, hour)


def schedule_of(event: Event, subscription: Subscription) -> Schedule:
    return schedule_for(
        event,
        subscription.digest_rhythm,
        subscription.digest_hour,
        subscription.digest_weekday,
        subscription.participant.timezone,
    )


def schedules_in_use(event: Event) -> list[Schedule]:
    """The schedules of the forum's active digest readers now (one small DISTINCT query)."""
    rows = db.session.execute(
        select(
            Subscription.digest_rhythm, Subscription.digest_hour, Subscription.digest_weekday, Participant.timezone
        )
        .join(Participant, Participant.id == Subscription.participant_id)
        .where(Subscription.event_id == event.id, Subscription.is_active, Subscription.mode == "digest")
        .distinct()
    ).all()
    found = {schedule_for(event, *row) for row in rows}
    return sorted(found, key=lambda s: (not s.forum_default, s.rhythm, s.zone, s.hour, s.weekday or 0))


digest_instant = timezones.hour_on  # when the digest of a local day is due


def periods(event: Event, schedule: Schedule | None = None) -> list[DigestPeriod]:
    """Every digest a schedule (by default the forum's own) sends: one per day (weekly: per
    week, on its weekday) at its hour while the forum is open, then a final one at the close."""
    start, end = event.starts_at, event.ends_at
    if start is None or end is None:
        return []
    schedule = schedule or forum_schedule(event)
    zone = schedule.zone
    out: list[DigestPeriod] = []
    previous: datetime | None = None
    day, last_day = timezones.to_zone(start, zone).date(), timezones.to_zone(end, zone).date()
    while day <= last_day:
        if schedule.weekday is None or day.weekday() == schedule.weekday:
            due = digest_instant(day, schedule.hour, zone)
            if start < due < end:
                out.append(DigestPeriod(day.isoformat(), day, previous, due))
                previous = due
        day += timedelta(days=1)
    out.append(DigestPeriod("final", last_day, previous, end, final=True))
    return out


def due_periods(
    event: Event, at: datetime, horizon: timedelta, schedule: Schedule | None = None
) -> list[DigestPeriod]:
    """Digests of a schedule due by `at` and not older than `horizon` (caught up after downtime)."""
    return [p for p in periods(event, schedule) if p.end <= at and p.end > at - horizon]


def on_schedule(event: Event, schedule: Schedule, subscriptions: Iterable[Subscription]) -> list[Subscription]:
    """The readers among `subscriptions` whose schedule is `schedule`."""
    return [s for s in subscriptions if schedule_of(event, s) == schedule]
