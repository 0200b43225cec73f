"""The scheduler process (`flask forum scheduler`) and the jobs it runs.

One dedicated process per deployment runs everything that happens on a clock: it
drains the outbox every few seconds and, every minute, sends what has become due —
daily digests (and the final one at close), session reminders, timed announcements
and lessons, forum opening and closing notices.

Why a process of its own and never inside gunicorn workers: gunicorn forks several
workers and recycles them (timeouts, ``max_requests``), so an in-process scheduler
would run once per worker, stop whenever its worker is killed mid-job, and its
threads do not survive the fork.  Jobs would run N times in parallel and only while
some request-serving worker happens to be alive.  Hence one process, guarded by a lock
on the database (a PostgreSQL advisory lock held on a dedicated connection, or a lock
row with a heartbeat on SQLite): a second scheduler refuses to start.

APScheduler (3.11, SQLAlchemy job store in the app's database) only decides *when* to
wake up.  Whether something was sent is recorded in our own ``job_run`` table: every
unit of output has a unique (kind, target, period) key, inserted in the same
transaction as the mail it enqueues (each mail with its own outbox key too).  A rerun,
two racing schedulers or a catch-up after downtime therefore sends nothing twice.
Jobs compute what is due up to an explicit instant ``at`` (default: now), so missed
digests are caught up with their own date, while a reminder whose session has begun
is skipped rather than sent late.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from apscheduler.events import EVENT_SCHEDULER_STARTED, SchedulerEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask
from sqlalchemy import delete, select, text, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from . import calendar, clock, digests, mail_texts, subjects, timezones
from .extensions import db
from .mail.bulk import Attachment
from .mail.compose import list_messages
from .mail.outbox import enqueue_copies
from .models import Announcement, Event, JobRun, SchedulerLock, Session, Subscription, table_of
from .web.urls import external_url

log = logging.getLogger(__name__)

JOB_TABLE = "apscheduler_jobs"  # excluded from Alembic autogenerate in migrations/env.py
LOCK_NAME = "forum.scheduler"
LOCK_TTL = timedelta(seconds=60)  # SQLite lock row: taken over once expired
HEARTBEAT_SECONDS = 15.0
MISFIRE_GRACE_SECONDS = 300
OUTBOX_SECONDS = 5
SWEEP_SECONDS = 60
RETENTION_SECONDS = 24 * 60 * 60
#: How far back a restarted scheduler catches up digests and notices.
CATCH_UP = timedelta(days=7)
#: How far ahead reminders look (longer offsets than this are not supported).
REMINDER_LOOKAHEAD = timedelta(days=30)

KINDS: dict[str, str] = {
    "outbox": "send queued mail",
    "digests": "daily e-forum digests, and the final one at close",
    "reminders": "reminders before webinar sessions",
    "announcements": "timed announcements and lessons",
    "notices": "e-forum opening and closing notices",
    "retention": "clear the text of mail sent more than MAIL_KEEP_DAYS ago",
}


# --- exactly once -------------------------------------------------------------------------


@dataclass
class JobReport:
    """What one run of a job did, for logs and `flask forum run-job`."""

    kind: str
    at: datetime
    messages: int = 0
    lines: list[str] = field(default_factory=list)

    def add(self, line: str, messages: int = 0) -> None:
        self.lines.append(line)
        self.messages += messages


def run_once(
    kind: str, target: str, period: str, due_at: datetime | None, send: Callable[[], tuple[int, str]]
) -> JobRun | None:
    """Claim (kind, target, period), run `send` in the same transaction, commit.

    Returns None, sending nothing, when the key was claimed before (by an earlier run
    or a racing scheduler, whose insert makes ours fail on the unique constraint).
    If `send` fails, the claim is rolled back with its mails and a later run retries.
    """
    exists = select(JobRun.id).where(JobRun.kind == kind, JobRun.target == target, JobRun.period == period)
    if db.session.scalar(exists) is not None:
        db.session.rollback()
        return None
    run = JobRun(kind=kind, target=target, period=period, due_at=due_at, ran_at=clock.now())
    try:
        with db.session.begin_nested():
            db.session.add(run)
    except IntegrityError:
        db.session.rollback()
        return None
    try:
        count, note = send()
        run.recipients, run.note = count, note[:200]
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return run


def _skip(count_note: str) -> Callable[[], tuple[int, str]]:
    return lambda: (0, count_note)


def active_subscriptions(event: Event, *, include_no_mail: bool) -> list[Subscription]:
    """Active subscribers of an event; those who chose "No mail" only when `include_no_mail`."""
    stmt = select(Subscription).where(Subscription.event_id == event.id, Subscription.status == "active")
    if not include_no_mail:
        stmt = stmt.where(Subscription.mode != "none")
    stmt = stmt.options(joinedload(Subscription.participant)).order_by(Subscription.id)
    return list(db.session.scalars(stmt))


# --- the jobs -------------------------------------------------------------------------------


class UnknownJob(ValueError):
    """A job kind that does not exist."""


def run_job(kind: str, *, event: Event | None = None, at: datetime | None = None) -> JobReport:
    """Run one job now: send whatever of `kind` is due by `at` (default: now), each thing once."""
    if kind not in KINDS:
        raise UnknownJob(f"unknown job {kind!r}; choose one of {', '.join(KINDS)}")
    at = at or clock.now()
    if at.tzinfo is None:
        raise ValueError("`at` must be an aware instant")
    report = JobReport(kind=kind, at=at)
    if kind == "outbox":
        _drain_outbox(report)
    elif kind == "digests":
        for ev in [event] if event else _open_forums(at):
            _digests(ev, at, report)
    elif kind == "notices":
        for ev in [event] if event else _open_forums(at):
            _notices(ev, at, report)
    elif kind == "reminders":
        _reminders(at, report, event)
    elif kind == "announcements":
        _announcements(at, report, event)
    elif kind == "retention":
        _retention(at, report)
    return report


def _open_forums(at: datetime) -> list[Event]:
    """Published e-forums that ran within the catch-up window (or are running now)."""
    stmt = (
        select(Event)
        .where(
            Event.kind == "eforum",
            Event.status == "published",
            Event.id.in_(
                select(Session.event_id).where(
                    Session.status != "cancelled", Session.ends_at > at - CATCH_UP, Session.starts_at <= at
                )
            ),
        )
        .order_by(Event.id)
    )
    return list(db.session.scalars(stmt))


def _drain_outbox(report: JobReport) -> None:
    try:
        from .mail.sender import send_due
    except ImportError:  # the mail pipeline is not installed in this build
        report.add("no mail sender available (forum.mail.sender)")
        return
    result = send_due(worker_id=f"scheduler:{socket.gethostname()}:{os.getpid()}")
    if getattr(result, "processed", 1):  # quiet when there was nothing to send
        report.add(f"outbox: {result}", int(getattr(result, "sent", 0)))


def _retention(at: datetime, report: JobReport) -> None:
    """Drop the bytes of mail sent long before `at`; the rows stay (see forum.mail.retention)."""
    from .mail.retention import clear_old_messages, cutoff

    cleared = clear_old_messages(at)
    if cleared:
        report.add(
            f"retention: cleared the text of {cleared} message(s) sent before {cutoff(at).isoformat()}"
        )


def _digests(event: Event, at: datetime, report: JobReport) -> None:
    if not event.is_eforum or event.status != "published":
        return
    for period in digests.due_periods(event, at, CATCH_UP):
        run = run_once(
            "digest",
            f"event:{event.id}",
            period.label,
            period.due_at,
            partial(digests.send_digest, event, period),
        )
        if run is not None:
            report.add(
                f"digest {event.slug} {period.label}: {run.recipients} messages ({run.note})", run.recipients
            )


def _notices(event: Event, at: datetime, report: JobReport) -> None:
    """The forum is open / has closed: one notice each to its subscribers."""
    start, end = event.starts_at, event.ends_at
    if start is None or end is None or event.status != "published":
        return
    target = f"event:{event.id}"
    if start <= at < end:
        run = run_once("forum-open", target, "open", start, lambda: _send_notice(event, "forum_open"))
        if run is not None:
            report.add(f"forum-open {event.slug}: {run.recipients} messages", run.recipients)
    elif end <= at < end + CATCH_UP:
        run = run_once("forum-closed", target, "closed", end, lambda: _send_notice(event, "forum_closed"))
        if run is not None:
            report.add(f"forum-closed {event.slug}: {run.recipients} messages", run.recipients)


def _send_notice(event: Event, template: str) -> tuple[int, str]:
    opening = template == "forum_open"
    zone = event.timezone
    end = event.ends_at
    subject = (
        f"[{event.title}] The e-forum is open: reply to this message to post"
        if opening
        else f"[{event.title}] The e-forum has closed: thank you"
    )

    def viewer_zone(subscription: Subscription) -> str:
        return subscription.participant.timezone or zone

    kind = template.replace("_", "-")
    by_name = mail_texts.uses_name(event, template)
    copies = list_messages(
        event=event,
        subscriptions=active_subscriptions(event, include_no_mail=False),
        subject=subject,
        template=template,
        context={
            "archive_url": external_url("discussion.archive", slug=event.slug),
            "event_url": external_url("public.event", slug=event.slug),
        },
        group_key=lambda s: (viewer_zone(s), s.mode, s.participant.name if by_name else ""),  # the text shows these
        group_context=lambda s: {
            "closes": timezones.stated_instant(end, zone, s.participant.timezone) if end else ""
        },
        shared={"participant.timezone", "subscription.mode", *(["participant.name"] if by_name else [])},
        automated=True,
        posting_open=opening,
    )
    return enqueue_copies(copies, kind=kind, key=f"{kind}:{event.id}", event_id=event.id), ""


# reminders


def _reminders(at: datetime, report: JobReport, event: Event | None) -> None:
    """Remind subscribers before each webinar session, at the event's offsets.

    When several offsets are overdue (the scheduler was down), only the latest one
    is sent and the others are recorded as superseded; a session that has begun
    gets no reminder at all.
    """
    stmt = (
        select(Session)
        .join(Event)
        .where(
            Event.kind == "series",
            Event.status == "published",
            Session.status != "cancelled",
            Session.starts_at > at,
            Session.starts_at <= at + REMINDER_LOOKAHEAD,
        )
        .order_by(Session.starts_at, Session.id)
    )
    if event is not None:
        stmt = stmt.where(Session.event_id == event.id)
    for session in db.session.scalars(stmt).all():
        overdue = [
            m for m in session.event.reminder_minutes if session.starts_at - timedelta(minutes=m) <= at
        ]
        if not overdue:
            continue
        latest = min(overdue)
        stamp = session.starts_at.strftime("%Y%m%dT%H%MZ")
        for minutes in sorted(overdue, reverse=True):
            period = f"{minutes}m@{stamp}"
            due = session.starts_at - timedelta(minutes=minutes)
            send = (
                partial(_send_reminder, session, minutes)
                if minutes == latest
                else _skip(f"superseded by the {latest}-minute reminder")
            )
            run = run_once("reminder", f"session:{session.id}", period, due, send)
            if run is not None:
                report.add(
                    f"reminder {session.event.slug} session {session.id} {period}: {run.recipients} messages",
                    run.recipients,
                )


def offset_text(minutes: int) -> str:
    """`1 day`, `1 hour`, `90 minutes`: how far ahead a reminder is, in words."""
    if minutes % 1440 == 0:
        n, unit = minutes // 1440, "day"
    elif minutes % 60 == 0:
        n, unit = minutes // 60, "hour"
    else:
        n, unit = minutes, "minute"
    return f"{n} {unit}" + ("s" if n != 1 else "")


def session_time_for(session: Session, zone: str) -> str:
    """`Tuesday, 11/5/2024, 10:00 AM-11:00 AM (Eastern)` in the recipient's zone."""
    labels = {z.name: z.label for z in timezones.display_zones()}
    local = timezones.to_zone(session.starts_at, zone)
    label = labels.get(zone) or timezones.zone_label(zone)
    span = timezones.format_range(session.starts_at, session.ends_at, zone, f"{label}, {local.tzname()}")
    return f"{timezones.format_date(local)}, {span}"


