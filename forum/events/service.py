"""What officers do to events and sessions, whichever door they come in by (web, API, CLI).

Every change that attendees' calendars must follow goes through here, so the
SEQUENCE bump and the update/cancel mails happen in the same transaction as the change.
"""

from __future__ import annotations

import calendar as monthcal
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import TypedDict, Unpack

from flask_babel import gettext as _
from sqlalchemy import delete, func, select, update

from forum.calendars import fanouts  # noqa: F401 - registers the calendar-update/-cancel kinds recorded here
from forum.common import fanout
from forum.common.signals import event_duplicated
from forum.core import clock
from forum.core.extensions import db
from forum.core.timezones import TimeInputError, format_date, localize, offset_changes, to_zone
from forum.models import (
    Announcement,
    Attendance,
    Event,
    EventPanelist,
    MailText,
    OutboundMessage,
    Post,
    Session,
    Subscription,
    Thread,
)

#: The event fields an officer types on the event form (web/manage.py reads and writes these).
EVENT_FIELDS = (
    "kind",
    "title",
    "summary",
    "description",
    "learning_outcomes",
    "audience",
    "tech_requirements",
    "registration_info",
    "contact_name",
    "contact_email",
    "contact_phone",
    "conduct_url",
    "timezone",
    "moderation",
    "non_member_posts",
    "spam_score_limit",
    "search_language",
    "archive_public",
    "reply_to_list",
    "digest_hour",
    "reminder_offsets",
    "language",
    "second_language",
    "second_title",
    "second_summary",
    "second_outcomes",
)
#: what a duplicate copies from its original: everything an officer chose but the title (the
#: copy gets its own), plus the webinar settings kept on their own pages; not the state
COPIED_FIELDS = (*(name for name in EVENT_FIELDS if name != "title"), "seat_limit", "door_minutes")
REPEATS = {"weekly": "Every week", "biweekly": "Every 2 weeks", "monthly": "Monthly on the same weekday"}


class EventChangeError(ValueError):
    """A change the officer can fix or must not make; `field` names where it belongs.

    `conflict` marks a clash with another row or with the event's state (an address
    taken, a cancelled session): the API answers 409 for those; `missing` names a row that
    is not there (a topic): 404; 422 for the rest.
    """

    def __init__(self, message: str, field: str = "title", *, conflict: bool = False, missing: bool = False):
        super().__init__(message)
        self.field = field
        self.conflict = conflict
        self.missing = missing


def takes_sessions(event: Event) -> None:
    """A cancelled event takes no new sessions (whichever way they are added)."""
    if event.status == "cancelled":
        raise EventChangeError(_("This event is cancelled; it takes no new sessions."), "status", conflict=True)


@dataclass(frozen=True)
class Seen:
    """What attendees see of a session, taken before a change so the update mail can say
    what changed ("was ..., now ...")."""

    title: str
    starts_at: datetime | None
    ends_at: datetime | None
    join_url: str
    description: str

    @classmethod
    def of(cls, session: Session) -> Seen:
        return cls(
            session.display_title if session.event is not None else session.title,
            session.starts_at,
            session.ends_at,
            session.join_url,
            session.description,
        )


def what_changed(before: Seen, session: Session) -> list[dict[str, object]]:
    """What the update mail says changed, as data (the fan-out record keeps it): each
    recipient's copy words it in their language and formats (`calendars.changes.describe`:
    "When: was Tue 2/9/2027 2:00 PM–3:00 PM (London), now ...", likewise the title; a new
    join link or description is named, not quoted: the mail shows the new one)."""
    after = Seen.of(session)
    home = session.event.timezone
    lines: list[dict[str, object]] = []
    if before.starts_at and (before.starts_at, before.ends_at) != (after.starts_at, after.ends_at):
        lines.append(
            {
                "what": "when",
                "zone": home,
                "was": [before.starts_at.isoformat(), (before.ends_at or before.starts_at).isoformat()],
                "now": [session.starts_at.isoformat(), session.ends_at.isoformat()],
            }
        )
    if before.title != after.title:
        lines.append({"what": "title", "was": before.title, "now": after.title})
    if before.join_url != after.join_url:
        lines.append({"what": "join_link", "removed": not after.join_url})
    if before.description != after.description:
        lines.append({"what": "description"})
    return lines


