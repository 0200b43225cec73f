"""The scheduler process (`flask forum scheduler`): when jobs run, and only one of it.

One dedicated process per deployment runs everything that happens on a clock: it
drains the outbox every few seconds and, every minute, sends what has become due —
daily digests (and the final one at close), session reminders, timed announcements
and lessons, forum opening and closing notices. What each job does lives in
`forum/scheduling/jobs.py` (the kinds areas register, and `common/jobs.run_once`); this module holds the lock, the
heartbeat and the APScheduler wiring.

Why a process of its own and never inside gunicorn workers: gunicorn forks several
workers and recycles them (timeouts, ``max_requests``), so an in-process scheduler
would run once per worker, stop whenever its worker is killed mid-job, and its
threads do not survive the fork.  Jobs would run N times in parallel and only while
some request-serving worker happens to be alive.  Hence one process, guarded by a lock
on the database (a PostgreSQL advisory lock held on a dedicated connection, or a lock
row with a heartbeat on SQLite): a second scheduler refuses to start, unless started
with ``--standby``: then it waits for the lock and takes over when the active one dies
(PostgreSQL drops the lock with the dead process's connection; a lock row expires).

APScheduler (3.11, SQLAlchemy job store in the app's database) only decides *when* to
wake up; it is given `datetime.now(UTC)` directly (not `forum.clock`), since its
triggers run on the real clock whatever a test froze.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.events import EVENT_SCHEDULER_STARTED, SchedulerEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask, current_app, has_app_context
from sqlalchemy import delete, select, text, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from forum.core import clock
from forum.core.extensions import db
from forum.models import SchedulerLock, table_of
from forum.scheduling.jobs import KINDS, run_job

log = logging.getLogger(__name__)

__all__ = ["KINDS", "run_job", "serve", "acquire_lock", "stored_jobs", "SchedulerAlreadyRunning"]

JOB_TABLE = "apscheduler_jobs"  # excluded from Alembic autogenerate in migrations/env.py
LOCK_NAME = "forum.scheduler"
LOCK_TTL = timedelta(seconds=60)  # SQLite lock row: taken over once expired
HEARTBEAT_SECONDS = 15.0
#: How often a standby scheduler tries the lock: it takes over this soon after it is freed.
STANDBY_POLL_SECONDS = 5.0
#: Server-side TCP keepalive on the lock connection: a lock holder whose host vanished
#: (power loss, network cut) loses the lock within about idle + interval * count seconds.
LOCK_KEEPALIVE = {"tcp_keepalives_idle": 10, "tcp_keepalives_interval": 5, "tcp_keepalives_count": 3}
MISFIRE_GRACE_SECONDS = 300
OUTBOX_SECONDS = 5
SWEEP_SECONDS = 60
RETENTION_SECONDS = 24 * 60 * 60


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
        for name, value in LOCK_KEEPALIVE.items():  # ignored on Unix sockets, where death is seen at once
            self.conn.execute(text(f"SET {name} = {int(value)}"))
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


class SchedulerStopped(RuntimeError):
    """A standby scheduler was told to stop before it got the lock."""


def acquire_lock(
    engine: Engine,
    *,
    wait: bool = False,
    stop: threading.Event | None = None,
    poll: float = STANDBY_POLL_SECONDS,
    on_wait: Callable[[str], None] | None = None,
) -> SchedulerLease:
    """Take the one-scheduler lock for this database, or raise SchedulerAlreadyRunning.

    With `wait` (a standby scheduler), try again every `poll` seconds until the lock is
    free, telling `on_wait` once who holds it; `stop` being set ends the wait with
    SchedulerStopped.  Polling rather than a blocking `pg_advisory_lock` keeps the
    process responsive to SIGTERM and works the same on the SQLite lock row.
    """
    told = False
    while True:
        try:
            if engine.dialect.name == "postgresql":
                return _AdvisoryLease(engine)
            return _RowLease(engine)
        except SchedulerAlreadyRunning as exc:
            if not wait:
                raise
            if not told and on_wait is not None:
                on_wait(str(exc).split(";")[0])
                told = True
        if (stop or threading.Event()).wait(poll):
            raise SchedulerStopped("stopped while waiting for the scheduler lock")


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


#: How often the scheduler runs each job kind an area registered (`run_job`), by interval.
RUN_EVERY: dict[int, tuple[str, ...]] = {
    SWEEP_SECONDS: (
        "digests",
        "reminders",
        "announcements",
        "notices",
        "recordings",
        "ce",
        "pathways",
        "mentoring",
        "hold-notices",
    ),
    RETENTION_SECONDS: ("retention", "link-check", "team-retention"),
    OUTBOX_SECONDS: ("webhooks",),
}

JOBS: tuple[JobSpec, ...] = (
    JobSpec("outbox", "forum.scheduling.scheduler:drain_outbox", OUTBOX_SECONDS),
    *(
        JobSpec(kind, "forum.scheduling.scheduler:run_scheduled", seconds, (kind,))
        for seconds, kinds in RUN_EVERY.items()
        for kind in kinds
    ),
)

_app: Flask | None = None


def bind_app(app: Flask) -> None:
    """The app the job functions run in (set by the scheduler command)."""
    global _app
    _app = app


def _job_app() -> Flask:
    """The bound app (`serve` binds it before the first job), else the one in context.

    Never the app factory: `forum/__init__.py` imports the CLI, which imports this module,
    so building an app here would be a circle through the top of the package.
    """
    if _app is not None:
        return _app
    if has_app_context():
        return current_app._get_current_object()  # type: ignore[attr-defined,no-any-return]
    raise RuntimeError("no app to run the job in: jobs run in the scheduler (`serve` binds one)")


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
    standby: bool = False,
    stop: threading.Event | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> None:
    """Take the lock and run the scheduler until it is shut down (blocks with BlockingScheduler).

    Raises SchedulerAlreadyRunning if another scheduler holds the lock, unless `standby`:
    then it waits for the lock (see `acquire_lock`) and raises SchedulerStopped if
    `stop` is set first.
    """
    with app.app_context():
        engine = db.engine
        lease = acquire_lock(engine, wait=standby, stop=stop, on_wait=on_wait)
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
    scheduler = BackgroundScheduler(jobstores={"default": job_store(engine)}, timezone=UTC)
    scheduler.start(paused=True)
    try:
        return [
            {"id": job.id, "name": job.name, "next_run_time": job.next_run_time, "trigger": str(job.trigger)}
            for job in scheduler.get_jobs()
        ]
    finally:
        scheduler.shutdown(wait=False)
