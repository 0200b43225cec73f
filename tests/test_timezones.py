"""Wall time + zone -> instants and the announcement's zone lines."""

from datetime import UTC, date, datetime, timedelta

import pytest

from forum.core import timezones
from forum.core.timezones import (
    TimeInputError,
    format_date,
    localize,
    offset_changes,
    parse_display_zones,
    zone_lines,
)

US = parse_display_zones(None)


def test_announcement_zone_lines() -> None:
    start = localize(datetime(2019, 9, 10, 10, 0), "America/New_York").instant
    end = localize(datetime(2019, 9, 10, 18, 0), "America/New_York").instant
    assert zone_lines(start, end, US, date(2019, 9, 10)) == [
        "10:00 AM–6:00 PM (Eastern)",
        "9:00 AM–5:00 PM (Central)",
        "8:00 AM–4:00 PM (Mountain)",
        "7:00 AM–3:00 PM (Pacific)",
    ]
    assert format_date(date(2019, 9, 10)) == "Tuesday, 9/10/2019"


def test_weekly_series_keeps_local_time_across_dst() -> None:
    walls = [datetime(2026, 10, 20, 13, 0) + timedelta(weeks=i) for i in range(4)]
    instants = [localize(w, "America/New_York").instant for w in walls]
    assert [i.hour for i in instants] == [17, 17, 18, 18]  # EDT then EST, 1:00 PM local each time
    changes = offset_changes(instants, "America/New_York")
    assert len(changes) == 1 and "UTC-04:00 → UTC-05:00" in changes[0][1]


def test_nonexistent_time_is_refused_with_a_clear_message() -> None:
    with pytest.raises(TimeInputError, match="2:30 AM on Sunday, 3/8/2026 does not exist"):
        localize(datetime(2026, 3, 8, 2, 30), "America/New_York")


def test_ambiguous_time_takes_first_and_says_so() -> None:
    result = localize(datetime(2026, 11, 1, 1, 30), "America/New_York")
    assert result.instant == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    assert result.note and "happens twice" in result.note and "EDT" in result.note


def test_range_crossing_midnight_or_date_line_shows_dates() -> None:
    start = localize(datetime(2019, 9, 10, 10, 0), "America/New_York").instant
    end = localize(datetime(2019, 9, 10, 18, 0), "America/New_York").instant
    zones = parse_display_zones("Asia/Kolkata=India,Pacific/Auckland=Auckland")
    india, auckland = zone_lines(start, end, zones, date(2019, 9, 10))
    assert india == "Tue 9/10 7:30 PM–Wed 9/11 3:30 AM (India)"
    assert auckland == "Wed 9/11 2:00 AM–10:00 AM (Auckland)"


def test_unknown_zone_is_refused() -> None:
    with pytest.raises(TimeInputError, match="not a known time zone"):
        localize(datetime(2026, 1, 1, 9, 0), "Mars/Olympus_Mons")


def test_reader_zone_is_the_first_known_choice_else_the_fallback() -> None:
    assert timezones.reader_zone(None, "Europe/London", fallback="America/New_York") == "Europe/London"
    assert timezones.reader_zone("Mars/Olympus_Mons", "", fallback="America/New_York") == "America/New_York"
    assert timezones.reader_zone(fallback="Asia/Tokyo") == "Asia/Tokyo"