def set_session_times(session: Session, start_wall: datetime, end_wall: datetime, zone: str) -> list[str]:
    """Set a session's wall times; returns notes for the officer (e.g. an ambiguous time).

    Raises `timezones.TimeInputError` (a message fit to show next to the field).
    A change to an existing session of a published event sends calendar updates.
    """
    before = (session.start_wall, session.end_wall, session.timezone)
    seen = Seen.of(session) if session.id is not None else None
    notes = session.set_times(start_wall, end_wall, zone)
    if session.id is not None and before != (start_wall, end_wall, zone):
        session_changed(session, seen)
    return notes


def session_changed(session: Session, before: Seen | None = None) -> None:
    """Something attendees see in their calendar changed (time, title, join link)."""
    session.bump()
    if session.event.status == "published" and session.status != "cancelled":
        db.session.flush()
        schedule_updates(session, what_changed(before, session) if before else [])


def schedule_updates(session: Session, changes: list[dict[str, object]] | None = None) -> None:
    """Record the calendar update's fan-out; the scheduler mails every subscriber (forum/common/fanout.py).

    `changes` ("When: was ..., now ...") travel in the record, worked out now while the
    old state is known, and head the update mail."""
    fanout.record(
        "calendar-update",
        f"calendar-update:{session.id}:{session.sequence}",
        event_id=session.event_id,
        target_id=session.id,
        params={"sequence": session.sequence, "changes": list(changes or [])},
    )


def event_renamed(event: Event, old_title: str = "") -> None:
    """The event's title is in every session's calendar entry: update them all."""
    for session in event.sessions:
        if session.status != "cancelled" and not session.title:
            before = Seen.of(session)
            if old_title:
                before = replace(before, title=old_title)
            session_changed(session, before)


def cancel_session(session: Session, reason: str = "") -> None:
    """Cancel one session; `reason` (the officer's words) goes into the cancellation mail."""
    if session.status == "cancelled":
        return
    session.status = "cancelled"
    session.bump()
    if session.event.status == "published":
        db.session.flush()
        fanout.record(
            "calendar-cancel",
            f"calendar-cancel:{session.id}:{session.sequence}",
            event_id=session.event_id,
            target_id=session.id,
            params={"sequence": session.sequence, "reason": reason.strip()},
        )


def publish_event(event: Event) -> None:
    if event.status == "published":
        return
    event.status = "published"
    event.published_at = clock.now()


def delete_draft(event: Event) -> None:
    """Delete an event that was never published, with its sessions and panelist links.

    Panelists (their bios) stay for other events. Nobody outside saw a never-published
    event, so nothing is mailed; anything attached to it (imported subscribers, drafted
    announcements) goes with it. A published event is cancelled instead, never deleted.
    """
    if event.published_at is not None or event.status == "published":
        raise ValueError("An event that was published is cancelled, not deleted: people may have it in their calendars.")
    session_ids = [s.id for s in event.sessions if s.id is not None]
    subscription_ids = select(Subscription.id).where(Subscription.event_id == event.id)
    if session_ids:
        db.session.execute(delete(Attendance).where(Attendance.session_id.in_(session_ids)))
    db.session.execute(delete(Attendance).where(Attendance.subscription_id.in_(subscription_ids)))
    db.session.execute(
        update(OutboundMessage).where(OutboundMessage.event_id == event.id).values(event_id=None)
    )
    for model in (Post, Thread, Announcement, Subscription, MailText):
        db.session.execute(delete(model).where(model.event_id == event.id))  # type: ignore[attr-defined]
    db.session.delete(event)
    db.session.flush()


def publish_warnings(event: Event) -> list[str]:
    """What a published page would lack that registrants expect (shown before and after
    publishing; publishing is not refused for them)."""
    warnings = []
    if not (event.contact_email or event.contact_phone):
        warnings.append(
            "There is no contact: registrants cannot ask questions. Add a contact email or phone in Details."
        )
    if not event.conduct_url:
        warnings.append(
            "There is no code of conduct: registrants are not asked to accept one. Add its address in Details."
        )
    return warnings


def cancel_event(event: Event) -> None:
    """Cancel the whole event: every remaining session is cancelled in calendars too."""
    if event.status == "cancelled":
        return
    for session in event.sessions:
        cancel_session(session)
    event.status = "cancelled"
    event.cancelled_at = clock.now()


def calendar_recipients(event: Event) -> int:
    """How many people a change to this event's sessions will send a calendar update to.

    Shown to the officer before they save.
    """
    if event.status != "published" or event.id is None:
        return 0
    return (
        db.session.scalar(
            select(func.count(Subscription.id)).where(
                Subscription.event_id == event.id, Subscription.is_active
            )
        )
        or 0
    )


# --- sessions and panelists as the officer pages edit them --------------------------------


