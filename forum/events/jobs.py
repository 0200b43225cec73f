"""The events area's scheduler jobs: reminders before webinar sessions, timed announcements.

*When* each goes out is decided here; the mail itself is built in `reminders.py` and
`announcements.py`. Registered with `forum.common.jobs` at import (the scheduler imports
this module); `run_once` makes each unit go out once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import select

from forum.common.jobs import JobReport, register_job, run_once, skip
from forum.core.extensions import db
from forum.events.announcements import send_announcement
from forum.events.reminders import send_reminder
from forum.models import Announcement, Event, Session

#: How far ahead reminders look (longer offsets than this are not supported).
REMINDER_LOOKAHEAD = timedelta(days=30)


def reminders_job(at: datetime, report: JobReport, event: Event | None = None) -> None:
    """Remind subscribers before each webinar session, at the event's offsets.

    When several offsets are overdue (the scheduler was down), only the latest one
    is sent and the others are recorded as superseded; a session that has begun
    gets no reminder at all.
    """
    stmt = (
        select(Session)
        .join(Event)
        .where(
            Session.webinar_clause(),
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
                partial(send_reminder, session, minutes, at)
                if minutes == latest
                else skip(f"superseded by the {latest}-minute reminder")
            )
            run = run_once("reminder", f"session:{session.id}", period, due, send)
            if run is not None:
                report.add(
                    f"reminder {session.event.slug} session {session.id} {period}: {run.recipients} messages",
                    run.recipients,
                )


def announcements_job(at: datetime, report: JobReport, event: Event | None = None) -> None:
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


register_job("reminders", "reminders before webinar sessions", reminders_job)
register_job("announcements", "timed announcements and lessons", announcements_job)
