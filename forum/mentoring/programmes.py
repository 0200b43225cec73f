"""Programmes and their cycles: what officers set up, and the application window's rules.

The window is typed as wall times in the programme's zone ("applications close Friday,
February 24 at 5 PM Central") and that stays the truth; the instants beside it are derived
by `timezones.localize`, so a window that spans a daylight-saving change still closes at
5 PM local, and a time inside the spring-forward gap is refused with a reason. Every door
(officer pages, JSON API, demo) calls these functions; they never commit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from forum.core import clock, timezones
from forum.core.extensions import db
from forum.models import FormQuestion, MentoringCycle, MentoringProgramme, QuestionForm, QuestionPreset
from forum.models.mentoring import CRITERIA, DEFAULT_WEIGHTS, SENSITIVE_SECTIONS
from forum.registration import questions

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_MONTHS = 36


class MentoringError(ValueError):
    """Input a person can fix; `field` names the form field (or API property)."""

    def __init__(self, message: str, field: str = "name"):
        super().__init__(message)
        self.field = field


#: the sections the application forms start with: the registration engine's sensitive
#: questions, so they are optional, offer "Prefer not to say" and stay out of exports
SECTION_QUESTIONS: dict[str, dict[str, Any]] = {
    "gender": {
        "kind": "choice",
        "label": "Gender",
        "choices": "Woman\nMan\nNon-binary\nSelf-described",
        "sensitive": True,
    },
    "region": {
        "kind": "choice",
        "label": "Geographic region",
        "display": "list",
        "choices": "Northeast\nSoutheast\nMidwest\nSouthwest\nWest\nOutside the United States",
        "sensitive": True,
    },
    "ethnicity": {
        "kind": "multi",
        "label": "Race/Ethnicity",
        "choices": "American Indian or Alaska Native\nAsian\nBlack or African American\n"
        "Hispanic or Latino\nMiddle Eastern or North African\nNative Hawaiian or Pacific Islander\n"
        "White\nSelf-described",
        "sensitive": True,
    },
}


def _text(data: Mapping[str, Any], name: str, limit: int, *, required: bool = False) -> str:
    value = data.get(name)
    text = "" if value is None else str(value).strip()
    if required and not text:
        raise MentoringError(_("This field is needed."), field=name)
    if len(text) > limit:
        raise MentoringError(_("Keep this under %(limit)d characters.", limit=limit), field=name)
    return text


def _number(data: Mapping[str, Any], name: str, default: int, low: int, high: int) -> int:
    raw = data.get(name, default)
    try:
        value = int(raw if raw not in (None, "") else default)
    except (TypeError, ValueError):
        raise MentoringError(_("Enter a whole number."), field=name) from None
    if not low <= value <= high:
        raise MentoringError(_("Enter a number from %(low)d to %(high)d.", low=low, high=high), field=name)
    return value


def _apply_programme(programme: MentoringProgramme, data: Mapping[str, Any]) -> None:
    programme.title = _text(data, "title", 200, required=True)
    programme.description = _text(data, "description", 10000)
    programme.eligibility = _text(data, "eligibility", 4000)
    zone = timezones.canonical(_text(data, "timezone", 64) or "America/Chicago")
    if not timezones.is_zone(zone):
        raise MentoringError(_("“%(zone)s” is not a known time zone.", zone=zone[:64]), field="timezone")
    programme.timezone = zone
    programme.length_months = _number(data, "length_months", 12, 1, MAX_MONTHS)
    programme.checkin_months = _number(data, "checkin_months", 1, 1, 6)
    if programme.checkin_months > programme.length_months:
        raise MentoringError(_("Check in at least once during the programme."), field="checkin_months")
    programme.contact_email = _text(data, "contact_email", 320)


def create_programme(data: Mapping[str, Any]) -> MentoringProgramme:
    """A programme with its two application forms, each starting with the gender, region and
    race/ethnicity sections (sensitive questions the officer may edit or remove)."""
    slug = _text(data, "slug", 80, required=True).lower()
    if not SLUG_RE.match(slug):
        raise MentoringError(_("Use lower-case letters, digits and hyphens."), field="slug")
    if MentoringProgramme.by_slug(slug) is not None:
        raise MentoringError(_("Another programme has this address."), field="slug")
    programme = MentoringProgramme(slug=slug)
    _apply_programme(programme, data)
    sections: dict[str, dict[str, int]] = {}
    for role in ("mentor", "mentee"):
        form = questions.new_form(f"mentoring-{role}")
        sections[role] = {}
        for section in SENSITIVE_SECTIONS:
            sections[role][section] = questions.add_question(form, SECTION_QUESTIONS[section]).id
        setattr(programme, f"{role}_form_id", form.id)
    programme.sections = sections
    db.session.add(programme)
    db.session.flush()
    return programme


def update_programme(programme: MentoringProgramme, data: Mapping[str, Any]) -> None:
    merged = {
        name: getattr(programme, name)
        for name in ("title", "description", "eligibility", "timezone", "length_months", "checkin_months")
    }
    merged["contact_email"] = programme.contact_email
    merged.update(data)
    _apply_programme(programme, merged)
    db.session.flush()


def question_form(programme: MentoringProgramme, role: str) -> QuestionForm:
    form = db.session.get(QuestionForm, programme.form_id(role)) if role in ("mentor", "mentee") else None
    if form is None:
        raise MentoringError(_("Choose the mentor or the mentee application."), field="role")
    return form


def add_question(programme: MentoringProgramme, role: str, data: Mapping[str, Any]) -> FormQuestion:
    """A question on one application form, by the registration engine's rules (a sensitive
    question is never required and offers "Prefer not to say"; conditions test earlier answers).
    `preset_id` starts it from the officers' library of preset questions."""
    form = question_form(programme, role)
    preset_id = data.get("preset_id")
    try:
        if preset_id not in (None, "", 0, "0"):
            preset = db.session.get(QuestionPreset, int(str(preset_id)))
            if preset is None:
                raise MentoringError(_("There is no such preset."), field="preset_id")
            return questions.add_from_preset(form, preset, required=bool(data.get("required")))
        return questions.add_question(form, data)
    except questions.QuestionError as exc:
        raise MentoringError(str(exc), field=exc.field) from None