class SessionText(TypedDict, total=False):
    """What a session says besides its times (the officer's words), declared once for every
    function that makes or changes a session; a change leaves out what stays as it is."""

    title: str
    join_url: str
    description: str


def add_session(
    event: Event, start_wall: datetime, end_wall: datetime, zone: str, **text: Unpack[SessionText]
) -> tuple[Session, list[str]]:
    """Create a session on `event`; returns it and the officer notes (ambiguous times).

    Raises `timezones.TimeInputError` and adds nothing when the time is refused. A new
    session of a published event reaches existing subscribers as a calendar update.
    EventChangeError for a cancelled event.
    """
    takes_sessions(event)
    session = Session(
        title=text.get("title", ""), join_url=text.get("join_url", ""), description=text.get("description", "")
    )
    notes = set_session_times(session, start_wall, end_wall, zone)
    session.position = max((s.position for s in event.sessions), default=0) + 1
    event.sessions.append(session)
    if event.status == "published":
        db.session.flush()
        schedule_updates(session)
    return session, notes


def update_session(
    session: Session, start_wall: datetime, end_wall: datetime, zone: str, **text: Unpack[SessionText]
) -> list[str]:
    """Edit a session; attendees' calendars get one update if anything they see changed."""
    seen_before = (session.title, session.join_url, session.description)
    title = text.get("title", session.title)
    join_url = text.get("join_url", session.join_url)
    description = text.get("description", session.description)
    times_before = (session.start_wall, session.end_wall, session.timezone)
    before = Seen.of(session)
    notes = session.set_times(start_wall, end_wall, zone)  # validates before anything changes
    session.title, session.join_url, session.description = title, join_url, description
    if times_before != (start_wall, end_wall, zone) or seen_before != (title, join_url, description):
        session_changed(session, before)
    return notes


def swap_session_slots(first: Session, second: Session) -> None:
    """Reorder a series: two sessions trade their date and time (titles, links stay with
    their session), and both reach attendees' calendars as updates."""
    first_slot = (first.start_wall, first.end_wall, first.timezone)
    second_slot = (second.start_wall, second.end_wall, second.timezone)
    set_session_times(first, *second_slot)
    set_session_times(second, *first_slot)


def remove_session(session: Session) -> None:
    """Delete a session outright; only for drafts (nobody has it in a calendar yet)."""
    if session.event.status != "draft":
        raise ValueError("sessions of a published event are cancelled, not removed")
    session.event.sessions.remove(session)
    db.session.delete(session)


def add_daily_sessions(
    event: Event, first: date, last: date, start: time, end: time, zone: str
) -> tuple[list[Session], list[str], list[date]]:
    """One session per day from `first` to `last`, same hours: how an e-forum runs.

    Days that already have a session are skipped (returned third), so the form can be
    submitted again safely. Any refused day (a spring-forward gap) refuses the lot.
    """
    takes_sessions(event)
    taken = {s.start_wall.date() for s in event.sessions if s.status != "cancelled"}
    planned = []
    day = first
    while day <= last:
        if day not in taken:
            planned.append(day)
        day += timedelta(days=1)
    for day in planned:  # check every day before adding any
        localize(datetime.combine(day, start), zone)
        localize(datetime.combine(day, end), zone)
    created, notes = [], []
    for day in planned:
        session, day_notes = add_session(
            event, datetime.combine(day, start), datetime.combine(day, end), zone
        )
        created.append(session)
        notes.extend(day_notes)
    skipped = sorted(taken & {first + timedelta(days=n) for n in range((last - first).days + 1)})
    return created, notes, skipped


def wall_span(day: date, start: time, end: time) -> tuple[datetime, datetime]:
    """Start and end wall times of a session entered as a day and two clock times.

    An end at or before the start means the session runs past midnight: 23:00-01:00
    ends the next day.
    """
    start_wall = datetime.combine(day, start)
    end_wall = datetime.combine(day, end)
    if end_wall <= start_wall:
        end_wall += timedelta(days=1)
    return start_wall, end_wall


def is_past(start_wall: datetime, zone: str) -> bool:
    """Whether a wall time has already gone by in its zone (the form asks to confirm)."""
    return localize(start_wall, zone).instant < clock.now()


