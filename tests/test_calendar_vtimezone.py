"""VTIMEZONE components are compact RRULE rules whose offsets match zoneinfo.

icalendar ignores VTIMEZONE contents for zone names it knows, so the offsets are
proven with dateutil's tzical, which computes them from the rules we wrote.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import vobject
from dateutil import tz as dateutil_tz
from icalendar import Calendar

from forum.calendars.vtimezone import vtimezone
from forum.core.timezones import transitions

ZONES = [
    "America/New_York",
    "Europe/London",
    "Asia/Kolkata",
    "Australia/Lord_Howe",  # 30-minute DST
    "America/Santiago",  # southern hemisphere, DST across the new year
    "Australia/Sydney",
    "Asia/Jerusalem",  # "Friday on or after the 23rd": BYMONTHDAY rule
    "America/Sao_Paulo",  # DST abolished in 2019: the rule must stop (UNTIL)
    "Europe/Dublin",  # "negative DST": tzdata flags winter GMT as the DST part
    "Africa/Casablanca",  # Ramadan +00 flagged as negative DST, irregular dates
    "Asia/Tehran",  # +0330, DST until 2022 on fixed dates
    "Australia/Eucla",  # +0845, no DST
]
#: Changes on fixed Gregorian dates (Tehran) or around Ramadan (Casablanca): no yearly rule.
IRREGULAR = {"Asia/Tehran", "Africa/Casablanca"}
SPAN = (datetime(2019, 3, 1, tzinfo=UTC), datetime(2020, 11, 30, tzinfo=UTC))


def _ical(zone: str) -> bytes:
    cal = Calendar()
    cal.add("PRODID", "-//test//EN")
    cal.add("VERSION", "2.0")
    cal.add_component(vtimezone(zone, *SPAN))
    return cal.to_ical()


def _samples(zone: str) -> list[datetime]:
    """Every 5 hours across the span, plus a minute either side of each transition."""
    out = []
    t = SPAN[0]
    while t <= SPAN[1]:
        out.append(t)
        t += timedelta(hours=5)
    for tr in transitions(zone, SPAN[0], SPAN[1]):
        out += [tr.at - timedelta(minutes=1), tr.at, tr.at + timedelta(minutes=1)]
    return out


@pytest.mark.parametrize("zone", ZONES)
def test_offsets_read_back_by_dateutil_match_zoneinfo(zone: str) -> None:
    data = _ical(zone)
    reader = dateutil_tz.tzical(io.StringIO(data.decode()))
    theirs, ours = reader.get(zone), ZoneInfo(zone)
    wrong = [t for t in _samples(zone) if t.astimezone(theirs).utcoffset() != t.astimezone(ours).utcoffset()]
    assert wrong == []


@pytest.mark.parametrize("zone", ZONES)
def test_component_parses_cleanly_and_is_compact(zone: str) -> None:
    data = _ical(zone)
    cal = Calendar.from_ical(data)
    for component in cal.walk():
        assert not component.errors
    assert vobject.readOne(data.decode()).vtimezone.tzid.value == zone
    assert b"RDATE" not in data
    blocks = data.count(b"BEGIN:STANDARD") + data.count(b"BEGIN:DAYLIGHT")
    if zone in IRREGULAR:  # dates that follow no weekday rule: one block per change, no more
        window = (datetime(SPAN[0].year - 1, 1, 1, tzinfo=UTC), datetime(SPAN[1].year + 2, 1, 1, tzinfo=UTC))
        assert blocks <= len(transitions(zone, *window)) + 1
    else:
        assert blocks <= 6


def test_new_york_is_two_yearly_rules() -> None:
    text = _ical("America/New_York").decode()
    assert "RRULE:FREQ=YEARLY;BYDAY=2SU;BYMONTH=3" in text
    assert "RRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=11" in text
    assert "TZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400" in text.replace("TZNAME:EDT\r\n", "")


def test_london_uses_last_sunday() -> None:
    text = _ical("Europe/London").decode()
    assert "BYDAY=-1SU;BYMONTH=3" in text and "BYDAY=-1SU;BYMONTH=10" in text


def test_zone_without_dst_has_one_standard() -> None:
    text = _ical("Asia/Kolkata").decode()
    assert text.count("BEGIN:STANDARD") == 1 and "BEGIN:DAYLIGHT" not in text
    assert "TZOFFSETTO:+0530" in text


def test_lord_howe_half_hour_daylight() -> None:
    text = _ical("Australia/Lord_Howe").decode()
    assert "TZOFFSETFROM:+1030" in text and "TZOFFSETTO:+1100" in text
    assert "BYDAY=1SU;BYMONTH=10" in text and "BYDAY=1SU;BYMONTH=4" in text


def test_abolished_dst_rule_ends() -> None:
    """Sao Paulo's last DST ended in February 2019: the rules that describe the span
    are all closed (UNTIL) and the reader sees no DST after that, so nothing repeats
    into 2019-2020 as an open-ended yearly rule."""
    text = _ical("America/Sao_Paulo").decode()
    reader = dateutil_tz.tzical(io.StringIO(text)).get("America/Sao_Paulo")
    rules = [line for line in text.splitlines() if line.startswith("RRULE:")]
    assert rules, "the 2018 DST still needs its yearly rule"
    assert all("UNTIL=" in line for line in rules)
    for month in range(1, 13):
        assert datetime(2020, month, 15, 12, tzinfo=UTC).astimezone(reader).utcoffset() == timedelta(hours=-3)


def _blocks(text: str) -> list[dict[str, str]]:
    """Each STANDARD/DAYLIGHT block of a VTIMEZONE as {kind, TZOFFSETTO, ...}."""
    out: list[dict[str, str]] = []
    for line in text.splitlines():
        if line in ("BEGIN:STANDARD", "BEGIN:DAYLIGHT"):
            out.append({"kind": line.split(":")[1]})
        elif out and ":" in line and not line.startswith("END:"):
            name, _, value = line.partition(":")
            out[-1].setdefault(name, value)
    return out


@pytest.mark.parametrize(("zone", "summer", "winter"), [("Europe/Dublin", "+0100", "+0000")])
def test_negative_dst_zone_has_summer_in_daylight(zone: str, summer: str, winter: str) -> None:
    """tzdata flags Irish winter time as the DST part; calendars use the common form."""
    blocks = _blocks(_ical(zone).decode())
    assert {b["TZOFFSETTO"] for b in blocks if b["kind"] == "DAYLIGHT"} == {summer}
    assert {b["TZOFFSETTO"] for b in blocks if b["kind"] == "STANDARD"} == {winter}
    assert "TZNAME:IST" in next(f"TZNAME:{b['TZNAME']}" for b in blocks if b["kind"] == "DAYLIGHT")


def test_casablanca_ramadan_hour_is_standard() -> None:
    """Morocco keeps +01 all year except Ramadan (+00): +01 is the daylight side."""
    blocks = _blocks(_ical("Africa/Casablanca").decode())
    assert blocks and all(
        (b["kind"] == "DAYLIGHT") == (b["TZOFFSETTO"] == "+0100") for b in blocks if b["TZOFFSETFROM"] != b["TZOFFSETTO"]
    )
