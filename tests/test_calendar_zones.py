"""Zone edge cases as calendar programs read them: the repeated hour, negative DST
(Dublin), the feed refresh hint, and the second-parser check itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from flask.testing import FlaskClient
from ical.calendar_stream import IcsCalendarStream

from forum.core import clock
from forum.core.timezones import transitions
from forum.events import service as events
from tests.support.calendar_check import ical_js, problems
from tests.support.calendars import instants, make_event, parse_checked, tzical_zones
from tests.support.factories import weekly

NOW = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)


def test_repeated_hour_session_is_written_in_utc(client: FlaskClient) -> None:
    """01:30 on the night New York falls back happens twice; the first (EDT) is meant.
    Written in UTC, an independent reader gets 05:30 UTC, not the 06:30 that ical.js
    and libical take for a local 01:30 there."""
    with clock.frozen(NOW):
        event = make_event("fall-back", weekly(datetime(2025, 11, 2, 1, 30), minutes=90))
    data = client.get(f"/events/{event.slug}.ics").data
    parse_checked(data)
    assert b"DTSTART:20251102T053000Z" in data and b"DTEND:20251102T080000Z" in data
    assert b"DTSTART;TZID=America/New_York:20251109T013000" in data  # the plain week stays local
    mozilla = ical_js.read(data)
    assert not isinstance(mozilla, str), mozilla
    assert mozilla[f"{event.sessions[0].uid}@lists.forum.test"][0] == datetime(2025, 11, 2, 5, 30, tzinfo=UTC)
    independent = {e.uid: e for e in IcsCalendarStream.calendar_from_ics(data.decode()).events}
    ambiguous, plain = event.sessions
    first = independent[f"{ambiguous.uid}@lists.forum.test"]
    assert first.dtstart == datetime(2025, 11, 2, 5, 30, tzinfo=UTC)
    assert first.dtend == datetime(2025, 11, 2, 8, 0, tzinfo=UTC)
    assert independent[f"{plain.uid}@lists.forum.test"].dtstart.astimezone(UTC) == datetime(
        2025, 11, 9, 6, 30, tzinfo=UTC
    )
    assert instants(data)[f"{ambiguous.uid}@lists.forum.test"][0] == ambiguous.starts_at


def test_repeated_half_hour_at_lord_howe_and_the_officer_is_told(app) -> None:  # type: ignore[no-untyped-def]
    """Lord Howe falls back 30 minutes (02:00 -> 01:30): an end at 01:45 is ambiguous."""
    with clock.frozen(NOW):
        event = make_event("howe", [], zone="Australia/Lord_Howe")
        session, notes = events.add_session(
            event, datetime(2025, 4, 6, 1, 0), datetime(2025, 4, 6, 1, 45), "Australia/Lord_Howe"
        )
    assert len(notes) == 1 and "happens twice in Australia/Lord_Howe" in notes[0]
    assert "Calendar files give this session in UTC" in notes[0]
    from forum.calendars.calendar import session_file

    data = session_file(session)
    assert b"DTSTART:20250405T140000Z" in data and b"DTEND:20250405T144500Z" in data
    assert b"BEGIN:VTIMEZONE" not in data  # nothing refers to a zone any more
    (parsed,) = IcsCalendarStream.calendar_from_ics(data.decode()).events
    assert parsed.dtend - parsed.dtstart == timedelta(minutes=45)


def test_dublin_series_minute_by_minute_through_its_own_vtimezone(app) -> None:  # type: ignore[no-untyped-def]
    """A weekly Dublin series over a year: the file's VTIMEZONE, read by dateutil's tzical,
    gives zoneinfo's offset for every minute of the three hours around each change, and
    every session's start read back through it is the stored instant."""
    from forum.calendars.calendar import event_file

    start = datetime(2025, 1, 7, 18, 0)
    walls = [(start + timedelta(weeks=w), start + timedelta(weeks=w, hours=1)) for w in range(66)]
    with clock.frozen(NOW):
        event = make_event("dublin", walls, zone="Europe/Dublin")
    data = event_file(event)
    parse_checked(data)
    assert "DAYLIGHT" in data.decode().split("TZOFFSETTO:+0100")[0].rsplit("BEGIN:", 1)[1]
    theirs, ours = tzical_zones(data).get("Europe/Dublin"), ZoneInfo("Europe/Dublin")
    changes = transitions("Europe/Dublin", event.sessions[0].starts_at, event.sessions[-1].ends_at)
    assert len(changes) == 3  # March and October 2025, March 2026
    wrong = []
    for change in changes:
        for minute in range(-90, 91):
            t = change.at + timedelta(minutes=minute)
            if t.astimezone(theirs).utcoffset() != t.astimezone(ours).utcoffset():
                wrong.append(t)
    assert wrong == []
    got = instants(data)
    assert [got[f"{s.uid}@lists.forum.test"][0] for s in event.sessions] == [
        s.starts_at for s in event.sessions
    ]
    assert event.sessions[0].starts_at.hour == 18 and event.sessions[20].starts_at.hour == 17  # IST in summer


def test_feeds_say_refresh_hourly_as_a_duration(client: FlaskClient) -> None:
    with clock.frozen(NOW):
        make_event("hourly", [(datetime(2025, 3, 4, 13), datetime(2025, 3, 4, 14))])
    data = client.get("/feeds/events/hourly.ics").data
    assert b"\r\nREFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in data
    assert b"\r\nX-PUBLISHED-TTL:PT1H\r\n" in data
    cal = parse_checked(data)
    assert cal["REFRESH-INTERVAL"].dt == timedelta(hours=1)


def test_second_parser_catches_a_vtimezone_that_disagrees_with_the_zone() -> None:
    """The suite-wide check is not a formality: a VTIMEZONE with the summer offset
    written as STANDARD for New York, or a broken line, is reported."""
    good = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n"
        "BEGIN:VTIMEZONE\r\nTZID:America/New_York\r\n"
        "BEGIN:STANDARD\r\nDTSTART:20241103T020000\r\nRRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=11\r\n"
        "TZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\nEND:STANDARD\r\n"
        "BEGIN:DAYLIGHT\r\nDTSTART:20240310T020000\r\nRRULE:FREQ=YEARLY;BYDAY=2SU;BYMONTH=3\r\n"
        "TZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n"
        "BEGIN:VEVENT\r\nUID:a@t\r\nDTSTAMP:20250101T000000Z\r\n"
        "DTSTART;TZID=America/New_York:20250701T100000\r\n"
        "DTEND;TZID=America/New_York:20250701T110000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    assert problems(good.encode()) == []
    shifted = good.replace("TZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400", "TZOFFSETFROM:-0500\r\nTZOFFSETTO:-0300")
    assert any("VTIMEZONE" in p for p in problems(shifted.encode()))
    broken = good.replace(
        "DTSTART;TZID=America/New_York:20250701T100000", "DTSTART;TZID=America/New_York:2025"
    )
    assert problems(broken.encode())
    # The repeated hour written as local time: ical.js (Thunderbird, Nextcloud) and libical
    # (Evolution) take the second 01:30 (06:30 UTC) where RFC 5545 and icalendar mean the
    # first (05:30 UTC).
    repeated = good.replace("20250701T100000", "20251102T013000").replace(
        "20250701T110000", "20251102T030000"
    )
    found = problems(repeated.encode())
    assert len(found) == 2 and "libical" in found[0] and "ical.js" in found[1]
    assert all("2025-11-02 05:30:00+00:00" in f and "2025-11-02 06:30:00+00:00" in f for f in found)
