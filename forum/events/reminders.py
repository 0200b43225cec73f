"""Reminder mail before a webinar session: text in the recipient's zone, a calendar file each.

*When* reminders go out (the event's offsets, superseded ones, sessions that began)
is the reminders job's business (`forum/events/jobs.py`); this module builds and enqueues one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

from flask_babel import LazyString, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from forum.calendars import calendar
from forum.common import subjects
from forum.common.audience import active_subscriptions
from forum.core import clock, timezones
from forum.core.urls import external_url
from forum.mail import texts as mail_texts
from forum.mail.bulk import Attachment
from forum.mail.compose import ListOptions
from forum.mail.list_copies import ListCopy, list_messages
from forum.mail.outbox import enqueue_copies
from forum.models import Event, Session, Subscription
from forum.webinars import join_links


def offset_text(minutes: int) -> str:
    """`1 day`, `1 hour`, `90 minutes`: how far ahead a reminder is, in words."""
    if minutes % 1440 == 0:
        return ngettext("%(num)d day", "%(num)d days", minutes // 1440)
    if minutes % 60 == 0:
        return ngettext("%(num)d hour", "%(num)d hours", minutes // 60)
    return ngettext("%(num)d minute", "%(num)d minutes", minutes)


def time_left_text(session: Session, minutes: int, at: datetime | None = None) -> str:
    """What a reminder says is left: the offset it was due at (`1 hour`) when it goes out
    on time, else the real time left (a reminder sent late, e.g. after downtime, six minutes
    before the start says `6 minutes`, not `1 hour`)."""
    left = math.ceil((session.starts_at - (at or clock.now())).total_seconds() / 60)
    if abs(left - minutes) <= max(2, minutes // 20):  # on time: within 5 % (or two minutes)
        return offset_text(minutes)
    if left < 60:
        return offset_text(max(left, 1))
    if left < 1440:
        hours, rest = divmod(left, 60)
        rest = rest // 5 * 5  # "2 hours 35 minutes", not "2 hours 37 minutes"
        if not rest:
            return offset_text(hours * 60)
        return _("%(hours)s %(minutes)s", hours=offset_text(hours * 60), minutes=offset_text(rest))
    days, rest = divmod(left, 1440)
    hours = rest // 60
    if not hours:
        return offset_text(days * 1440)
    return _("%(days)s %(hours)s", days=offset_text(days * 1440), hours=offset_text(hours * 60))


def session_time_for(session: Session, zone: str) -> str:
    """`Tuesday, 11/5/2024, 10:00 AM-11:00 AM (Eastern)` in the recipient's zone."""
    labels = {z.name: z.label for z in timezones.display_zones()}
    local = timezones.to_zone(session.starts_at, zone)
    label = labels.get(zone) or timezones.zone_label(zone)
    span = timezones.format_range(session.starts_at, session.ends_at, zone, f"{label}, {local.tzname()}")
    return f"{timezones.format_date(local)}, {span}"


def send_reminder(session: Session, minutes: int, at: datetime | None = None) -> tuple[int, str]:
    """Queue the reminder due `minutes` before the session, sent at `at` (default: now)."""
    event = session.event
    copies = reminder_copies(session, minutes, active_subscriptions(event, include_no_mail=True), at)
    stamp = session.starts_at.strftime("%Y%m%dT%H%MZ")
    count = enqueue_copies(
        copies, kind="reminder", key=f"reminder:{session.id}:{minutes}:{stamp}", event_id=event.id
    )
    return count, ""


def reminder_copies(
    session: Session, minutes: int, subscriptions: Iterable[Subscription], at: datetime | None = None
) -> Iterator[ListCopy]:
    """The reminder's copies for these registrations (the job: every active one; the
    officer's mail-text preview: one sample)."""
    event = session.event
    at = at or clock.now()
    # read in each recipient's language when their copy is built (forum.mail.list_copies)
    starts_in = LazyString(time_left_text, session, minutes, at)
    subject = subjects.session_subject(
        _l("Reminder"), session, LazyString(lambda: _("starts in %(time)s", time=time_left_text(session, minutes, at)))
    )
    by_name = mail_texts.uses_name(event, "reminder")  # the officer's text greets by name

    def viewer_zone(subscription: Subscription) -> str:
        return timezones.reader_zone(subscription.participant.timezone, fallback=event.timezone)

    def calendar_file(subscription: Subscription) -> list[Attachment]:
        """The session's .ics naming the recipient as attendee: the one per-recipient part."""
        ics = calendar.session_file(session, subscription)
        return [Attachment(ics, "text", "calendar", "session.ics")]

    return list_messages(
        event,
        subscriptions,
        ListOptions(
            subject=subject,
            links=lambda s: {"join_link": join_links.personal_link(s, session) or ""},
            template="reminder",
            context={
                "session": session,
                "starts_in": starts_in,
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
        ),
    )


def _sample(event: Event, subscription: Subscription, session: Session | None) -> bytes:
    """The officer's preview of a reminder: the real one, for one sample, an hour before."""
    assert session is not None  # mail_texts asks only when the event has a session
    at = session.starts_at - timedelta(hours=1)
    return next(iter(reminder_copies(session, 60, [subscription], at))).data


mail_texts.register_sample("reminder", _sample)