QUESTION_ACTIONS = ("up", "down", "delete")


def change_question(programme: MentoringProgramme, question_id: int, action: str) -> None:
    """Move a question of either application up or down, or remove it, by the registration
    engine's rules (a question stays below the one its condition reads; conditions on a
    removed question go with it)."""
    if action not in QUESTION_ACTIONS:
        raise MentoringError(_("Move a question up or down, or remove it."), field="action")
    found = programme_question(programme, question_id)
    try:
        if action == "delete":
            questions.delete_question(found)
        else:
            questions.move_question(found, -1 if action == "up" else 1)
    except questions.QuestionError as exc:
        raise MentoringError(str(exc), field=exc.field) from None


def programme_question(programme: MentoringProgramme, question_id: int) -> FormQuestion:
    """A question of either of the programme's applications; refused (field `question`) when
    it is on neither, so no door can reach another programme's or an event's question."""
    found = None
    for role in ("mentor", "mentee"):
        found = found or questions.get_question(question_form(programme, role), question_id)
    if found is None:
        raise MentoringError(_("That question is not on this programme's applications."), field="question")
    return found


def update_question(programme: MentoringProgramme, question_id: int, data: Mapping[str, Any]) -> FormQuestion:
    """Change a question of either application in place (label, kind, choices, required,
    condition...) by the registration engine's rules; fields not in `data` keep their values,
    so the API's partial update and the officer's full form are the same call. Until now an
    officer had to remove a question (and its answers) and add it again to fix a typo."""
    found = programme_question(programme, question_id)
    try:
        questions.update_question(found, data)
    except questions.QuestionError as exc:
        raise MentoringError(str(exc), field=exc.field) from None
    return found


def programmes() -> list[MentoringProgramme]:
    return list(db.session.scalars(select(MentoringProgramme).order_by(MentoringProgramme.title)))


# --- cycles and their window ---------------------------------------------------------------------


def parse_wall(raw: Any, field: str) -> datetime:
    """A wall time from a form (`2027-02-24T17:00`) or a datetime; an offset is refused."""
    if isinstance(raw, datetime):
        wall = raw
    else:
        try:
            wall = datetime.fromisoformat(str(raw or "").strip())
        except ValueError:
            raise MentoringError(_("Enter a date and time, such as 2027-02-24 17:00."), field=field) from None
    if wall.tzinfo is not None:
        raise MentoringError(_("Give the local time without an offset."), field=field)
    return wall.replace(second=0, microsecond=0)