def _send_reminder(session: Session, minutes: int) -> tuple[int, str]:
    event = session.event
    subject = subjects.session_subject("Reminder", session, f"starts in {offset_text(minutes)}")
    by_name = mail_texts.uses_name(event, "reminder")  # the officer's text greets by name

    def viewer_zone(subscription: Subscription) -> str:
        return subscription.participant.timezone or event.timezone

    def calendar_file(subscription: Subscription) -> list[Attachment]:
        """The session's .ics naming the recipient as attendee: the one per-recipient part."""
        ics = calendar.session_file(session, subscription.participant)
        return [Attachment(ics, "text", "calendar", "session.ics")]

    copies = list_messages(
        event=event,
        subscriptions=active_subscriptions(event, include_no_mail=True),
        subject=subject,
        template="reminder",
        context={
            "session": session,
            "starts_in": offset_text(minutes),
            "event_url": external_url("public.event", slug=event.slug),
            "ics_url": external_url("feeds.session_ics", slug=event.slug, session_id=session.id),
        },
        group_key=lambda s: (viewer_zone(s), s.participant.name if by_name else ""),
        group_context=lambda s: {
            "local_time": session_time_for(session, viewer_zone(s)),
            "zone_lines": timezones.session_zone_lines(session, s.participant.timezone),
        },
        shared={"participant.timezone", *(["participant.name"] if by_name else [])},
        attachments=calendar_file,
        automated=True,
        posting_open=False,
    )
    stamp = session.starts_at.strftime("%Y%m%dT%H%MZ")
    count = enqueue_copies(
        copies, kind="reminder", key=f"reminder:{session.id}:{minutes}:{stamp}", event_id=event.id
    )
    return count, ""


