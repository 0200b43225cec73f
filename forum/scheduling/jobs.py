"""The scheduler's jobs: `run_job(kind)` runs whatever the area that owns `kind` registered.

`forum/scheduling/scheduler.py` decides *when* (APScheduler, the one-scheduler lock); the
areas decide *what*: each registers its jobs with `forum.common.jobs.register_job` in the
module that holds the body, and wraps each unit of output in `run_once` (the exactly-once
`job_run` key, in the same transaction as the mail). This module only imports those
modules, so that every kind is registered in the processes that run jobs, and looks the
kind up: no area imports the scheduler, and the scheduler names no area's function.
"""

from __future__ import annotations

from datetime import datetime

# The modules that register jobs: imported for that (each line one area's jobs).
from forum.ce import certificates as _ce_jobs  # noqa: F401 - "ce"
from forum.common.jobs import JOBS, KINDS, JobReport, run_once
from forum.core import clock
from forum.discussion import jobs as _discussion_jobs  # noqa: F401 - "digests", "notices"
from forum.events import jobs as _events_jobs  # noqa: F401 - "reminders", "announcements"
from forum.mail import jobs as _mail_jobs  # noqa: F401 - "outbox", "retention"
from forum.mentoring import jobs as _mentoring_jobs  # noqa: F401 - "mentoring"
from forum.models import Event
from forum.pathways import follow as _pathway_jobs  # noqa: F401 - "pathways"
from forum.pathways import link_check as _link_check_jobs  # noqa: F401 - "link-check"
from forum.team import audit_log as _audit_jobs  # noqa: F401 - "team-retention"
from forum.team import webhook_send as _webhook_jobs  # noqa: F401 - "webhooks"
from forum.webinars import recordings as _webinar_jobs  # noqa: F401 - "recordings"

__all__ = ["KINDS", "JobReport", "UnknownJob", "run_job", "run_once"]


class UnknownJob(ValueError):
    """A job kind that does not exist."""


def run_job(kind: str, *, event: Event | None = None, at: datetime | None = None) -> JobReport:
    """Run one job now: send whatever of `kind` is due by `at` (default: now), each thing once."""
    job = JOBS.get(kind)
    if job is None:
        raise UnknownJob(f"unknown job {kind!r}; choose one of {', '.join(KINDS)}")
    at = at or clock.now()
    if at.tzinfo is None:
        raise ValueError("`at` must be an aware instant")
    report = JobReport(kind=kind, at=at)
    job.run(at, report, event)
    return report
