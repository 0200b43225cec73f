"""Helpers for calendar tests: events, sessions and subscribers made with the models,
and the independent readers every produced calendar is checked with."""

from __future__ import annotations

import io
from datetime import datetime

import vobject
from dateutil import tz as dateutil_tz
from flask.testing import FlaskClient
from icalendar import Calendar
from werkzeug.test import TestResponse

from forum.models import Event, Subscription
from tests.support import factories


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
    """A series (by default) with a contact, two panelists and a join link, committed."""
    name, email = contact or ("", "")
    return factories.make_event(
        slug,
        walls,
        kind=kind,
        zone=zone,
        publish=publish,
        panelists=[(p, "panelist") for p in panelists],
        join_url=join_url if kind == "series" else "",
        summary="Share experiences in mentoring.",
        contact_name=name,
        contact_email=email,
    )


def subscribe(event: Event, email: str, status: str = "active", name: str = "") -> Subscription:
    """A participant (created if new) subscribed with the given status, committed."""
    return factories.subscribe(event, email, status=status, name=name)


def fetch_calendar(client: FlaskClient, url: str) -> tuple[TestResponse, Calendar]:
    """GET a calendar feed or file: a 200 in text/calendar, parsed and checked (`parse_checked`)."""
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    return response, parse_checked(response.data)


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