# announcements and lessons


def _announcements(at: datetime, report: JobReport, event: Event | None) -> None:
    """Send every scheduled announcement whose time has come (late ones too: lessons matter)."""
    stmt = (
        select(Announcement)
        .join(Event)
        .where(Announcement.status == "scheduled", Announcement.send_at <= at, Event.status == "published")
        .order_by(Announcement.send_at, Announcement.id)
    )
    if event is not None:
        stmt = stmt.where(Announcement.event_id == event.id)
    for ann_id in [a.id for a in db.session.scalars(stmt)]:
        announcement = db.session.get(Announcement, ann_id)
        if announcement is None or announcement.status != "scheduled":
            continue
        run = run_once(
            "announcement",
            f"announcement:{announcement.id}",
            "send",
            announcement.send_at,
            partial(_send_announcement, announcement, at),
        )
        if run is not None:
            report.add(
                f"announcement {announcement.id} ({announcement.subject}): {run.recipients} messages",
                run.recipients,
            )


def lesson_number(announcement: Announcement) -> int:
    """A lesson's place among its event's lessons, by send time (cancelled ones left out)."""
    stmt = select(Announcement.id).where(
        Announcement.event_id == announcement.event_id,
        Announcement.kind == "lesson",
        Announcement.status != "cancelled",
    )
    ids = list(db.session.scalars(stmt.order_by(Announcement.send_at, Announcement.id)))
    return ids.index(announcement.id) + 1 if announcement.id in ids else len(ids) + 1