def series_dates(first: date, repeat: str, count: int) -> list[date]:
    """`count` dates from `first`: every week, every 2 weeks, or monthly on the same
    weekday (the 2nd Tuesday stays the 2nd Tuesday; a 5th weekday becomes the last one)."""
    if repeat == "weekly":
        return [first + timedelta(weeks=n) for n in range(count)]
    if repeat == "biweekly":
        return [first + timedelta(weeks=2 * n) for n in range(count)]
    if repeat != "monthly":
        raise ValueError(f"unknown repeat {repeat!r}")
    nth = (first.day - 1) // 7  # 0-based: 0 = first such weekday of the month
    last = first.day + 7 > monthcal.monthrange(first.year, first.month)[1]
    dates = []
    year, month = first.year, first.month
    for _week in range(count):
        days = [
            d
            for d in monthcal.Calendar().itermonthdates(year, month)
            if d.month == month and d.weekday() == first.weekday()
        ]
        dates.append(days[-1] if last or nth >= len(days) else days[nth])
        month += 1
        if month > 12:
            year, month = year + 1, 1
    return dates


def add_session_series(
    event: Event,
    first: date,
    start: time,
    end: time,
    zone: str,
    *,
    repeat: str,
    count: int,
    title_pattern: str = "",
    join_url: str = "",
) -> tuple[list[Session], list[str]]:
    """A webinar series in one step: `count` sessions at the same local hours.

    `title_pattern` may hold `{n}`, the session's number in the event ("Session {n}").
    Every date is checked before any is added, so a refused one (a spring-forward gap)
    adds nothing; the message names the date.
    """
    takes_sessions(event)
    already = len(event.active_sessions)
    planned = []
    for number, day in enumerate(series_dates(first, repeat, count), start=already + 1):
        start_wall, end_wall = wall_span(day, start, end)
        for wall in (start_wall, end_wall):
            localize(wall, zone)  # raises TimeInputError naming the day
        planned.append((number, start_wall, end_wall))
    created, notes = [], []
    for number, start_wall, end_wall in planned:
        title = title_pattern.replace("{n}", str(number)) if title_pattern else ""
        session, session_notes = add_session(event, start_wall, end_wall, zone, title=title, join_url=join_url)
        created.append(session)
        notes.extend(session_notes)
    return created, notes


def duplicate_event(original: Event, *, title: str, slug: str, first_day: date) -> Event:
    """A new draft with the original's details, panelists and sessions, moved so the
    first session falls on `first_day`.

    Sessions keep their local wall times in their own zone, whatever daylight-saving
    change lies between the two dates (10:00 in New York stays 10:00 in New York).
    Cancelled sessions are left behind. Raises TimeInputError if a moved time falls in a
    spring-forward gap.
    """
    copy = Event(title=title, slug=slug, status="draft")
    db.session.add(copy)
    for name in COPIED_FIELDS:
        setattr(copy, name, getattr(original, name))
    copy.topics = list(original.topics)
    live = sorted(original.active_sessions, key=lambda s: (s.starts_at, s.position))
    shift = timedelta(days=(first_day - live[0].start_wall.date()).days) if live else timedelta()
    for number, old in enumerate(live, start=1):
        new = Session(
            title=old.title,
            description=old.description,
            join_url=old.join_url,
            position=number,
            panelists=list(old.panelists),
        )
        try:
            new.set_times(old.start_wall + shift, old.end_wall + shift, old.timezone)
        except TimeInputError as exc:
            raise TimeInputError(_("Session %(number)s cannot move: %(reason)s", number=number, reason=exc)) from None
        copy.sessions.append(new)
    for link in sorted(original.panelist_links, key=lambda x: x.position):
        copy.panelist_links.append(EventPanelist(panelist=link.panelist, role=link.role, position=link.position))
    db.session.flush()
    for text in db.session.scalars(select(MailText).where(MailText.event_id == original.id)):
        db.session.add(MailText(event_id=copy.id, kind=text.kind, intro=text.intro, signoff=text.signoff))
    db.session.flush()
    event_duplicated.send(original, copy=copy)  # registration questions follow (forum.registration)
    return copy


def dst_warnings(event: Event) -> list[str]:
    """Sentences telling the officer where the event's sessions cross a UTC-offset change."""
    sessions = [s for s in event.sessions if s.status != "cancelled" and s.starts_at is not None]
    by_zone: dict[str, list[datetime]] = {}
    for s in sessions:
        by_zone.setdefault(s.timezone, []).append(s.starts_at)
    warnings = []
    for zone, instants in by_zone.items():
        for instant, change in offset_changes(instants, zone):
            warnings.append(
                f"The sessions cross a daylight-saving change in {zone} before "
                f"{format_date(to_zone(instant, zone))} ({change}). Local times stay as entered, "
                "so attendees in zones that change on another date, or not at all, "
                "see that session an hour earlier or later than the ones before it."
            )
    return warnings