def _localized(wall: datetime, zone: str, field: str) -> datetime:
    try:
        return timezones.localize(wall, zone).instant
    except timezones.TimeInputError as exc:
        raise MentoringError(str(exc), field=field) from None


def set_window(cycle: MentoringCycle, opens: Any, closes: Any, zone: str | None = None) -> None:
    """Both ends as wall times in the programme's zone; the instants follow from them."""
    zone = zone or cycle.programme.timezone
    opens_wall, closes_wall = parse_wall(opens, "opens"), parse_wall(closes, "closes")
    opens_at, closes_at = _localized(opens_wall, zone, "opens"), _localized(closes_wall, zone, "closes")
    if closes_at <= opens_at:
        raise MentoringError(_("The window must close after it opens."), field="closes")
    cycle.opens_wall, cycle.closes_wall, cycle.opens_at, cycle.closes_at = (
        opens_wall,
        closes_wall,
        opens_at,
        closes_at,
    )


def create_cycle(programme: MentoringProgramme, data: Mapping[str, Any]) -> MentoringCycle:
    name = _text(data, "name", 120, required=True)
    cycle = MentoringCycle(name=name, weights=dict(DEFAULT_WEIGHTS))
    set_window(cycle, data.get("opens"), data.get("closes"), programme.timezone)
    cycle.programme = programme
    db.session.add(cycle)
    db.session.flush()
    return cycle


def update_cycle(cycle: MentoringCycle, data: Mapping[str, Any]) -> None:
    if "name" in data:
        cycle.name = _text(data, "name", 120, required=True)
    set_window(cycle, data.get("opens", cycle.opens_wall), data.get("closes", cycle.closes_wall))
    db.session.flush()


def set_weights(cycle: MentoringCycle, data: Mapping[str, Any]) -> None:
    """The officer's weight (0-5) for each matching criterion."""
    cycle.weights = {name: _number(data, name, DEFAULT_WEIGHTS[name], 0, 5) for name in CRITERIA}
    db.session.flush()


def weights_of(cycle: MentoringCycle) -> dict[str, int]:
    return {name: int((cycle.weights or {}).get(name, DEFAULT_WEIGHTS[name])) for name in CRITERIA}


def window_state(cycle: MentoringCycle, at: datetime | None = None) -> str:
    """ "upcoming", "open" or "closed"."""
    now = at or clock.now()
    if now < cycle.opens_at:
        return "upcoming"
    return "open" if now < cycle.closes_at else "closed"


def is_open(cycle: MentoringCycle, at: datetime | None = None) -> bool:
    return window_state(cycle, at) == "open"


def current_cycle(programme: MentoringProgramme, at: datetime | None = None) -> MentoringCycle | None:
    """The cycle whose window is open, else the next to open, else the latest."""
    now = at or clock.now()
    cycles = sorted(programme.cycles, key=lambda c: c.opens_at)
    for cycle in cycles:
        if is_open(cycle, now):
            return cycle
    upcoming = [c for c in cycles if c.opens_at > now]
    if upcoming:
        return upcoming[0]
    return cycles[-1] if cycles else None


@dataclass(frozen=True)
class WindowText:
    """A window as a reader sees it: both ends in the programme's zone and in theirs."""

    opens_home: str
    closes_home: str
    opens_reader: str
    closes_reader: str
    reader_zone: str
    same_zone: bool


def _stamp(instant: datetime, zone: str) -> str:
    local = timezones.to_zone(instant, zone)
    return f"{timezones.format_date(local)}, {timezones.format_time(local)} {local.tzname()}"


def window_text(cycle: MentoringCycle, reader_zone: str) -> WindowText:
    home = cycle.programme.timezone
    return WindowText(
        opens_home=_stamp(cycle.opens_at, home),
        closes_home=_stamp(cycle.closes_at, home),
        opens_reader=_stamp(cycle.opens_at, reader_zone),
        closes_reader=_stamp(cycle.closes_at, reader_zone),
        reader_zone=reader_zone,
        same_zone=timezones.canonical(reader_zone) == timezones.canonical(home),
    )


def countdown(until: datetime, at: datetime | None = None) -> str:
    """ "3 days, 4 hours" to an instant (the page's no-script countdown)."""
    seconds = max(0, int((until - (at or clock.now())).total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return _("%(days)d days, %(hours)d hours", days=days, hours=hours)
    if hours:
        return _("%(hours)d hours, %(minutes)d minutes", hours=hours, minutes=minutes)
    return _("%(minutes)d minutes", minutes=minutes)
