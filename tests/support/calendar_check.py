"""A pytest plugin: every calendar the suite makes is read again by a second parser.

The app builds calendars with icalendar; a calendar that only icalendar can read, or
whose times another reader resolves differently, would pass every test that parses
with icalendar alone.  This plugin records every VCALENDAR the app serialises during a
test (files, feeds, iTIP parts of mails: they all go through `Calendar.to_ical`) and,
after the test, reads each one with two independent implementations:

- the `ical` package (its own RFC 5545 grammar and models, no icalendar code), which
  must parse it and find the same UIDs with the same DTSTART/DTEND instants;
- dateutil's `tzical`, which resolves each TZID through the file's *own* VTIMEZONE (not
  the reader's zone database), so a VTIMEZONE that disagrees with zoneinfo is caught.

A calendar that fails either check fails the test that produced it.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime

import icalendar
import pytest
from dateutil import tz as dateutil_tz
from ical.calendar_stream import IcsCalendarStream
from ical.exceptions import CalendarParseError

from forum.calendar import PRODID

_recorded: list[bytes] = []
_checked: set[bytes] = set()
_stats = {"calendars": 0, "events": 0}
_original_to_ical = icalendar.Calendar.to_ical


def _recording_to_ical(self: icalendar.Calendar, *args: object, **kwargs: object) -> bytes:
    data = _original_to_ical(self, *args, **kwargs)  # type: ignore[arg-type]
    if PRODID.encode() in data[:400]:
        _recorded.append(data)
    return data


def _instant(value: datetime | date, zones: dateutil_tz.tzical | None, tzid: str | None) -> datetime:
    if not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if tzid and zones is not None:
        value = value.replace(tzinfo=None).replace(tzinfo=zones.get(tzid))
    if value.tzinfo is None:
        raise AssertionError(f"floating time {value} (no TZID, no Z)")
    return value.astimezone(UTC)


def problems(data: bytes) -> list[str]:
    """What the second parsers disagree with or cannot read; empty when all is well."""
    text = data.decode("utf-8")
    try:
        theirs = IcsCalendarStream.calendar_from_ics(text)
    except CalendarParseError as exc:
        return [f"ical cannot parse it: {exc}; {getattr(exc, 'detailed_error', '')}"]
    zones = dateutil_tz.tzical(io.StringIO(_vtimezones(text))) if "BEGIN:VTIMEZONE" in text else None
    ours = icalendar.Calendar.from_ical(data)
    out: list[str] = []
    mine = {str(v["UID"]): v for v in ours.walk("VEVENT")}
    other = {e.uid: e for e in theirs.events}
    if set(mine) != set(other):
        out.append(f"UIDs differ: icalendar {sorted(mine)} vs ical {sorted(other)}")
    for uid, vevent in mine.items():
        if uid not in other:
            continue
        for name, value in (("DTSTART", other[uid].dtstart), ("DTEND", other[uid].dtend)):
            prop = vevent[name]
            tzid = prop.params.get("TZID")
            expected = _instant(prop.dt, None, None)
            if value is None or _instant(value, None, None) != expected:
                out.append(f"{uid} {name}: icalendar {expected} vs ical {value}")
            if tzid:
                through_vtimezone = _instant(prop.dt, zones, tzid)
                if through_vtimezone != expected:
                    out.append(f"{uid} {name}: zoneinfo {expected} vs its VTIMEZONE {through_vtimezone}")
        _stats["events"] += 1
    return out


def _vtimezones(text: str) -> str:
    lines, inside = [], False
    for line in text.splitlines():
        inside = inside or line == "BEGIN:VTIMEZONE"
        if inside:
            lines.append(line)
        if line == "END:VTIMEZONE":
            inside = False
    return "\r\n".join(lines) + "\r\n"


@pytest.fixture(autouse=True)
def _second_parser() -> Iterator[None]:
    """Check what this test made once it is done (a failure fails the test)."""
    _recorded.clear()
    yield
    failures = []
    for data in _recorded:
        digest = hashlib.sha256(data).digest()
        if digest in _checked:
            continue
        _checked.add(digest)
        _stats["calendars"] += 1
        found = problems(data)
        if found:
            failures.append("\n  ".join(found) + "\n" + data.decode("utf-8", "replace")[:3000])
    _recorded.clear()
    if failures:
        pytest.fail("a calendar fails the second parser:\n" + "\n\n".join(failures[:3]), pytrace=False)


def pytest_configure(config: pytest.Config) -> None:
    icalendar.Calendar.to_ical = _recording_to_ical  # type: ignore[method-assign]


def pytest_unconfigure(config: pytest.Config) -> None:
    icalendar.Calendar.to_ical = _original_to_ical  # type: ignore[method-assign]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _stats["calendars"]:
        terminalreporter.write_line(
            f"second calendar parser (ical + dateutil tzical): {_stats['calendars']} calendars, "
            f"{_stats['events']} events checked"
        )
