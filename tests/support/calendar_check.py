"""A pytest plugin: every calendar the suite makes is read again by a second parser.

The app builds calendars with icalendar; a calendar that only icalendar can read, or
whose times another reader resolves differently, would pass every test that parses
with icalendar alone.  This plugin records every VCALENDAR the app serialises during a
test (files, feeds, iTIP parts of mails: they all go through `Calendar.to_ical`, or, for
a fan-out's per-recipient copies, `PersonalCalendar.pieces_for`) and,
after the test, reads each one with two independent implementations:

- the `ical` package (its own RFC 5545 grammar and models, no icalendar code), which
  must parse it and find the same UIDs with the same DTSTART/DTEND instants;
- dateutil's `tzical`, which resolves each TZID through the file's *own* VTIMEZONE (not
  the reader's zone database), so a VTIMEZONE that disagrees with zoneinfo is caught;
- Mozilla's ical.js (the parser in Thunderbird and Nextcloud; tests/js, installed with npm
  from its lock file on first use), also through the file's own VTIMEZONEs: it reads a
  local time in a repeated hour as the second occurrence, which is why such sessions are
  written in UTC (forum.calendar.session_times);
- libical (the C library of Evolution, KDE and many CalDAV servers; tests/c/ical_check.c,
  compiled against Debian's libical-dev on first use): its parser and its RFC 5546
  restriction check must find no error, and each DTSTART/DTEND, read through the file's own
  VTIMEZONE, must be the same instant.

A calendar that fails any check fails the test that produced it.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import icalendar
import pytest
from dateutil import tz as dateutil_tz
from ical.calendar_stream import IcsCalendarStream
from ical.exceptions import CalendarParseError

from forum.calendars.calendar import PRODID
from forum.calendars.changes import PersonalCalendar

_recorded: list[bytes] = []
_checked: set[bytes] = set()
_stats = {"calendars": 0, "events": 0}
_original_to_ical = icalendar.Calendar.to_ical
_original_pieces_for = PersonalCalendar.pieces_for


def _recording_to_ical(self: icalendar.Calendar, *args: object, **kwargs: object) -> bytes:
    data = _original_to_ical(self, *args, **kwargs)  # type: ignore[arg-type]
    if PRODID.encode() in data[:400]:
        _recorded.append(data)
    return data


def _recording_pieces_for(self: PersonalCalendar, *args: object, **kwargs: object) -> tuple[bytes, ...]:
    pieces = _original_pieces_for(self, *args, **kwargs)  # type: ignore[arg-type]
    _recorded.append(b"".join(pieces))
    return pieces


JS_DIR = Path(__file__).resolve().parent.parent / "js"


class _Checker:
    """A second parser in one long-lived process, started on first use; `close` ends it."""

    proc: subprocess.Popen[Any] | None = None

    def close(self) -> None:
        if self.proc is not None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            self.proc.wait(10)
            self.proc = None


class IcalJs(_Checker):
    """ical.js in one long-lived node process (per pytest process): a line in, a line out."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[str] | None = None

    def _start(self) -> subprocess.Popen[str]:
        node, npm = shutil.which("node"), shutil.which("npm")
        if not node or not npm:
            raise RuntimeError("the calendar check needs Node.js and npm (apt-get install nodejs npm)")
        if not (JS_DIR / "node_modules" / "ical.js" / "package.json").exists():
            with open(JS_DIR / ".install.lock", "w") as lock:  # pytest-xdist workers install once
                fcntl.flock(lock, fcntl.LOCK_EX)
                if not (JS_DIR / "node_modules" / "ical.js" / "package.json").exists():
                    subprocess.run(
                        [npm, "ci", "--no-audit", "--no-fund"],
                        cwd=JS_DIR,
                        check=True,
                        capture_output=True,
                        timeout=600,
                    )
        return subprocess.Popen(
            [node, "check_calendars.mjs"],
            cwd=JS_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def _ask(self, data: bytes) -> dict[str, Any]:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = self._start()
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"ics": data.decode("utf-8")}) + "\n")
        self.proc.stdin.flush()
        answer: dict[str, Any] = json.loads(self.proc.stdout.readline())
        return answer

    def details(self, data: bytes) -> dict[str, dict[str, Any]]:
        """UID -> {"sequence", "status", "summary"} as ical.js reads them (raises on an error)."""
        answer = self._ask(data)
        if "error" in answer:
            raise AssertionError(f"ical.js cannot parse it: {answer['error']}")
        return dict(answer["details"])

    def read(self, data: bytes) -> dict[str, tuple[datetime, datetime]] | str:
        """UID -> (start, end) in UTC as ical.js reads them, or its error message."""
        answer = self._ask(data)
        if "error" in answer:
            return str(answer["error"])
        return {
            uid: (datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC))
            for uid, (start, end) in answer["events"].items()
        }