def announcement_subject(announcement: Announcement) -> str:
    event = announcement.event
    if announcement.kind == "lesson":
        return f"[{event.title}] Lesson {lesson_number(announcement)}: {announcement.subject}"
    return f"[{event.title}] {announcement.subject}"


def _send_announcement(announcement: Announcement, at: datetime) -> tuple[int, str]:
    event = announcement.event
    subject = announcement_subject(announcement)

    copies = list_messages(
        event=event,
        subscriptions=active_subscriptions(event, include_no_mail=False),
        subject=subject,
        template="announcement",
        context={"announcement": announcement, "event_url": external_url("public.event", slug=event.slug)},
        automated=True,
    )
    count = enqueue_copies(
        copies, kind="announcement", key=f"announcement:{announcement.id}", event_id=event.id
    )
    announcement.status, announcement.sent_at, announcement.recipients = "sent", at, count
    return count, ""


# --- the lock: one scheduler per database -----------------------------------------------------


class SchedulerAlreadyRunning(RuntimeError):
    """Another scheduler holds the lock on this database."""


class SchedulerLease(ABC):
    """Held for the scheduler process's lifetime; `renew()` is its heartbeat."""

    @abstractmethod
    def renew(self) -> bool:
        """Extend the lease; False when it was lost (the scheduler must stop)."""

    @abstractmethod
    def release(self) -> None:
        """Give the lease up so another scheduler may start."""


