"""Compact, RRULE-style VTIMEZONE components derived from zoneinfo.

icalendar's `add_missing_timezones()` writes every transition from 1970 to 2038 as
RDATEs; Outlook desktop then puts summer events an hour off and vobject misreads
them.  Calendar programs (and vzic, which most of them ship) describe a zone as one
yearly rule per observance instead, e.g. "second Sunday of March at 02:00".  This
module does the same for the span a calendar covers: it takes the zone's transitions
(found by `timezones.transitions`), groups the ones that recur every year on the same
weekday-of-month rule into one RRULE observance, and writes anything irregular as a
DTSTART-only observance.  A zone without DST gets one STANDARD observance.  Zones
that tzdata writes with "negative DST" (Dublin, Casablanca) get the conventional
labels: the higher offset is DAYLIGHT.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard

from forum.core.timezones import Transition, ZoneState, transitions, zone_state

# Shortest length of each month, so a "weekday on or after day N" rule never runs
# past the end of a month in any year.
_MIN_MONTH_DAYS = {2: 28, 4: 30, 6: 30, 9: 30, 11: 30}
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")

Rule = tuple[str, int]  # ("nth", 2) = 2nd weekday, ("last", 0), ("ge", 23) = on/after the 23rd


@dataclass(frozen=True)
class Observance:
    """One STANDARD or DAYLIGHT block of a VTIMEZONE."""

    daylight: bool
    start: datetime  # naive local wall time, on the clock in force before it
    offset_from: timedelta
    offset_to: timedelta
    name: str
    rrule: dict[str, object] | None = None


def _days_in_month(d: date) -> int:
    nxt = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
    return (nxt - timedelta(days=1)).day


def _rules(d: date) -> list[Rule]:
    """Every weekday-of-month rule that the date `d` satisfies, preferred first."""
    out: list[Rule] = []
    if d.day + 7 > _days_in_month(d):
        out.append(("last", 0))
    nth = (d.day - 1) // 7 + 1
    if nth <= 4:
        out.append(("nth", nth))
    longest = _MIN_MONTH_DAYS.get(d.month, 31)
    out.extend(("ge", s) for s in range(max(1, d.day - 6), d.day + 1) if s + 6 <= longest)
    return out


def _rrule(rule: Rule, first: Transition, until: datetime | None) -> dict[str, object]:
    wall = first.wall_before
    day = _WEEKDAYS[wall.weekday()]
    rrule: dict[str, object] = {"FREQ": "YEARLY", "BYMONTH": wall.month}
    kind, n = rule
    if kind == "nth":
        rrule["BYDAY"] = f"{n}{day}"
    elif kind == "last":
        rrule["BYDAY"] = f"-1{day}"
    else:
        rrule["BYDAY"] = day
        rrule["BYMONTHDAY"] = list(range(n, n + 7))
    if until is not None:
        rrule["UNTIL"] = until
    return rrule


def _negative_dst(found: Iterable[Transition]) -> bool:
    """Whether tzdata flags the *lower* offset as DST somewhere in `found`.

    tzdata describes Europe/Dublin (winter GMT is "negative DST" under Irish law) and
    Africa/Casablanca (Ramadan +00) that way; written as is, readers that trust the
    STANDARD/DAYLIGHT labels (dateutil, and with it much of the Python world) get the
    hour after each change wrong.
    """
    return any(
        tr.before.dst != tr.after.dst and (tr.after.offset < tr.before.offset) == tr.after.dst for tr in found
    )


def _daylight_rule(found: tuple[Transition, ...]) -> Callable[[ZoneState], bool]:
    """Which observances are DAYLIGHT: zoneinfo's flag, except for a zone with negative
    DST, where (as calendar programs and tzdata's "rearguard" form have it) every
    offset above the zone's lowest is the daylight one."""
    if not _negative_dst(found):
        return lambda state: state.dst
    floor = min(min(tr.before.offset, tr.after.offset) for tr in found)
    return lambda state: state.offset > floor


def _observance(
    first: Transition, daylight: Callable[[ZoneState], bool], rrule: dict[str, object] | None = None
) -> Observance:
    return Observance(
        daylight=daylight(first.after),
        start=first.wall_before,
        offset_from=first.before.offset,
        offset_to=first.after.offset,
        name=first.after.name,
        rrule=rrule,
    )


def _runs(items: list[Transition]) -> Iterable[tuple[list[Transition], Rule | None]]:
    """Split same-shaped transitions into runs of consecutive years sharing one rule."""
    run: list[Transition] = []
    rules: list[Rule] = []
    for tr in items:
        candidates = _rules(tr.wall_before.date())
        if run and tr.wall_before.year == run[-1].wall_before.year + 1:
            common = [r for r in rules if r in candidates]
            if common:
                run.append(tr)
                rules = common
                continue
        if run:
            yield run, (rules[0] if len(run) > 1 else None)
        run, rules = [tr], candidates
    if run:
        yield run, (rules[0] if len(run) > 1 else None)


def observances(zone_name: str, first_year: int, last_year: int) -> list[Observance]:
    """The observances that describe `zone_name` from `first_year` to `last_year`.

    The rules start a year early so that every instant of the span follows an onset
    (a reader needs one), and run a year past the end.
    """
    window_start = datetime(first_year - 1, 1, 1, tzinfo=UTC)
    window_end = datetime(last_year + 2, 1, 1, tzinfo=UTC)
    span_start = datetime(first_year, 1, 1, tzinfo=UTC)
    daylight = _daylight_rule(transitions(zone_name, window_start, window_end))
    # A change of the DST flag alone (Casablanca's 2018 switch to "permanent" +01)
    # vanishes once labels are normalised; left in, it breaks readers' fold logic.
    found = [
        tr
        for tr in transitions(zone_name, window_start, window_end)
        if (tr.before.offset, tr.before.name, daylight(tr.before))
        != (tr.after.offset, tr.after.name, daylight(tr.after))
    ]
    out: list[Observance] = []
    if not any(tr.at <= span_start for tr in found):
        state = zone_state(zone_name, window_start)
        out.append(
            Observance(
                daylight=daylight(state),
                start=(window_start + state.offset).replace(tzinfo=None),
                offset_from=state.offset,
                offset_to=state.offset,
                name=state.name,
            )
        )
    groups: dict[tuple[object, ...], list[Transition]] = defaultdict(list)
    for tr in found:
        w = tr.wall_before
        key = (tr.before, tr.after, w.time(), w.month, w.weekday())
        groups[key].append(tr)
    for items in groups.values():
        for run, rule in _runs(items):
            if rule is None:
                out.extend(_observance(tr, daylight) for tr in run)
                continue
            open_ended = run[-1].wall_before.year >= last_year + 1
            until = None if open_ended else run[-1].at
            out.append(_observance(run[0], daylight, _rrule(rule, run[0], until)))
    out.sort(key=lambda o: (o.start, o.daylight))
    return out


@lru_cache(maxsize=256)
def _component(zone_name: str, first_year: int, last_year: int) -> Timezone:
    tz = Timezone()
    tz.add("TZID", zone_name)
    for obs in observances(zone_name, first_year, last_year):
        sub = TimezoneDaylight() if obs.daylight else TimezoneStandard()
        sub.add("DTSTART", obs.start)
        sub.add("TZOFFSETFROM", obs.offset_from)
        sub.add("TZOFFSETTO", obs.offset_to)
        sub.add("TZNAME", obs.name)
        if obs.rrule:
            sub.add("RRULE", obs.rrule)
        tz.add_component(sub)
    return tz


def vtimezone(zone_name: str, first: datetime, last: datetime) -> Timezone:
    """A VTIMEZONE for `zone_name` valid for every instant from `first` to `last`.

    Built once per (zone, years) and shared, since a feed may need it on every
    request: callers only serialise it, never change it.
    """
    return _component(zone_name, first.year, last.year)
