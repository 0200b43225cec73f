"""Wall time + IANA zone -> instants, zone lists, and the announcement's time formats.

Sessions are entered and stored as wall time in a named zone (that survives tz rule
changes); instants are derived here and nowhere else.  Formatting follows the
announcements officers already write: ``10:00 AM-6:00 PM (Eastern)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from functools import lru_cache
from importlib.resources import files
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel import Locale
from babel import dates as babel_dates
from flask import current_app, has_app_context
from flask_babel import get_locale, ngettext
from flask_babel import gettext as gettext

from forum.core.config import DEFAULT_DISPLAY_ZONES

#: the en dash of ranges ("10:00 AM–6:00 PM", "Tuesday, 9/10/2019 – Wednesday, 9/11/2019")
DASH = "\u2013"
MINUS = "\u2212"  # a real minus sign in UTC offsets


class TimeInputError(ValueError):
    """A wall time or zone an officer typed that cannot be turned into an instant."""


@dataclass(frozen=True)
class Localized:
    """An instant derived from a wall time, with a note when the wall time was ambiguous."""

    instant: datetime  # aware, UTC
    note: str | None = None


@dataclass(frozen=True)
class DisplayZone:
    name: str
    label: str


@lru_cache(maxsize=512)
def get_zone(name: str) -> ZoneInfo:
    """The ZoneInfo for an IANA name, or a TimeInputError that says what is wrong."""
    if not name or name != name.strip() or len(name) > 64:  # the longest IANA name is 32
        raise TimeInputError(gettext("“%(zone)s” is not a time zone name such as America/New_York.", zone=name[:64]))
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: e.g. a name too long for a path
        raise TimeInputError(
            gettext("“%(zone)s” is not a known time zone; use an IANA name such as America/New_York.", zone=name)
        ) from None


def is_zone(name: str) -> bool:
    try:
        get_zone(name)
    except TimeInputError:
        return False
    return True


def reader_zone(*choices: str | None, fallback: str) -> str:
    """The zone a reader sees times in: the first of `choices` that is a known IANA zone
    (their own, a `?tz=`, a cookie ...), else `fallback` (the event's zone).

    A participant's stored zone may predate a tzdata change or come from an import, so it
    is checked here, once, rather than trusted at each place that shows a time.
    """
    return next((c for c in choices if c and is_zone(c)), fallback)


#: zones many readers of an English-language library event live in, offered right after
#: the display zones in every picker
COMMON_ZONES = (
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/Phoenix",
    "America/Halifax",
    "America/St_Johns",
    "America/Toronto",
    "America/Vancouver",
    "America/Mexico_City",
    "America/Sao_Paulo",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Paris",
    "Europe/Berlin",
    "Africa/Johannesburg",
    "Africa/Lagos",
    "Asia/Kolkata",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
    "UTC",
)


def _tzdata_file(name: str) -> str | None:
    """A table shipped with the tzdata package (else the system's zoneinfo), or None."""
    try:
        return (files("tzdata") / "zoneinfo" / name).read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        pass
    try:
        with open(f"/usr/share/zoneinfo/{name}", encoding="utf-8") as handle:
            return handle.read()
    except OSError:
        return None


@lru_cache(maxsize=1)
def all_zone_names() -> list[str]:
    """The canonical IANA zone names, sorted, for pickers: tzdata's zone.tab (one name per
    country region, e.g. Asia/Kolkata) plus UTC. Backward-compatible aliases such as
    Asia/Calcutta or US/Eastern are not offered (they still work where typed: `canonical`)."""
    table = _tzdata_file("zone.tab")
    if table:
        names = {line.split("\t")[2] for line in table.splitlines() if line and not line.startswith("#")}
    else:  # no table anywhere: the zones that are not links, as well as zoneinfo can tell
        names = {
            z
            for z in available_timezones()
            if "/" in z and not z.startswith(("Etc/", "SystemV/", "US/", "posixrules")) and z not in zone_links()
        }
    return sorted(n for n in names if is_zone(n)) + ["UTC"]


@lru_cache(maxsize=1)
def zone_links() -> dict[str, str]:
    """Alias -> target from tzdata's `tzdata.zi` (`L Asia/Kolkata Asia/Calcutta`)."""
    table = _tzdata_file("tzdata.zi") or ""
    links = {}
    for line in table.splitlines():
        if line.startswith("L "):
            _, target, alias = line.split()[:3]
            links[alias] = target
    return links


def canonical(name: str) -> str:
    """`Asia/Calcutta` -> `Asia/Kolkata`; canonical and unknown names come back as they are."""
    offered = set(all_zone_names())
    if name in offered:
        return name
    target = zone_links().get(name)
    return target if target in offered else name


def utc_offset(zone_name: str, at: datetime) -> str:
    """`UTC+05:30` now (or at `at`) in a zone; `UTC` for a zero offset."""
    local = to_zone(at, zone_name)
    text = _offset(local)
    return "UTC" if text == "+00:00" else "UTC" + text.replace("-", MINUS)


Picker = list[tuple[str, list[tuple[str, str]]]]

#: built pickers by `picker_key` (a handful a day: one per display-zone list and `extra`)
_PICKERS: dict[tuple[object, ...], Picker] = {}


def zone_picker(at: datetime, extra: Sequence[str] = ()) -> Picker:
    """The one zone list of every picker (officer and public): the display zones and
    common zones first, then every canonical zone grouped by region, each with its UTC
    offset at `at`. `extra` names a zone to include if missing (a stored alias).

    Built once per process and `picker_key` (the offsets only change at a DST change) and
    shared: callers must not modify the list."""
    key = picker_key(at, extra)
    picker = _PICKERS.get(key)
    if picker is None:
        if len(_PICKERS) >= 64:  # old days; a process that runs for months stays small
            _PICKERS.clear()
        picker = _PICKERS[key] = build_zone_picker(at, extra)
    return picker


def picker_key(at: datetime, extra: Sequence[str] = ()) -> tuple[object, ...]:
    """What the picker at `at` depends on: the display zones, `extra`, the UTC date and,
    on a day when some zone changes its offset, the offsets of those zones at `at` (so
    the picker changes at the very instant of a DST change, not at midnight)."""
    zones = tuple(display_zones())
    names = tuple(extra)
    day = at.astimezone(UTC).date()
    changing = _changing_on(day, zones, names)
    return (day, zones, names, tuple(utc_offset(name, at) for name in changing))


@lru_cache(maxsize=16)
def _changing_on(day: date, zones: tuple[DisplayZone, ...], extra: tuple[str, ...]) -> tuple[str, ...]:
    """The picker's zones whose UTC offset differs anywhere in this UTC day (sampled each
    hour and at both ends: no zone changes its offset twice within an hour)."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    names = dict.fromkeys([*(z.name for z in zones), *COMMON_ZONES, *all_zone_names(), *extra])
    changing = []
    for name in names:
        if not is_zone(name):
            continue
        tz = get_zone(name)
        if len({(start + timedelta(hours=h)).astimezone(tz).utcoffset() for h in range(25)}) > 1:
            changing.append(name)
    return tuple(changing)


def build_zone_picker(at: datetime, extra: Sequence[str] = ()) -> Picker:
    """`zone_picker` without the cache (what the cache must equal)."""
    common: list[tuple[str, str]] = []
    seen: set[str] = set()
    for z in display_zones():
        common.append((z.name, f"{z.label} ({z.name.replace('_', ' ')}) \u2014 {utc_offset(z.name, at)}"))
        seen.add(z.name)
    for name in COMMON_ZONES:
        if name not in seen and is_zone(name):
            common.append((name, f"{zone_label(name)} ({name.replace('_', ' ')}) \u2014 {utc_offset(name, at)}"))
            seen.add(name)
    groups: dict[str, list[tuple[str, str]]] = {}
    for name in [*all_zone_names(), *[e for e in extra if e and is_zone(e)]]:
        region, _, place = name.partition("/")
        label = (place or region).replace("_", " ").replace("/", " / ")
        entry = (name, f"{label} \u2014 {utc_offset(name, at)}")
        bucket = groups.setdefault(region if place else "Other", [])
        if entry not in bucket:
            bucket.append(entry)
    return [("Common", common)] + sorted(groups.items())


# --- formats by locale ----------------------------------------------------------------------
# English keeps the US announcements' own formats ("10:00 AM", "Tuesday, 9/10/2019"), which
# officers and every English mail already use; any other locale in force (a French reader's
# page, a mail under `force_locale("fr_CA")`) gets CLDR's formats through Babel: weekday and
# month names, 12- or 24-hour clocks, "10 h 00" in fr_CA, never written by hand here.


def reader_locale() -> Locale | None:
    """The Babel locale in force when it is not English (then CLDR formats apply), else None."""
    if not has_app_context():
        return None
    locale = get_locale()
    if locale is None or locale.language == "en":
        return None
    return locale


def format_time(dt: datetime) -> str:
    """`10:00 AM` — 12-hour clock without a leading zero, as the announcements write it;
    `10 h 00` for fr_CA, `10:00 a.m.` for es_MX (CLDR's short time)."""
    locale = reader_locale()
    if locale is not None:
        return babel_dates.format_time(dt, "short", locale=locale).replace("\u202f", " ")
    return dt.strftime("%I:%M %p").lstrip("0")


def format_date(d: date | datetime, weekday: bool = True) -> str:
    """`Tuesday, 9/10/2019`; `mardi 10 septembre 2019` in French (CLDR's full or long date)."""
    locale = reader_locale()
    if locale is not None:
        return babel_dates.format_date(d, "full" if weekday else "long", locale=locale)
    text = f"{d.month}/{d.day}/{d.year}"
    return f"{d:%A}, {text}" if weekday else text


def format_date_range(first: date, last: date) -> str:
    """`Tuesday, 9/10/2019 – Wednesday, 9/11/2019` (one date when they are the same)."""
    if first == last:
        return format_date(first)
    return f"{format_date(first)} {DASH} {format_date(last)}"


def format_short_date(d: date | datetime) -> str:
    """`Tue 9/10`, used inside a time range that needs its dates (`mar. 10 sept.` in French)."""
    locale = reader_locale()
    if locale is not None:
        return babel_dates.format_skeleton("MMMEd", d, locale=locale)
    return f"{d:%a} {d.month}/{d.day}"


def _span(start: str, end: str) -> str:
    """`10:00 AM–6:00 PM`; `10 h 00 à 18 h 00` (the connecting word is the catalog's)."""
    if reader_locale() is None:
        return f"{start}{DASH}{end}"
    return gettext("%(start)s to %(end)s", start=start, end=end)


def localized_label(zone_name: str, label: str) -> str:
    """A zone's label in the reader's language: the configured label (`Eastern`) in English,
    CLDR's generic name (`heure de l’Est`, `hora oriental`) otherwise, the same zones either way."""
    locale = reader_locale()
    if locale is None:
        return label
    try:
        return babel_dates.get_timezone_name(get_zone(zone_name), "long", zone_variant="generic", locale=locale)
    except (LookupError, TimeInputError):
        return label


def localize(wall: datetime, zone_name: str) -> Localized:
    """Turn a naive wall time in `zone_name` into a UTC instant.

    A wall time that does not exist (the spring-forward gap) is refused; an ambiguous
    one (the fall-back hour) resolves to its first occurrence and says so.
    """
    if wall.tzinfo is not None:
        raise TypeError("localize() takes a wall time without tzinfo")
    tz = get_zone(zone_name)
    first = wall.replace(tzinfo=tz, fold=0)
    second = wall.replace(tzinfo=tz, fold=1)
    instant = first.astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) != wall:
        before = (wall - timedelta(hours=1)).replace(tzinfo=tz)
        after = (wall + timedelta(hours=1)).replace(tzinfo=tz)
        jump = (after.utcoffset() or timedelta()) - (before.utcoffset() or timedelta())
        raise TimeInputError(
            gettext(
                "%(time)s on %(date)s does not exist in %(zone)s: clocks spring forward by %(jump)s "
                "that night. Pick a time outside the skipped hour.",
                time=format_time(wall),
                date=format_date(wall),
                zone=zone_name,
                jump=_duration(jump),
            )
        )
    note = None
    if first.utcoffset() != second.utcoffset():
        note = gettext(
            "%(time)s on %(date)s happens twice in %(zone)s (clocks fall back); the first one "
            "(%(abbreviation)s, UTC%(offset)s) was used. Calendar files give this session in UTC "
            "so every calendar program shows that same moment.",
            time=format_time(wall),
            date=format_date(wall),
            zone=zone_name,
            abbreviation=first.tzname(),
            offset=_offset(first),
        )
    return Localized(instant=instant, note=note)


def hour_on(day: date, hour: int, zone: str) -> datetime:
    """`hour`:00 on `day` in `zone` as an instant, for mail due at someone's own hour (a
    pathway step, a digest, a mentoring check-in): an hour skipped by spring-forward moves to
    the next hour, an ambiguous one takes the first."""
    wall = datetime.combine(day, time(hour=max(0, min(23, hour))))
    try:
        return localize(wall, zone).instant
    except TimeInputError:
        return localize(wall + timedelta(hours=1), zone).instant


def is_ambiguous(wall: datetime, zone_name: str) -> bool:
    """Whether a naive wall time happens twice in the zone (the fall-back hour)."""
    tz = get_zone(zone_name)
    return wall.replace(tzinfo=tz, fold=0).utcoffset() != wall.replace(tzinfo=tz, fold=1).utcoffset()


def to_zone(instant: datetime, zone_name: str) -> datetime:
    if instant.tzinfo is None:
        raise TypeError("to_zone() takes an aware instant")
    return instant.astimezone(get_zone(zone_name))


def rfc3339(value: datetime) -> str:
    """An aware datetime as an RFC 3339 `date-time`, whose offset is hours and minutes only.

    Before standard time a zone ran on local mean time (Asia/Kolkata +05:53:28 until 1854,
    America/New_York -04:56:02 until 1883), and `isoformat()` writes those seconds into the
    offset, which RFC 3339 does not allow. Such an offset is cut to whole minutes and the
    clock time moved by the seconds cut, so the instant is exactly the same."""
    offset = value.utcoffset()
    if offset is None or not offset.seconds % 60 and not offset.microseconds:
        return value.isoformat()
    minutes = int(offset.total_seconds() // 60) if offset >= timedelta(0) else -int(-offset.total_seconds() // 60)
    whole = timezone(timedelta(minutes=minutes))
    return value.astimezone(whole).isoformat()


def parse_display_zones(spec: str | None) -> list[DisplayZone]:
    """`America/New_York=Eastern,Europe/London=UK` -> DisplayZone list (label optional)."""
    zones = []
    for part in (spec or DEFAULT_DISPLAY_ZONES).split(","):
        part = part.strip()
        if not part:
            continue
        name, _, label = part.partition("=")
        name = name.strip()
        get_zone(name)
        zones.append(DisplayZone(name=name, label=label.strip() or zone_label(name)))
    return zones


def zone_label(name: str) -> str:
    """A readable label for a zone that has none configured: `Asia/Kolkata` -> `Kolkata`."""
    return name.rsplit("/", 1)[-1].replace("_", " ")


def format_range(
    start: datetime, end: datetime, zone_name: str, label: str, home_date: date | None = None
) -> str:
    """`10:00 AM–6:00 PM (Eastern)` (en dash).

    Dates are added when the range crosses midnight in this zone, or when its local date
    differs from the event's home date (the other side of the date line).
    """
    return _format_range(start, end, zone_name, localized_label(zone_name, label), home_date)


def _format_range(start: datetime, end: datetime, zone_name: str, label: str, home_date: date | None) -> str:
    """`format_range` with a label already in the reader's language."""
    s, e = to_zone(start, zone_name), to_zone(end, zone_name)
    if s.date() != e.date() or (home_date is not None and s.date() != home_date):
        if s.date() == e.date():
            return f"{format_short_date(s)} {_span(format_time(s), format_time(e))} ({label})"
        return f"{_span(f'{format_short_date(s)} {format_time(s)}', f'{format_short_date(e)} {format_time(e)}')} ({label})"
    return f"{_span(format_time(s), format_time(e))} ({label})"


def zone_lines(
    start: datetime,
    end: datetime,
    zones: Sequence[DisplayZone],
    home_date: date | None = None,
) -> list[str]:
    """One formatted range per display zone, in the configured order."""
    return [format_range(start, end, z.name, z.label, home_date) for z in zones]


def offset_changes(instants: Iterable[datetime], zone_name: str) -> list[tuple[datetime, str]]:
    """Where consecutive instants sit on different UTC offsets in a zone.

    Officers are told when a series crosses a DST change: the wall time stays put, so
    the time moves for anyone in a zone without (or with a different) DST rule.
    """
    changes = []
    previous = None
    for instant in sorted(instants):
        local = to_zone(instant, zone_name)
        if previous is not None and local.utcoffset() != previous.utcoffset():
            changes.append((instant, f"UTC{_offset(previous)} → UTC{_offset(local)} ({local.tzname()})"))
        previous = local
    return changes


def _offset(dt: datetime) -> str:
    off = dt.utcoffset() or timedelta()
    sign = "+" if off >= timedelta() else "-"
    minutes = abs(int(off.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _duration(delta: timedelta) -> str:
    """`1 hour`, `30 minutes`: how far clocks jump, in the language in force."""
    minutes = abs(int(delta.total_seconds())) // 60
    if minutes % 60 == 0:
        return ngettext("%(num)d hour", "%(num)d hours", minutes // 60)
    return ngettext("%(num)d minute", "%(num)d minutes", minutes)


@dataclass(frozen=True)
class ZoneState:
    """What a zone observes at an instant: UTC offset, DST part and abbreviation."""

    offset: timedelta
    dst: bool
    name: str


@dataclass(frozen=True)
class Transition:
    """A change of a zone's offset (or abbreviation), as calendar VTIMEZONE rules need it.

    `wall_before` is the local wall time of the change on the clock that was in force
    just before it (how iCalendar writes an observance's DTSTART).
    """

    at: datetime  # aware UTC instant of the change
    before: ZoneState
    after: ZoneState

    @property
    def wall_before(self) -> datetime:
        return (self.at + self.before.offset).replace(tzinfo=None)


def zone_state(zone_name: str, instant: datetime) -> ZoneState:
    local = to_zone(instant, zone_name)
    return ZoneState(
        offset=local.utcoffset() or timedelta(),
        dst=bool(local.dst()),
        name=local.tzname() or zone_name,
    )


@lru_cache(maxsize=256)
def transitions(zone_name: str, start: datetime, end: datetime) -> tuple[Transition, ...]:
    """Every change of offset, DST flag or abbreviation in `zone_name` in [start, end).

    zoneinfo keeps its transition table private, so this scans offsets a day at a time
    and bisects each change down to the second; a few thousand lookups per zone and
    span, cached.
    """
    step = timedelta(days=1)
    found: list[Transition] = []
    t = start.astimezone(UTC)
    end = end.astimezone(UTC)
    state = zone_state(zone_name, t)
    while t < end:
        nxt = min(t + step, end)
        nxt_state = zone_state(zone_name, nxt)
        if nxt_state != state:
            lo, hi = t, nxt  # state(lo) == state, state(hi) != state
            while hi - lo > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                mid = mid.replace(microsecond=0)
                if mid <= lo:
                    break
                if zone_state(zone_name, mid) == state:
                    lo = mid
                else:
                    hi = mid
            after = zone_state(zone_name, hi)
            found.append(Transition(at=hi, before=state, after=after))
            state, t = after, hi
            continue
        state, t = nxt_state, nxt
    return tuple(found)


# --- zones shown with a time, and how mail states a time ---------------------------------


def display_zones() -> list[DisplayZone]:
    """The configured zone list (DISPLAY_ZONES), parsed once per app."""
    zones = current_app.extensions.get("forum_display_zones")
    if zones is None:
        zones = parse_display_zones(current_app.config["DISPLAY_ZONES"])
        current_app.extensions["forum_display_zones"] = zones
    return zones  # type: ignore[no-any-return]


def label_for(zone_name: str) -> str:
    """The display-zone label (`Eastern`) where the zone is listed, else the city (`London`)."""
    return next((z.label for z in display_zones() if z.name == zone_name), None) or zone_label(zone_name)


def _stated_zones(home_zone: str, reader_zone: str | None) -> list[tuple[str, str]]:
    """(zone, label) in the order mail states times: home, the reader's own (when it is a
    known zone), then the display zones; each zone once; labels in the reader's language."""
    wanted = [(home_zone, localized_label(home_zone, label_for(home_zone)))]
    if reader_zone and is_zone(reader_zone):
        own = localized_label(reader_zone, label_for(reader_zone))
        wanted.append((reader_zone, gettext("%(zone)s, your time zone", zone=own)))
    wanted += [(z.name, localized_label(z.name, z.label)) for z in display_zones()]
    unique: dict[str, str] = {}
    for name, label in wanted:
        unique.setdefault(name, label)
    return list(unique.items())


def stated_zone_lines(
    start: datetime, end: datetime, home_zone: str, reader_zone: str | None = None
) -> list[str]:
    """A time as every mail states it: the event's home zone first, then the reader's own
    zone when they chose one, then the display-zone list, each zone once.

    A London series therefore always shows London time, whatever DISPLAY_ZONES lists.
    """
    home_date = to_zone(start, home_zone).date()
    return [_format_range(start, end, name, label, home_date) for name, label in _stated_zones(home_zone, reader_zone)]


def session_zone_lines(session, reader_zone: str | None = None) -> list[str]:  # type: ignore[no-untyped-def]
    """`stated_zone_lines` for a session, its event's zone as home."""
    return stated_zone_lines(session.starts_at, session.ends_at, session.event.timezone, reader_zone)


def format_when(start: datetime, end: datetime, zone_name: str) -> str:
    """`Tue 2/9/2027 2:00 PM–3:00 PM (London)`: a session's whole time in one zone, as the
    "was ..., now ..." lines of an update mail give it."""
    s, e = to_zone(start, zone_name), to_zone(end, zone_name)
    locale = reader_locale()
    if locale is not None:
        day = babel_dates.format_skeleton("yMMMEd", s, locale=locale)
    else:
        day = f"{s:%a} {s.month}/{s.day}/{s.year}"
    label = localized_label(zone_name, label_for(zone_name))
    if s.date() != e.date():
        return f"{day} {_span(format_time(s), f'{format_short_date(e)} {format_time(e)}')} ({label})"
    return f"{day} {_span(format_time(s), format_time(e))} ({label})"


def stated_instant(instant: datetime, home_zone: str, reader_zone: str | None = None) -> str:
    """One moment as mail states it, zones in the same order as `stated_zone_lines`:
    `Wednesday, 9/11/2019 6:00 PM (Eastern); 5:00 PM (Central); ...` (a zone on another
    date gets its date)."""
    home = to_zone(instant, home_zone)
    parts = []
    for name, label in _stated_zones(home_zone, reader_zone):
        local = to_zone(instant, name)
        day = "" if local.date() == home.date() else f"{format_short_date(local)} "
        parts.append(f"{day}{format_time(local)} ({label})")
    return f"{format_date(home)} " + "; ".join(parts)
