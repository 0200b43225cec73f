"""What the scheduler remembers: job runs (the exactly-once keys), timed announcements, its lock.

APScheduler's own table (``apscheduler_jobs``) only says *when* to wake up; whether a
digest, reminder or announcement already went out is recorded here, in the same
transaction as the mail it caused, so reruns, races and catch-ups send nothing twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from forum.core import clock
from forum.core.extensions import Model
from forum.core.timezones import localize, to_zone
from forum.models.base import Keyed, Timestamps, TZDateTime, WallTime, belongs_to
from forum.models.events import Event

ANNOUNCEMENT_KINDS = {"announcement": "Announcement", "lesson": "Lesson"}
ANNOUNCEMENT_STATUSES = ("draft", "scheduled", "sent", "cancelled")


class JobRun(Keyed, Model):
    """One unit of scheduled output (a day's digest, one reminder, one announcement).

    The unique (kind, target, period) key is inserted before the mails are enqueued and
    committed with them: a second run, a racing scheduler or a catch-up hits the key
    and sends nothing.  `recipients` is 0 for a run that was deliberately skipped
    (an empty digest, a reminder superseded by a later one), and `note` says why.
    """

    __tablename__ = "job_run"
    __table_args__ = (UniqueConstraint("kind", "target", "period"),)

    kind: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(120))
    period: Mapped[str] = mapped_column(String(120))
    ran_at: Mapped[datetime] = mapped_column(TZDateTime(), default=clock.now)
    due_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str] = mapped_column(String(200), default="")


class Announcement(Keyed, Timestamps, Model):
    """A message (or one lesson of a workshop) an officer writes now and schedules for later.

    `send_wall` is what the officer typed, a wall time in `timezone` (the event's zone
    when written); `send_at` is the derived instant the scheduler compares with.
    """

    __tablename__ = "announcement"

    event_id: Mapped[int] = belongs_to("event")
    kind: Mapped[str] = mapped_column(String(16), default="announcement")
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")  # Markdown
    send_wall: Mapped[datetime] = mapped_column(WallTime())
    timezone: Mapped[str] = mapped_column(String(64))
    send_at: Mapped[datetime] = mapped_column(TZDateTime(), index=True)
    status: Mapped[str] = mapped_column(String(16), default="scheduled", index=True)
    sent_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    recipients: Mapped[int] = mapped_column(Integer, default=0)

    event: Mapped[Event] = relationship()

    def set_send_time(self, wall: datetime, zone: str) -> str | None:
        """Set the wall time and derive `send_at`; returns a note for an ambiguous time.

        Raises `timezones.TimeInputError` for a time in a spring-forward gap.
        """
        localized = localize(wall, zone)
        self.send_wall, self.timezone, self.send_at = wall, zone, localized.instant
        return localized.note

    @property
    def kind_label(self) -> str:
        return ANNOUNCEMENT_KINDS.get(self.kind, self.kind)

    @property
    def send_local(self) -> datetime:
        return to_zone(self.send_at, self.timezone)

    @property
    def editable(self) -> bool:
        return self.status in ("draft", "scheduled")


class SchedulerLock(Model):
    """The one-scheduler-per-database lock where there are no advisory locks (SQLite).

    The holder renews `expires_at` with a heartbeat; a lock whose holder died is taken
    over once it has expired.
    """

    __tablename__ = "scheduler_lock"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[datetime] = mapped_column(TZDateTime())
    heartbeat_at: Mapped[datetime] = mapped_column(TZDateTime())
    expires_at: Mapped[datetime] = mapped_column(TZDateTime())
