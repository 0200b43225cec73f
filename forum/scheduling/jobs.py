"""The scheduler's jobs: what each kind does, and the exactly-once key around its mail.

`forum/scheduler.py` decides *when* (APScheduler, the one-scheduler lock); this module
decides *what*: `run_job(kind)` sends whatever of that kind is due by an instant,
each unit of output once. Every unit has a unique (kind, target, period) `job_run` key,
inserted by `run_once` in the same transaction as the mail it enqueues (each mail with
its own outbox key too), so a rerun, two racing schedulers or a catch-up after downtime
send nothing twice. Jobs compute what is due up to an explicit instant ``at``, so
missed digests are caught up with their own date, while a reminder whose session has
begun is skipped rather than sent late.

The mail itself is built elsewhere: reminders in `forum/reminders.py`, announcements and
lessons in `forum/announcements.py`, digests in `forum/digests.py`.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from forum.common.audience import active_subscriptions
from forum.core import clock, timezones
from forum.core.extensions import db
from forum.core.urls import external_url
from forum.discussion import digests
from forum.discussion import notices as hold_notices
from forum.events.announcements import send_announcement
from forum.events.reminders import send_reminder
from forum.mail import texts as mail_texts
from forum.mail.compose import list_messages
from forum.mail.outbox import enqueue_copies
from forum.mail.retention import clear_old_messages, cutoff
from forum.mail.sender import send_due
from forum.models import Announcement, Event, JobRun, Session, Subscription

#: How far back a restarted scheduler catches up digests and notices.
CATCH_UP = timedelta(days=7)
#: How far ahead reminders look (longer offsets than this are not supported).
REMINDER_LOOKAHEAD = timedelta(days=30)

KINDS: dict[str, str] = {
    "outbox": "write pending fan-outs' copies, send queued mail",
    "digests": "daily e-forum digests, and the final one at close",
    "reminders": "reminders before webinar sessions",
    "announcements": "timed announcements and lessons",
    "notices": "e-forum opening and closing notices",
    "retention": "clear the text of mail sent more than MAIL_KEEP_DAYS ago",
    "recordings": 'one "recording available" mail per webinar session',
    "ce": "evaluation invitations and certificates after an event's last session",
    "pathways": "the next step of each learning pathway follower who is due one",
    "link-check": "check the URLs of external pathway resources",
    "hold-notices": "one notice per moderator per interval listing the posts held since the last",
}


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
    elif kind == "recordings":
        from forum.webinars import recordings

        recordings.run(at, report, event)
    elif kind == "ce":
        from forum.ce import certificates, evaluations

        evaluations.send_due(at, report, event)
        certificates.send_due(at, report, event)
    elif kind == "hold-notices":
        _hold_notices(at, report, event)
    elif kind in ("pathways", "link-check"):
        from forum.pathways import follow as pathway_follow  # job bodies live with their area
        from forum.pathways import link_check

        for line in pathway_follow.send_due_steps(at) if kind == "pathways" else link_check.check_links(at):
            report.add(line, 1 if kind == "pathways" else 0)
    return report


def _hold_notices(at: datetime, report: JobReport, event: Event | None) -> None:
    """Moderators hear of held posts in batches (discussion.notices), each batch once."""
    for ev, posts in hold_notices.held_since_last_notice(at, event):
        run = run_once(
            hold_notices.HOLD_JOB, str(ev.id), str(posts[-1].id), at, partial(hold_notices.hold_notices, ev, posts)
        )
        if run is not None:
            report.add(f"hold notices for {ev.slug}: {len(posts)} post(s), {run.recipients} notice(s)", run.recipients)


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
    result = send_due(worker_id=f"scheduler:{socket.gethostname()}:{os.getpid()}")
    if result.processed:  # quiet when there was nothing to send
        report.add(f"outbox: {result}", result.sent)


def _retention(at: datetime, report: JobReport) -> None:
    """Drop the bytes of mail sent long before `at`; the rows stay (see forum.mail.retention)."""
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


# reminders (the mail: forum/reminders.py)


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
                partial(send_reminder, session, minutes)
                if minutes == latest
                else _skip(f"superseded by the {latest}-minute reminder")
            )
            run = run_once("reminder", f"session:{session.id}", period, due, send)
            if run is not None:
                report.add(
                    f"reminder {session.event.slug} session {session.id} {period}: {run.recipients} messages",
                    run.recipients,
                )


# announcements and lessons (the mail: forum/announcements.py)


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
            partial(send_announcement, announcement, at),
        )
        if run is not None:
            report.add(
                f"announcement {announcement.id} ({announcement.subject}): {run.recipients} messages",
                run.recipients,
            )