ical_js = IcalJs()

C_DIR = Path(__file__).resolve().parent.parent / "c"


class Libical(_Checker):
    """tests/c/ical_check.c in one long-lived process (per pytest process), built on first use."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None

    def _build(self) -> Path:
        source, binary = C_DIR / "ical_check.c", C_DIR / "build" / "ical_check"
        if binary.exists() and binary.stat().st_mtime >= source.stat().st_mtime:
            return binary
        cc, pkg_config = shutil.which("cc") or shutil.which("gcc"), shutil.which("pkg-config")
        flags = (
            subprocess.run([pkg_config, "--cflags", "--libs", "libical"], capture_output=True, text=True)
            if cc and pkg_config
            else None
        )
        if flags is None or flags.returncode != 0:
            raise RuntimeError(
                "the calendar check needs a C compiler, pkg-config and libical-dev (apt-get install gcc pkg-config libical-dev)"
            )
        binary.parent.mkdir(exist_ok=True)
        with open(C_DIR / "build" / ".build.lock", "w") as lock:  # pytest-xdist workers build once
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not binary.exists() or binary.stat().st_mtime < source.stat().st_mtime:
                partial = binary.with_suffix(f".{os.getpid()}")
                subprocess.run(
                    [cc, "-O1", "-o", str(partial), str(source), *flags.stdout.split()],
                    check=True,
                    capture_output=True,
                    timeout=120,
                )
                partial.replace(binary)
        return binary

    def read(self, data: bytes) -> tuple[dict[str, tuple[datetime, datetime]], list[str]]:
        """UID -> (start, end) in UTC as libical reads them, and libical's errors."""
        if self.proc is None or self.proc.poll() is not None:
            self.proc = subprocess.Popen([str(self._build())], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(b"%d\n" % len(data) + data)
        self.proc.stdin.flush()
        events: dict[str, tuple[datetime, datetime]] = {}
        errors: list[str] = []
        while (line := self.proc.stdout.readline().decode("utf-8", "replace").rstrip("\n")) != ".":
            if not line:
                raise RuntimeError("libical's checker stopped")
            kind, _, rest = line.partition(" ")
            if kind == "E":
                errors.append(rest)
            else:
                start, end, uid = rest.split(" ", 2)
                events[uid] = (datetime.fromtimestamp(int(start), UTC), datetime.fromtimestamp(int(end), UTC))
        return events, errors


libical = Libical()


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
    mozilla = ical_js.read(data)
    if isinstance(mozilla, str):
        out.append(f"ical.js cannot parse it: {mozilla}")
        mozilla = {}
    in_c, c_errors = libical.read(data)
    out.extend(f"libical: {error}" for error in c_errors)
    for uid, vevent in mine.items():
        expected_c = (_instant(vevent["DTSTART"].dt, None, None), _instant(vevent["DTEND"].dt, None, None))
        if uid not in in_c:
            out.append(f"{uid}: missing in libical's reading")
        elif in_c[uid] != expected_c:
            seen = in_c[uid]
            out.append(f"{uid}: icalendar {expected_c[0]} - {expected_c[1]} vs libical {seen[0]} - {seen[1]}")
        if uid in mozilla:
            expected = (_instant(vevent["DTSTART"].dt, None, None), _instant(vevent["DTEND"].dt, None, None))
            if mozilla[uid] != expected:
                seen = mozilla[uid]
                out.append(f"{uid}: icalendar {expected[0]} - {expected[1]} vs ical.js {seen[0]} - {seen[1]}")
        elif not out or "ical.js" not in out[-1]:
            out.append(f"{uid}: missing in ical.js's reading")
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
    PersonalCalendar.pieces_for = _recording_pieces_for  # type: ignore[method-assign]


def pytest_unconfigure(config: pytest.Config) -> None:
    icalendar.Calendar.to_ical = _original_to_ical  # type: ignore[method-assign]
    PersonalCalendar.pieces_for = _original_pieces_for  # type: ignore[method-assign]
    ical_js.close()
    libical.close()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _stats["calendars"]:
        terminalreporter.write_line(
            f"second calendar parsers (ical, dateutil tzical, ical.js, libical): {_stats['calendars']} calendars, "
            f"{_stats['events']} events checked"
        )
