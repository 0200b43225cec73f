"""The scheduler process: one per database, a real job store, racing runs, and its commands."""

from __future__ import annotations

import threading
import time
from datetime import datetime

import pytest
from sqlalchemy import select, text

from forum.core import clock
from forum.core.extensions import db
from forum.models import Announcement
from forum.scheduling import scheduler
from tests.support.scheduling import add_post, eastern, make_forum, make_series, outbox, race_job, subscribe


def test_a_second_scheduler_is_refused_until_the_first_stops(app):
    first = scheduler.acquire_lock(db.engine)
    try:
        with pytest.raises(scheduler.SchedulerAlreadyRunning, match="another scheduler is already running"):
            scheduler.acquire_lock(db.engine)
        result = app.test_cli_runner().invoke(args=["forum", "scheduler"])
        assert result.exit_code == 1
        assert "Error: another scheduler is already running against this database" in result.output
        assert len(result.output.strip().splitlines()) == 1
    finally:
        first.release()
    second = scheduler.acquire_lock(db.engine)  # free again once the first let go
    second.release()


def test_a_lock_row_whose_holder_died_is_taken_over_after_it_expires(app):
    t0 = datetime(2030, 1, 1, 12, tzinfo=scheduler.UTC)
    with clock.frozen(t0):
        dead = scheduler._RowLease(db.engine)
        with pytest.raises(scheduler.SchedulerAlreadyRunning, match="last heartbeat"):
            scheduler._RowLease(db.engine)
    with clock.frozen(t0 + scheduler.LOCK_TTL / 2):
        assert dead.renew()  # a live holder keeps it
    with clock.frozen(t0 + scheduler.LOCK_TTL * 2):
        heir = scheduler._RowLease(db.engine)
        assert not dead.renew()  # the old holder learns it lost the lock, and stops
        heir.release()


def _due_announcement() -> Announcement:
    event = make_series(starts=[datetime(2030, 10, 15, 10)])
    subscribe(event, "each@example.org", mode="each")
    announcement = Announcement(event=event, subject="Welcome", body="Hello", kind="announcement")
    announcement.set_send_time(datetime(2020, 1, 1, 9), event.timezone)  # long overdue
    db.session.add(announcement)
    db.session.commit()
    return announcement


def _wait_for(condition, seconds: float = 15.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_the_real_blocking_scheduler_persists_its_jobs_and_runs_them(app):
    announcement_id = _due_announcement().id
    db.session.close()  # let the scheduler's threads write (SQLite has one writer)
    ready = threading.Event()
    running: dict[str, object] = {}

    def on_ready(sched) -> None:  # type: ignore[no-untyped-def]
        running["scheduler"] = sched
        ready.set()

    thread = threading.Thread(target=scheduler.serve, args=(app,), kwargs={"on_ready": on_ready}, daemon=True)
    thread.start()
    try:
        assert ready.wait(15), "scheduler did not start"
        with pytest.raises(scheduler.SchedulerAlreadyRunning):
            scheduler.acquire_lock(db.engine)

        def sent() -> bool:
            status = db.session.scalar(select(Announcement.status).where(Announcement.id == announcement_id))
            db.session.rollback()
            return status == "sent"

        assert _wait_for(sent), "the overdue announcement was not sent at start-up"
        ids = set(db.session.execute(text("SELECT id FROM apscheduler_jobs")).scalars())
        db.session.rollback()
        assert ids == {spec.id for spec in scheduler.JOBS}
    finally:
        running["scheduler"].shutdown(wait=True)  # type: ignore[attr-defined]
        thread.join(15)
    assert not thread.is_alive()
    scheduler.acquire_lock(db.engine).release()  # the lock went with it

    result = app.test_cli_runner().invoke(args=["forum", "jobs"])
    assert result.exit_code == 0, result.output
    for spec in scheduler.JOBS:
        assert spec.id in result.output
    assert "interval[0:00:05]" in result.output


def test_two_schedulers_racing_send_each_digest_once(app):
    event = make_forum(days=1)
    for n in range(5):
        subscribe(event, f"p{n}@example.org")
    add_post(event, eastern(2019, 9, 10, 11), "Hello")
    db.session.close()
    race_job(app, "digests", eastern(2019, 9, 10, 18, 1), runs=3)
    rows = outbox("digest")
    assert sorted(r.recipient for r in rows) == [f"p{n}@example.org" for n in range(5)]


def test_run_job_command(app):
    event = make_forum(days=1)
    subscribe(event, "a@example.org")
    add_post(event, eastern(2019, 9, 10, 11), "Hello")
    runner = app.test_cli_runner()

    result = runner.invoke(
        args=["forum", "run-job", "digests", "--target", "mentoring", "--at", "2019-09-10T18:30:00-04:00"]
    )
    assert result.exit_code == 0, result.output
    assert "digest mentoring final: 1 messages" in result.output
    again = runner.invoke(args=["forum", "run-job", "digests", "--at", "2019-09-10T18:30:00-04:00"])
    assert again.exit_code == 0 and "digests: 0 message(s)" in again.output

    unknown = runner.invoke(args=["forum", "run-job", "coffee"])
    assert unknown.exit_code == 2 and "unknown job 'coffee'" in unknown.output
    naive = runner.invoke(args=["forum", "run-job", "digests", "--at", "2019-09-10T18:30"])
    assert naive.exit_code == 2 and "has no UTC offset" in naive.output
    bad_slug = runner.invoke(args=["forum", "run-job", "reminders", "--target", "nope"])
    assert bad_slug.exit_code == 2 and "no event with slug 'nope'" in bad_slug.output
