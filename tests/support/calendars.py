"""Helpers for calendar tests: events, sessions and subscribers made with the models,
and the independent readers every produced calendar is checked with."""

from __future__ import annotations

import io
from datetime import datetime

import vobject
from dateutil import tz as dateutil_tz
from icalendar import Calendar

from forum.core.extensions import db
from forum.events import service as events
from forum.models import Event, EventPanelist, Panelist, Participant, Session, Subscription


def make_event(
    slug: str,
    walls: list[tuple[datetime, datetime]],
    *,
    kind: str = "series",
    zone: str = "America/New_York",
    publish: bool = True,
    contact: tuple[str, str] | None = ("Pat Contact", "pat@ala.test"),
    panelists: tuple[str, ...] = ("Jay L. Colbert", "Jeannette Ho"),
    join_url: str = "https://meet.example.test/abc",
) -> Event:
    """An event with sessions at the given wall times in `zone`, committed."""
    event = Event(
        slug=slug,
        title=slug.replace("-", " ").title(),
        kind=kind,
        timezone=zone,
        summary="Share experiences in mentoring.",
    )
    if contact:
        event.contact_name, event.contact_email = contact
    db.session.add(event)
    for position, (start, end) in enumerate(walls):
        session = Session(position=position, join_url=join_url if kind == "series" else "")
        events.set_session_times(session, start, end, zone)
        event.sessions.append(session)
    for position, name in enumerate(panelists):
        panelist = Panelist(name=name, bio=f"{name} has a bio.")
        event.panelist_links.append(EventPanelist(panelist=panelist, role="panelist", position=position))
    if publish:
        events.publish_event(event)
    db.session.commit()
    return event


def subscribe(event: Event, email: str, status: str = "active", name: str = "") -> Subscription:
    """A participant (created if new) subscribed with the given status, committed."""
    participant = Participant.by_email(email)
    if participant is None:
        participant = Participant(email=email, email_key=email.lower(), name=name)
        db.session.add(participant)
    subscription = Subscription(participant=participant, event=event, status=status)
    db.session.add(subscription)
    db.session.commit()
    return subscription


def parse_checked(data: bytes) -> Calendar:
    """Parse with icalendar (no component may report errors) and with vobject."""
    cal = Calendar.from_ical(data)
    for component in cal.walk():
        assert not component.errors, (component.name, component.errors)
    parsed = vobject.readOne(data.decode("utf-8"))
    assert parsed.name == "VCALENDAR"
    for vevent in getattr(parsed, "vevent_list", []):
        assert vevent.uid.value and vevent.dtstart.value and vevent.dtend.value
    assert b"RDATE" not in data, "VTIMEZONEs are RRULE-style, never RDATE lists"
    return cal


def tzical_zones(data: bytes) -> dateutil_tz.tzical:
    """The VTIMEZONEs as dateutil reads them (it honours their contents)."""
    text = data.decode("utf-8")
    blocks = []
    inside = False
    for line in text.splitlines():
        if line == "BEGIN:VTIMEZONE":
            inside = True
        if inside:
            blocks.append(line)
        if line == "END:VTIMEZONE":
            inside = False
    return dateutil_tz.tzical(io.StringIO("\r\n".join(blocks) + "\r\n"))


def instants(data: bytes) -> dict[str, tuple[datetime, datetime]]:
    """UID -> (start, end) as UTC instants, with wall times resolved through the file's
    own VTIMEZONEs by dateutil (not through the reader's zone database)."""
    zones = tzical_zones(data)
    out = {}
    for vevent in Calendar.from_ical(data).walk("VEVENT"):
        pair = []
        for name in ("DTSTART", "DTEND"):
            prop = vevent[name]
            wall = prop.dt.replace(tzinfo=None)
            tzid = prop.params.get("TZID")
            pair.append(wall.replace(tzinfo=zones.get(tzid)) if tzid else prop.dt)
        out[str(vevent["UID"])] = (pair[0], pair[1])
    return out