class _AdvisoryLease(SchedulerLease):
    """PostgreSQL: a session-level advisory lock on a dedicated connection.

    The key is derived from the database and schema names, so two deployments sharing
    a server (or two test schemas) do not block each other. The lock dies with the
    connection, so a crashed scheduler never leaves it behind.
    """

    def __init__(self, engine: Engine):
        self.conn: Connection = engine.connect()
        self.key: int = self.conn.execute(
            text("SELECT hashtextextended(:name || ':' || current_database() || ':' || current_schema(), 0)"),
            {"name": LOCK_NAME},
        ).scalar_one()
        got = self.conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar_one()
        self.conn.commit()
        if not got:
            holder = self.conn.execute(
                text(
                    "SELECT a.client_addr::text, a.pid, a.backend_start FROM pg_locks l "
                    "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' "
                    "AND l.granted AND ((l.classid::bigint << 32) | l.objid::bigint) = :k LIMIT 1"
                ),
                {"k": self.key},
            ).first()
            self.conn.rollback()
            self.conn.invalidate()
            self.conn.close()
            where = (
                f" (database backend pid {holder[1]}, connected {holder[2]:%Y-%m-%d %H:%M} UTC)"
                if holder
                else ""
            )
            raise SchedulerAlreadyRunning(
                f"another scheduler is already running against this database{where}; "
                "run exactly one `flask forum scheduler` per deployment"
            )

    def renew(self) -> bool:
        try:
            self.conn.execute(text("SELECT 1"))
            self.conn.commit()
        except Exception:  # the connection (and with it the lock) is gone
            log.exception("scheduler lock connection lost")
            return False
        return True

    def release(self) -> None:
        try:
            self.conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
            self.conn.commit()
        except Exception:  # noqa: S110 - closing the connection below releases it anyway
            pass
        self.conn.invalidate()
        self.conn.close()


class _RowLease(SchedulerLease):
    """SQLite (or any database without advisory locks): a lock row with a heartbeat.

    The holder pushes `expires_at` forward every HEARTBEAT_SECONDS; a row whose holder
    died expires after LOCK_TTL and the next scheduler takes it over.
    """

    def __init__(self, engine: Engine, ttl: timedelta = LOCK_TTL):
        self.engine, self.ttl = engine, ttl
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        table = table_of(SchedulerLock)
        now = clock.now()
        with engine.begin() as conn:
            try:
                with conn.begin_nested():
                    conn.execute(
                        table.insert().values(
                            name=LOCK_NAME,
                            holder=self.holder,
                            acquired_at=now,
                            heartbeat_at=now,
                            expires_at=now + ttl,
                        )
                    )
                return
            except IntegrityError:
                pass
            taken = conn.execute(
                update(table)
                .where(table.c.name == LOCK_NAME, table.c.expires_at < now)
                .values(holder=self.holder, acquired_at=now, heartbeat_at=now, expires_at=now + ttl)
            ).rowcount
            if taken == 1:
                return
            row = conn.execute(select(table).where(table.c.name == LOCK_NAME)).first()
        seen = (
            f" (held by {row.holder}, last heartbeat {row.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC)" if row else ""
        )
        raise SchedulerAlreadyRunning(
            f"another scheduler is already running against this database{seen}; "
            "run exactly one `flask forum scheduler` per deployment"
        )

    def renew(self) -> bool:
        table = table_of(SchedulerLock)
        now = clock.now()
        with self.engine.begin() as conn:
            kept = conn.execute(
                update(table)
                .where(table.c.name == LOCK_NAME, table.c.holder == self.holder)
                .values(heartbeat_at=now, expires_at=now + self.ttl)
            ).rowcount
        return kept == 1

    def release(self) -> None:
        table = table_of(SchedulerLock)
        with self.engine.begin() as conn:
            conn.execute(delete(table).where(table.c.name == LOCK_NAME, table.c.holder == self.holder))


def acquire_lock(engine: Engine) -> SchedulerLease:
    """Take the one-scheduler lock for this database, or raise SchedulerAlreadyRunning."""
    if engine.dialect.name == "postgresql":
        return _AdvisoryLease(engine)
    return _RowLease(engine)


class Heartbeat(threading.Thread):
    """Renews the lease; if it is lost, stops the scheduler rather than run twice."""

    def __init__(self, lease: SchedulerLease, app: Flask, on_lost: Callable[[], None]):
        super().__init__(name="scheduler-heartbeat", daemon=True)
        self.lease, self.app, self.on_lost = lease, app, on_lost
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(HEARTBEAT_SECONDS):
            with self.app.app_context():
                ok = self.lease.renew()
            if not ok:
                log.error("scheduler lock lost; stopping so that two schedulers never run at once")
                self.on_lost()
                return


# --- APScheduler wiring -----------------------------------------------------------------------


@dataclass(frozen=True)
class JobSpec:
    id: str
    func: str  # "module:function" text reference, stored as such in the job store
    seconds: int
    args: tuple[str, ...] = ()


