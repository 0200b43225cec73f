"""Reading a webinar platform's attendance report into attendance rows for one session.

Accepted layouts, recognised by their header row wherever it is in the file:

* Zoom's participant and webinar attendee reports: ``User Name (Original Name)`` or
  ``Name (Original Name)``, ``Email``/``User Email``, ``Join Time``, ``Leave Time``,
  ``Duration (Minutes)`` or ``Time in Session (minutes)`` (and ``Attended`` Yes/No in the
  webinar report, whose preamble and "Host/Panelist Details" sections are skipped);
* Microsoft Teams attendance lists, often UTF-16 and tab-separated with a summary section
  first: ``Full Name``/``Name``, ``Join Time``/``First Join``, ``Leave Time``/``Last Leave``,
  ``Duration``/``In-Meeting Duration`` (``1h 2m 3s``), ``Email``, ``Role``;
* a plain ``email,minutes`` file (header optional).

A person who left and rejoined has several rows: within one section their minutes add up;
Teams repeats people in an "activities" section, so across sections the largest total
wins. Addresses are normalised the way subscriptions are (forum.subscriptions), rows
that match no registration are reported by line number, and importing the same file
again changes nothing (a row's minutes only ever rise to the largest figure reported).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import format_decimal
from flask_babel import gettext as _
from sqlalchemy import select

from forum.common import signals
from forum.core import clock
from forum.core.extensions import db
from forum.models import Attendance, Participant, Session, Subscription
from forum.subscriptions import service as subscriptions

EMAIL_HEADERS = ("email", "user email", "e-mail", "email address", "participant id (upn)", "upn")
MINUTES_HEADERS = ("minutes", "duration (minutes)", "time in session (minutes)", "duration (mins)")
DURATION_HEADERS = ("duration", "in-meeting duration", "attendance duration", "time in call")
JOIN_HEADERS = ("join time", "first join", "first join time")
LEAVE_HEADERS = ("leave time", "last leave", "last leave time")
MAX_BYTES = 5_000_000
#: Lines in one report: Zoom's largest webinars hold 50,000 people, rejoins add rows. More is
#: not an attendance report, and a web request must not spend minutes on it.
MAX_LINES = 100_000
#: Addresses per query: PostgreSQL takes at most 65,535 parameters in one statement.
QUERY_CHUNK = 5_000
#: What a report line shows of the cell it could not read.
SHOWN_CHARS = 200
_HMS = re.compile(
    r"^(?:(\d+)\s*h(?:ours?|rs?)?)?\s*(?:(\d+)\s*m(?:in(?:utes?|s)?)?)?\s*(?:(\d+)\s*s(?:ec(?:onds?|s)?)?)?$"
)
_TIME_FORMATS = (
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y, %I:%M:%S %p",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
)


class ReportError(ValueError):
    """The file is not an attendance report we can read; the message says why."""


@dataclass
class ImportReport:
    """What one upload did, for the officer's result page and the API."""

    layout: str = ""
    rows: int = 0
    matched: int = 0  # people matched (each once)
    added: int = 0  # attendance rows created
    updated: int = 0  # rows that gained the report as a source or more minutes
    unchanged: int = 0
    future: bool = False  # the session has not started: probably the wrong session picked
    unmatched: list[tuple[int, str, str]] = field(default_factory=list)  # line, address, reason


@dataclass
class _Section:
    email: int
    minutes: int | None = None
    duration: int | None = None
    join: int | None = None
    leave: int | None = None
    attended: int | None = None
    layout: str = "plain"


