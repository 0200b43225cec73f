"""A standby scheduler (`flask forum scheduler --standby`) waits on the lock and takes over
when the active one dies: real processes on PostgreSQL, the active one SIGKILLed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from forum.core.extensions import db
from forum.mail.compose import build_message
from forum.mail.outbox import enqueue
from forum.scheduling import scheduler
from tests.conftest import BACKENDS, PG_URL
from tests.support.child import child_env
from tests.support.smtp import use_test_templates

ROOT = Path(__file__).resolve().parent.parent


def test_a_standby_waits_for_the_lock_and_can_be_stopped_while_waiting(app):  # type: ignore[no-untyped-def]
    engine = db.engine
    active = scheduler.acquire_lock(engine)
    waits: list[str] = []
    got: list[scheduler.SchedulerLease] = []
    standby = threading.Thread(
        target=lambda: got.append(scheduler.acquire_lock(engine, wait=True, poll=0.05, on_wait=waits.append))
    )
    standby.start()
    deadline = time.monotonic() + 10
    while not waits and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(waits) == 1 and waits[0].startswith(
        "another scheduler is already running against this database"
    )
    assert got == []  # still waiting while the active one lives
    active.release()
    standby.join(10)
    assert len(got) == 1  # took over once the lock was free
    with pytest.raises(scheduler.SchedulerAlreadyRunning):
        scheduler.acquire_lock(db.engine)
    stop = threading.Event()
    stop.set()
    with pytest.raises(scheduler.SchedulerStopped):
        scheduler.acquire_lock(db.engine, wait=True, stop=stop, poll=0.05)
    got[0].release()


def _read_until(proc: subprocess.Popen[str], needle: str, seconds: float, seen: list[str]) -> float:
    """Read the process's output lines until one contains `needle`; returns when (monotonic)."""
    deadline = time.monotonic() + seconds
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            if proc.poll() is not None:
                break
            continue
        seen.append(line)
        if needle in line:
            return time.monotonic()
    raise AssertionError(f"{needle!r} not seen within {seconds} s; output: {''.join(seen)[-3000:]}")


@pytest.mark.postgresql_only
@pytest.mark.parametrize("backend", [b for b in BACKENDS if b == "postgresql"])
def test_standby_takes_over_within_a_minute_when_the_active_one_is_killed(app, backend, tmp_path):  # type: ignore[no-untyped-def]
    schema = app.config["FORUM_TEST_SCHEMA"]
    instance = tmp_path / "instance"
    env = child_env(f"{PG_URL}?options={quote(f'-csearch_path={schema}')}", instance, PYTHONUNBUFFERED="1")
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "forum", "scheduler"]

    def start(*extra: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            command + list(extra),
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )

    active = start()
    standby = None
    try:
        _read_until(active, "Scheduler running", 60, [])
        standby = start("--standby")
        waiting: list[str] = []
        _read_until(standby, "Standby: another scheduler is already running", 60, waiting)
        refused = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert refused.returncode == 1 and "already running" in refused.stderr  # without --standby

        os.kill(active.pid, signal.SIGKILL)
        active.wait(10)
        killed_at = time.monotonic()
        # Mail queued while nobody runs the scheduler goes out once the standby has taken over.
        use_test_templates(app)
        note = build_message(
            to="ann@example.org", subject="After the failover", template="test_plain", context={"body": "hi"}
        )
        enqueue(note, kind="test", key="failover")
        db.session.commit()
        took_over = _read_until(standby, "Scheduler running", 60, waiting)
        assert took_over - killed_at < 60
        devmail = instance / "devmail"
        deadline = time.monotonic() + 30
        while not list(devmail.glob("*.eml")) and time.monotonic() < deadline:
            time.sleep(0.2)
        [sent] = list(devmail.glob("*.eml"))
        assert b"After the failover" in sent.read_bytes()
        print(f"standby took over {took_over - killed_at:.1f} s after SIGKILL")
    finally:
        for proc in (active, standby):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
            if proc is not None and proc.stdout is not None:
                proc.stdout.close()