JOBS: tuple[JobSpec, ...] = (
    JobSpec("outbox", "forum.scheduler:drain_outbox", OUTBOX_SECONDS),
    JobSpec("digests", "forum.scheduler:run_scheduled", SWEEP_SECONDS, ("digests",)),
    JobSpec("reminders", "forum.scheduler:run_scheduled", SWEEP_SECONDS, ("reminders",)),
    JobSpec("announcements", "forum.scheduler:run_scheduled", SWEEP_SECONDS, ("announcements",)),
    JobSpec("notices", "forum.scheduler:run_scheduled", SWEEP_SECONDS, ("notices",)),
    JobSpec("retention", "forum.scheduler:run_scheduled", RETENTION_SECONDS, ("retention",)),
)

_app: Flask | None = None


def bind_app(app: Flask) -> None:
    """The app the job functions run in (set by the scheduler command)."""
    global _app
    _app = app


def _job_app() -> Flask:
    global _app
    if _app is None:
        from . import create_app

        _app = create_app()
    return _app


def run_scheduled(kind: str) -> None:
    """Job entry point (stored by reference): run one kind of job in its own app context."""
    app = _job_app()
    with app.app_context():
        try:
            report = run_job(kind)
        except Exception:
            db.session.rollback()
            log.exception("job %s failed; it will be retried on its next run", kind)
            return
        for line in report.lines:
            log.info("%s", line)


def drain_outbox() -> None:
    """Job entry point: hand due outbox rows to the sender."""
    run_scheduled("outbox")


def job_store(engine: Engine) -> SQLAlchemyJobStore:
    return SQLAlchemyJobStore(engine=engine, tablename=JOB_TABLE)


def build_scheduler(engine: Engine, scheduler_cls: type[BaseScheduler] = BlockingScheduler) -> BaseScheduler:
    """A scheduler with our fixed jobs on the database job store; every job runs at start-up."""
    workers = 1 if engine.dialect.name == "sqlite" else 4  # SQLite has one writer anyway
    scheduler = scheduler_cls(
        jobstores={"default": job_store(engine)},
        executors={"default": ThreadPoolExecutor(workers)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE_SECONDS},
        timezone=UTC,
    )
    start = datetime.now(UTC)
    for spec in JOBS:
        scheduler.add_job(
            spec.func,
            "interval",
            seconds=spec.seconds,
            args=list(spec.args),
            id=spec.id,
            name=KINDS[spec.id],
            replace_existing=True,
            next_run_time=start,  # catch up at once after downtime
        )
    return scheduler


def _prune_unknown_jobs(scheduler: BaseScheduler) -> None:
    """Remove stored jobs this version no longer defines (renamed or retired ids)."""
    known = {spec.id for spec in JOBS}
    for job in scheduler.get_jobs():
        if job.id not in known:
            scheduler.remove_job(job.id)


def serve(
    app: Flask,
    *,
    scheduler_cls: type[BaseScheduler] = BlockingScheduler,
    on_ready: Callable[[BaseScheduler], None] | None = None,
) -> None:
    """Take the lock and run the scheduler until it is shut down (blocks with BlockingScheduler).

    Raises SchedulerAlreadyRunning if another scheduler holds the lock.
    """
    with app.app_context():
        engine = db.engine
        lease = acquire_lock(engine)
    try:
        bind_app(app)
        scheduler = build_scheduler(engine, scheduler_cls)
        heartbeat = Heartbeat(lease, app, on_lost=lambda: scheduler.shutdown(wait=False))

        def started(_event: SchedulerEvent) -> None:
            _prune_unknown_jobs(scheduler)
            heartbeat.start()
            if on_ready is not None:
                on_ready(scheduler)

        scheduler.add_listener(started, EVENT_SCHEDULER_STARTED)
        try:
            scheduler.start()
        finally:
            heartbeat.stopped.set()
    finally:
        with app.app_context():
            lease.release()


def stored_jobs(engine: Engine) -> list[dict[str, Any]]:
    """The jobs in the job store with their next run times, without running any of them."""
    from apscheduler.schedulers.background import BackgroundScheduler

    scheduler = BackgroundScheduler(jobstores={"default": job_store(engine)}, timezone=UTC)
    scheduler.start(paused=True)
    try:
        return [
            {"id": job.id, "name": job.name, "next_run_time": job.next_run_time, "trigger": str(job.trigger)}
            for job in scheduler.get_jobs()
        ]
    finally:
        scheduler.shutdown(wait=False)
