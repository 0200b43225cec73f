"""Announcement and lesson mail: subject numbering and the fan-out to an event's list.

The announcements job (`forum/events/jobs.py`) sends each scheduled announcement once, at its
time; officers write them in `forum/web/announcements.py`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from forum.common.audience import active_subscriptions
from forum.core.extensions import db
from forum.core.urls import external_url
from forum.mail.compose import ListOptions
from forum.mail.list_copies import list_messages
from forum.mail.outbox import enqueue_copies
from forum.models import Announcement


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
    if event is None:  # a mentoring cycle's newsletter: its subject is the officer's own
        return announcement.subject
    if announcement.kind == "lesson":
        return f"[{event.title}] Lesson {lesson_number(announcement)}: {announcement.subject}"
    return f"[{event.title}] {announcement.subject}"


def send_announcement(announcement: Announcement, at: datetime) -> tuple[int, str]:
    event = announcement.event
    if event is None:  # mentoring sends its own (forum/mentoring/outreach.py)
        return 0, "not an event's"
    subject = announcement_subject(announcement)

    copies = list_messages(
        event,
        active_subscriptions(event, include_no_mail=False),
        ListOptions(
            subject=subject,
            template="announcement",
            context={"announcement": announcement, "event_url": external_url("public.event", slug=event.slug)},
            automated=True,
        ),
    )
    count = enqueue_copies(
        copies, kind="announcement", key=f"announcement:{announcement.id}", event_id=event.id
    )
    announcement.status, announcement.sent_at, announcement.recipients = "sent", at, count
    return count, ""
