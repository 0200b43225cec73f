"""The scheduler's job registry and its exactly-once key: low, so every area can use them.

Each area registers the jobs it owns (`register_job(kind, description, fn)`) in the module
that holds the job's body: the e-forum's digests and notices in `forum/discussion`, the
reminders and announcements in `forum/events`, the CE mail in `forum/ce`, and so on.
`forum/scheduling/jobs.run_job` looks a kind up here; it never names an area's function,
so no area has to import the scheduler back to reach `run_once` (the circle this module
replaced: the scheduler imported every area while the areas imported the scheduler).

Every unit of a job's output has a unique (kind, target, period) `job_run` key, inserted
by `run_once` in the same transaction as the mail it enqueues, so a rerun, two racing
schedulers or a catch-up after downtime send nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select

from forum.core import clock
from forum.core.extensions import db
from forum.models import Event, JobRun
from forum.models.base import add_once

#: How far back a restarted scheduler catches up digests and notices.
CATCH_UP = timedelta(days=7)


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


#: A job's body: send whatever of its kind is due by `at` (for one event, or all).
JobBody = Callable[[datetime, JobReport, Event | None], None]


@dataclass(frozen=True)
class Job:
    kind: str
    description: str
    run: JobBody


#: Every registered job by kind, in registration order (a live dict: read it, don't write it).
JOBS: dict[str, Job] = {}
#: Kind -> what it does, for `flask forum jobs` and the scheduler's job names (live too).
KINDS: dict[str, str] = {}


def reporting(run: Callable[[datetime], Iterable[str]]) -> JobBody:
    """The body of a job whose report is the lines `run(at)` returns (a broken link, an
    endpoint switched off) and that sends no mail of its own."""

    def body(at: datetime, report: JobReport, event: Event | None = None) -> None:
        for line in run(at):
            report.add(line)

    body.__doc__ = run.__doc__
    return body


def register_job(kind: str, description: str, body: JobBody) -> JobBody:
    """Make `kind` runnable by the scheduler; registering the same body again is harmless."""
    known = JOBS.get(kind)
    if known is not None and known.run is not body:
        raise ValueError(f"job kind {kind!r} is registered twice")
    JOBS[kind] = Job(kind, description, body)
    KINDS[kind] = description
    return body


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
    if not add_once(run):  # a racing scheduler claimed it first
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


def run_reported(
    report: JobReport,
    label: str,
    kind: str,
    target: str,
    period: str,
    due_at: datetime | None,
    send: Callable[[], tuple[int, str]],
    *,
    show_note: bool = False,
) -> JobRun | None:
    """`run_once`, and when it ran, one report line `label: N messages` (or `label: note`
    where the note says more than the count), so every job's output reads the same way."""
    run = run_once(kind, target, period, due_at, send)
    if run is not None:
        report.add(f"{label}: {run.note if show_note else f'{run.recipients} messages'}", run.recipients)
    return run


def skip(note: str) -> Callable[[], tuple[int, str]]:
    """A `send` for `run_once` that sends nothing and records why (a superseded unit)."""
    return lambda: (0, note)
