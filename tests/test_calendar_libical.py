"""The calendar check reads every calendar with libical too (issue 25): what the app sends
passes libical's parser and its RFC 5546 restriction check, and a calendar that only
libical would refuse fails the check (so the second reader is really there)."""

from __future__ import annotations

from datetime import UTC, datetime

from forum.calendars import invites
from forum.core import clock
from tests.support.calendar_check import libical, problems
from tests.support.calendars import make_event, subscribe

NOW = datetime(2025, 2, 1, 12, tzinfo=UTC)
WALLS = [(datetime(2025, 3, 4, 13, 0), datetime(2025, 3, 4, 14, 30))]


def _invite() -> tuple[bytes, str]:
    with clock.frozen(NOW):
        event = make_event("series-one", WALLS)
        sub = subscribe(event, "ana@example.test", name="Ana Reader")
        return invites.invite_calendar(event.sessions[0], sub), f"{event.sessions[0].uid}@lists.forum.test"


def test_libical_reads_an_invite_the_same_as_icalendar(app) -> None:  # type: ignore[no-untyped-def]
    data, uid = _invite()
    events, errors = libical.read(data)
    assert errors == []
    assert events[uid][0] == datetime(2025, 3, 4, 18, 0, tzinfo=UTC)  # 1 PM New York, through its VTIMEZONE
    assert problems(data) == []


def test_a_calendar_only_libical_refuses_fails_the_check(app) -> None:  # type: ignore[no-untyped-def]
    data, _ = _invite()
    lines = data.split(b"\r\n")
    no_organizer = b"\r\n".join(line for line in lines if not line.startswith(b"ORGANIZER"))
    assert any(p.startswith("libical:") and "ORGANIZER" in p for p in problems(no_organizer))
    # A VTIMEZONE that says something else than zoneinfo: libical reads the file's own.
    shifted = data.replace(b"TZOFFSETTO:-0500", b"TZOFFSETTO:-0400")
    assert any("vs libical" in p for p in problems(shifted)), problems(shifted)