def decode(data: bytes) -> str:
    """Text of an upload: UTF-16 with or without BOM (Teams), UTF-8 with or without BOM, else Latin-1."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")
    if len(data) > 1 and data[1:2] == b"\x00" and data[0:1] != b"\x00":
        return data.decode("utf-16-le", errors="replace")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _norm(cell: str) -> str:
    return " ".join(cell.strip().strip('"').lower().split())


def _find(headers: list[str], names: tuple[str, ...]) -> int | None:
    for i, h in enumerate(headers):
        if h in names:
            return i
    return None


def _section(cells: list[str]) -> _Section | None:
    """Column positions if `cells` is a header row we know, else None."""
    headers = [_norm(c) for c in cells]
    email = _find(headers, EMAIL_HEADERS)
    if email is None or {"topic", "meeting id", "webinar id"} & set(headers):
        return None  # Zoom's meeting summary names the host's email: not a list of people
    section = _Section(
        email=email,
        minutes=_find(headers, MINUTES_HEADERS),
        duration=_find(headers, DURATION_HEADERS),
        join=_find(headers, JOIN_HEADERS),
        leave=_find(headers, LEAVE_HEADERS),
        attended=_find(headers, ("attended",)),
    )
    if any("original name" in h for h in headers) or "time in session (minutes)" in headers:
        section.layout = "Zoom"
    elif section.duration is not None or "full name" in headers or "first join" in headers:
        section.layout = "Microsoft Teams"
    return section


def _round(minutes: float) -> int:
    """Half a minute rounds up (Python's round() would round 62.5 to 62)."""
    return int(minutes + 0.5)


def parse_duration(text: str) -> int | None:
    """Minutes in `45`, `1h 2m 3s`, `45m 12s`, `1:02:03`, `62:03` (seconds round to nearest)."""
    text = text.strip().lower()
    if not text:
        return None
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return _round(float(text))
    if re.fullmatch(r"\d+:\d{2}(:\d{2})?", text):
        parts = [int(p) for p in text.split(":")]
        h, m, s = ([0] + parts)[-3:] if len(parts) == 2 else parts
        return _round(h * 60 + m + s / 60)
    match = _HMS.match(text)
    if match and any(match.groups()):
        h, m, s = (int(g) if g else 0 for g in match.groups())
        return _round(h * 60 + m + s / 60)
    return None


def _parse_time(text: str) -> datetime | None:
    text = " ".join(text.strip().split())
    for fmt in _TIME_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def _minutes(cells: list[str], sec: _Section) -> int | None:
    def cell(i: int | None) -> str:
        return cells[i] if i is not None and i < len(cells) else ""

    for column in (sec.minutes, sec.duration):
        value = parse_duration(cell(column))
        if value is not None:
            return value
    joined, left = _parse_time(cell(sec.join)), _parse_time(cell(sec.leave))
    if joined and left and left >= joined:  # both read in the same (report's) zone
        return _round((left - joined).total_seconds() / 60)
    return None


def _rows(text: str, bad: list[tuple[int, str, str]]) -> list[tuple[int, list[str]]]:
    """(line number, cells) of every non-empty line; tabs or commas, decided per line.

    A line the csv module refuses (a field over its 131,072-character limit) goes to `bad`
    with its number instead of ending the import."""
    out: list[tuple[int, list[str]]] = []
    for number, line in enumerate(io.StringIO(text, newline=None), start=1):
        if number > MAX_LINES:
            raise ReportError(
                _("The file has more than %(lines)s lines; split it, or check it is an attendance report.", lines=format_decimal(MAX_LINES))
            )
        line = line.rstrip("\r\n")
        if not line.strip():
            out.append((number, []))
            continue
        delimiter = "\t" if "\t" in line else ","
        try:
            out.append((number, next(csv.reader([line], delimiter=delimiter))))
        except csv.Error as exc:
            bad.append((number, _shown(line), f"this line cannot be read ({exc})"))
    return out


def _shown(text: str) -> str:
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "…"


def _chunks(items: list[str] | list[int]) -> Iterator[list[Any]]:
    for start in range(0, len(items), QUERY_CHUNK):
        yield list(items[start : start + QUERY_CHUNK])


def read_report(text: str) -> tuple[str, dict[str, tuple[int, int | None]], list[tuple[int, str, str]]]:
    """(layout, {email key: (first line, minutes)}, bad lines) from a report's text."""
    bad: list[tuple[int, str, str]] = []
    rows = _rows(text, bad)
    section: _Section | None = None
    section_no = 0
    layout = ""
    totals: dict[tuple[int, str], int | None] = {}
    first_line: dict[str, int] = {}
    for number, cells in rows:
        if not cells:
            continue
        header = _section(cells)
        if header is not None:
            section, section_no = header, section_no + 1
            layout = layout or header.layout
            continue
        if section is None:
            if len(cells) >= 1 and "@" in cells[0] and section_no == 0:  # plain file without header
                section, section_no, layout = _Section(email=0, minutes=1), 1, "plain"
            else:
                continue  # preamble: meeting summary, report title, ...
        raw = cells[section.email].strip() if section.email < len(cells) else ""
        if not raw or "@" not in raw:
            if len(cells) == 1 or not any(c.strip() for c in cells[1:]):
                section = None  # a section title such as "3. In-Meeting Activities"
                continue
            bad.append((number, _shown(raw), "no email address on this row"))
            continue
        attended = (
            cells[section.attended] if section.attended is not None and section.attended < len(cells) else ""
        )
        if attended.strip().lower() in ("no", "false", "0"):
            continue  # Zoom webinar report: registered but never joined
        try:
            key = subscriptions.email_key(subscriptions.normalize_email(raw))
        except subscriptions.SubscriptionError as exc:
            bad.append((number, _shown(raw), str(exc)))
            continue
        minutes = _minutes(cells, section)
        first_line.setdefault(key, number)
        previous = totals.get((section_no, key))
        if (section_no, key) not in totals:
            totals[(section_no, key)] = minutes
        elif minutes is not None:
            totals[(section_no, key)] = (previous or 0) + minutes
    if not first_line and not bad and any(_norm(c) == "user action" for _, cells in rows for c in cells):
        raise ReportError(
            _("This Teams list has no email column (the older join/leave log). Download the attendance report from the meeting's Attendance tab instead: it lists each person's email.")
        )
    if not first_line and not bad:
        raise ReportError(
            _("No attendance rows found. Upload Zoom's participant or attendee report, a Microsoft Teams attendance list, or a CSV with the columns email,minutes.")
        )
    best: dict[str, int | None] = defaultdict(lambda: None)
    for (_part, key), minutes in totals.items():
        if minutes is not None and (best[key] is None or minutes > (best[key] or 0)):
            best[key] = minutes
    people = {key: (first_line[key], best[key]) for key in first_line}
    return layout or "plain", people, bad


def import_report(session: Session, data: bytes) -> ImportReport:
    """Record one session's attendance from a report; the caller commits."""
    if len(data) > MAX_BYTES:
        raise ReportError(_("The file is larger than %(megabytes)s MB; is it the right one?", megabytes=MAX_BYTES // 1000000))
    layout, people, bad = read_report(decode(data))
    report = ImportReport(layout=layout, rows=len(people) + len(bad), unmatched=list(bad))
    report.future = session.starts_at > clock.now()
    subs = {
        key: sub
        for chunk in _chunks(list(people))
        for key, sub in db.session.execute(
            select(Participant.email_key, Subscription)
            .join(Subscription.participant)
            .where(Subscription.event_id == session.event_id, Participant.email_key.in_(chunk))
        ).all()
    }
    existing = {
        row.subscription_id: row
        for chunk in _chunks([s.id for s in subs.values()])
        for row in db.session.scalars(
            select(Attendance).where(
                Attendance.session_id == session.id, Attendance.subscription_id.in_(chunk)
            )
        )
    }
    for key, (line, minutes) in sorted(people.items(), key=lambda item: item[1][0]):
        sub = subs.get(key)
        if sub is None or sub.status == "pending":
            reason = "not registered for this event" if sub is None else "registration never confirmed"
            report.unmatched.append((line, key, reason))
            continue
        report.matched += 1
        row = existing.get(sub.id)
        if row is None:
            row = Attendance(subscription_id=sub.id, session_id=session.id, sources="import", clicks=0)
            row.minutes = minutes
            db.session.add(row)
            report.added += 1
            continue
        changed = "import" not in row.source_list
        row.add_source("import")
        if minutes is not None and (row.minutes is None or minutes > row.minutes):
            row.minutes, changed = minutes, True
        report.updated += changed
        report.unchanged += not changed
    report.unmatched.sort()
    signals.officer_action.send(  # one audit entry for the whole report, not one per person
        "ce",
        action="attendance.imported",
        event_id=session.event_id,
        summary=f"{session.display_title}: {report.layout}",
        changes={
            "session_id": session.id,
            "added": report.added,
            "updated": report.updated,
            "unmatched": len(report.unmatched),
        },
        covers=("attendance",),
    )
    return report
