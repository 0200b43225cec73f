"""Demo data for `make run` and trying the app: one e-forum, one webinar series, one officer.

Modelled on real announcements (../shared/seeds): the e-forum "Mentoring in Technical
Services" (two days, 10:00 AM-6:00 PM Eastern, four panelists) and the webinar series
"Re-envisioning Technical Services", whose four weekly sessions straddle the next DST
change in America/New_York so the zone lines and calendars show the shift.

Dates are computed from `clock.now()`, so the demo is always in the future. Loading is
idempotent: what exists (by slug, panelist name, officer email) is left alone and reported.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from flask import current_app
from sqlalchemy import func, select

from forum.core import clock, timezones
from forum.core.extensions import db
from forum.events import panelists
from forum.events import service as events
from forum.mentoring.demo import load_mentoring  # a programme whose window is open
from forum.models import Event, Officer, Panelist
from forum.pathways.demo import load_pathway  # the learning pathway built on the events above
from forum.registration import questions
from forum.webinars import recordings

HOME_ZONE = "America/New_York"
DEMO_OFFICER_EMAIL = "demo@forum.localhost"
DEV_DEMO_PASSWORD = "forum-demo"  # noqa: S105 - development only; production gets a random one
TUESDAY = 1


@dataclass
class DemoReport:
    """What the loader did, line by line, for the CLI to print."""

    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    password: str | None = None


# --- dates ------------------------------------------------------------------------------


def _today(zone: str) -> date:
    return timezones.to_zone(clock.now(), zone).date()


def _next_weekday(after: date, weekday: int) -> date:
    """The first `weekday` strictly after `after`."""
    return after + timedelta(days=(weekday - after.weekday() - 1) % 7 + 1)


def eforum_days(zone: str = HOME_ZONE) -> tuple[date, date]:
    """A Tuesday-Wednesday at least two weeks away: time to subscribe, as in the announcement."""
    tuesday = _next_weekday(_today(zone) + timedelta(days=13), TUESDAY)
    return tuesday, tuesday + timedelta(days=1)


def next_offset_change(zone: str, after: date, days: int = 400) -> date:
    """The first local date after `after` on which noon has a different UTC offset."""
    noons = [
        timezones.localize(datetime.combine(after + timedelta(days=n), time(12)), zone).instant
        for n in range(days)
    ]
    changes = timezones.offset_changes(noons, zone)
    if not changes:
        raise RuntimeError(f"{zone} has no offset change in the next {days} days")
    return timezones.to_zone(changes[0][0], zone).date()


def series_days(zone: str = HOME_ZONE, count: int = 4) -> list[date]:
    """Weekly Tuesdays straddling the next DST change: half before it, half after.

    If that change is too close for a session before it to be in the future, the first
    session is the next Tuesday, as long as one still falls before the change; otherwise
    the change after that one is used.
    """
    today = _today(zone)
    search_from = today
    while True:
        change = next_offset_change(zone, search_from)
        ideal = _next_weekday(change - timedelta(days=7 * (count // 2) + 1), TUESDAY)
        first = max(ideal, _next_weekday(today, TUESDAY))
        if first < change:
            return [first + timedelta(weeks=n) for n in range(count)]
        search_from = change


# --- content ----------------------------------------------------------------------------

EFORUM = {
    "slug": "mentoring-in-technical-services",
    "kind": "eforum",
    "title": "Mentoring in Technical Services",
    "summary": (
        "A two-day e-Forum on mentoring specific to technical services work: "
        "formal and informal, at your institution and through professional organizations."
    ),
    "description": (
        "At many libraries, technical services (TS) is a small department, often with just one "
        "librarian or staff member handling all the acquisitions and cataloging work. Even at larger "
        "institutions, the number of technical services librarians and staff are often much smaller "
        "than other units. Combined with the fact that most of the work is solitary, it’s easy for new "
        "librarians in TS to feel isolated. Also, some TS librarians and staff may struggle to figure "
        "out how to move up in larger organizations.\n\n"
        "This e-Forum will provide time for participants to discuss ideas on how to mentor specific to "
        "technical services work. Some topics include successful (and not successful!) mentoring at the "
        "same institution, mentoring through a professional organization, formal and informal mentoring "
        "opportunities, mentoring at different points in a career, and more."
    ),
    "learning_outcomes": "\n".join(
        [
            "Share experiences in mentoring initiatives (both informal and formal)",
            "Discuss approaches and challenges to mentoring in technical services",
            "Brainstorm ideas for mentoring beyond traditional new-career mentoring "
            "(librarians from underrepresented groups, mid-career librarians, etc.)",
        ]
    ),
    "audience": (
        "Librarians and library staff interested in mentoring experiences and opportunities "
        "in technical services"
    ),
    "registration_info": (
        "Subscribe with your email address on this page; you will get a confirmation message "
        "and then the discussion by email (each message, or a daily digest).\n\n"
        "Once you have registered for one e-Forum, you do not need to register again, unless you "
        "choose to leave the list. Every message has a link to change your delivery or to unsubscribe."
    ),
    "tech_requirements": (
        "Internet connection with email address. You can manage your subscription to this list "
        "following the online instructions."
    ),
    "conduct_url": "https://www.example.org/statement-of-conduct",
    "contact_name": "Megan Dougherty, Program Officer, Continuing Education",
    "contact_email": "continuing-education@example.org",
    "contact_phone": "1-800-545-2433, ext. 5038",
    "timezone": HOME_ZONE,
}

EFORUM_PANELISTS = [
    {
        "name": "Jay L. Colbert",
        "role": "moderator",
        "title": "Resident Librarian, 2017-2019",
        "affiliation": "J. Willard Marriott Library, University of Utah",
        "pronouns": "they/them",
        "email": "jay.colbert@example.org",
        "bio": (
            "Jay L. Colbert was the 2017-2019 Resident Librarian at the University of Utah's "
            "J. Willard Marriott Library. They are one of the authors of *Developing a Residency "
            "Program: A Practical Guide for Librarians*, which has a dedicated chapter on mentorship. "
            "As an early-career librarian, they have benefited from both formal and informal mentorship."
        ),
    },
    {
        "name": "Jeannette Ho",
        "role": "panelist",
        "title": "Cataloging/Metadata Librarian",
        "affiliation": "Texas A&M University Libraries",
        "email": "jeannette.ho@example.org",
        "bio": (
            "Jeannette Ho is a Cataloging/Metadata Librarian at Texas A&M University Libraries, where "
            "she catalogs monographs and participates in managing metadata for digital projects in her "
            "institution’s repository. She has served as a mentor for untenured librarians in her "
            "library’s mentoring program."
        ),
    },
    {
        "name": "Euemduan Osmera",
        "role": "panelist",
        "title": "Cataloging and Metadata Librarian",
        "affiliation": "University of Nebraska Medical Center",
        "email": "euemduan.osmera@example.org",
        "bio": (
            "Euemduan Osmera is a Cataloging and Metadata Librarian at the University of Nebraska "
            "Medical Center. She has worked in both public and academic libraries. Euemduan has "
            "participated in one formal mentorship with two different mentors: 1) a general one, and "
            "2) a Technical Services one. On occasions, she informally mentored junior faculty in all "
            "aspects of needs. Euemduan is exploring being coached – a new program on her campus."
        ),
    },
    {
        "name": "Nicole Smeltekop",
        "role": "panelist",
        "title": "Special Materials Catalog Librarian",
        "affiliation": "Michigan State University",
        "email": "nicole.smeltekop@example.org",
        "bio": (
            "Nicole Smeltekop is a Special Materials Catalog Librarian at Michigan State University. "
            "In her role, she is also a member of the metadata team that works with the digital "
            "repository team. Prior to coming to Michigan State, she was an archivist at a small "
            "liberal arts college in the Midwest. She has participated in two formal mentoring "
            "initiatives at Michigan State as a mentee, and is currently participating in her first "
            "role as a mentor."
        ),
    },
]

SERIES = {
    "slug": "re-envisioning-technical-services",
    "kind": "series",
    "title": "Re-envisioning Technical Services",
    "summary": (
        "A four-part weekly webinar series on the skills, staff development and leadership "
        "that technical services departments need now."
    ),
    "description": (
        "Technical services managers have to make sure the people they hire have the right skills, "
        "keep up with skills training for the department, and maintain their own skills while "
        "functioning as managers. This series looks at what skills are most needed for essential "
        "technical services functions, whether new graduates arrive with them, and concrete ways "
        "to build them: residencies, peer-to-peer training and succession planning.\n\n"
        "Each webinar is one hour, live, with time for questions. Recordings go to everyone "
        "registered for the series."
    ),
    "learning_outcomes": "\n".join(
        [
            "Identify the skills most needed for essential technical services functions",
            "Compare residencies, peer training and succession planning as ways to build them",
            "Plan staff and leadership development for your own department",
        ]
    ),
    "audience": "Technical services managers, department heads, and staff who train others",
    "registration_info": (
        "Register once for the whole series; you will receive calendar invitations for all four "
        "sessions, each in your own time zone, and updates if a session moves."
    ),
    "tech_requirements": (
        "A computer with speakers or headphones and a current web browser; the join link "
        "arrives with your calendar invitation."
    ),
    "conduct_url": "https://www.example.org/statement-of-conduct",
    "contact_name": "Megan Dougherty, Program Officer, Continuing Education",
    "contact_email": "continuing-education@example.org",
    "contact_phone": "1-800-545-2433, ext. 5038",
    "timezone": HOME_ZONE,
}

SERIES_SESSIONS = [
    (
        "Re-envisioning technical services: skills, roles and structures",
        "How technical services work is changing, and what that asks of departments and the people in them.",
    ),
    (
        "New Resources on Staff and Leadership Development in Technical Services",
        "Cory Tucker presents a survey, done with colleagues, of the skills most needed for essential "
        "technical services functions, and whether new graduates come out of library school with them.",
    ),
    (
        "Case studies: residencies, peer training, and succession planning",
        "Concrete ways to build skills: the residency model, peer-to-peer training, and planning "
        "for succession.",
    ),
    (
        "Leading technical services",
        "Jacob Nadal on why technical services managers need to be managers, experts in their "
        "fields, and inspiring leaders.",
    ),
]
SERIES_START, SERIES_END = time(14, 0), time(15, 0)
#: The series' webinar room (never shown publicly: registrants get personal /join/ links),
#: its seats, and the slides shared ahead of the second session, for everyone.
SERIES_ROOM = "https://zoom.us/j/5550123456"
SERIES_SEATS = 100
SERIES_SLIDES = ("Survey slides", "https://www.example.org/ce/tech-services-skills-survey.pdf")

SERIES_PANELISTS = [
    {
        "name": "Cory Tucker",
        "role": "presenter",
        "bio": (
            "Cory Tucker surveyed technical services managers, with colleagues, about the skills "
            "most needed for essential technical services functions and whether new graduates "
            "arrive with them. He presents the findings in the series' second webinar."
        ),
    },
    {
        "name": "Jacob Nadal",
        "role": "presenter",
        "bio": (
            "Jacob Nadal presents the series' closing webinar on leadership: technical services "
            "managers need to be managers, experts in their fields, and inspiring leaders."
        ),
    },
]


# --- loading ----------------------------------------------------------------------------


def _panelist(spec: dict[str, str], report: DemoReport) -> Panelist:
    """Reuse a panelist of the same name, so a second run (or another event) adds no duplicate."""
    found = db.session.scalar(select(Panelist).where(Panelist.name == spec["name"]).limit(1))
    if found is not None:
        return found
    fields = {k: v for k, v in spec.items() if k != "role"}
    panelist = Panelist(**fields)
    db.session.add(panelist)
    report.created.append(f"panelist {spec['name']}")
    return panelist


def _add_session(
    event: Event, day: date, start: time, end: time, title: str = "", description: str = ""
) -> None:
    events.add_session(
        event,
        datetime.combine(day, start),
        datetime.combine(day, end),
        event.timezone,
        title=title,
        description=description,
    )


def _event(spec: dict[str, str], report: DemoReport) -> Event | None:
    """A new draft event from `spec`, or None (reported) if its slug is taken."""
    if Event.by_slug(spec["slug"]) is not None:
        report.existing.append(f"event {spec['slug']} (left as it is)")
        return None
    event = Event(**spec)
    db.session.add(event)
    report.created.append(f"{event.kind_label} {spec['slug']}")
    return event


def _link_panelists(event: Event, specs: list[dict[str, str]], report: DemoReport) -> None:
    for spec in specs:
        panelists.attach_panelist(event, _panelist(spec, report), spec["role"])


def load_eforum(report: DemoReport) -> Event | None:
    event = _event(EFORUM, report)
    if event is None:
        return None
    for day in eforum_days(event.timezone):
        _add_session(event, day, time(10, 0), time(18, 0))
    _link_panelists(event, EFORUM_PANELISTS, report)
    events.publish_event(event)
    return event


def load_series(report: DemoReport) -> Event | None:
    event = _event(SERIES, report)
    if event is None:
        return None
    days = series_days(event.timezone, len(SERIES_SESSIONS))
    for day, (title, description) in zip(days, SERIES_SESSIONS, strict=True):
        _add_session(event, day, SERIES_START, SERIES_END, title, description)
    event.seat_limit = SERIES_SEATS
    for session in event.sessions:
        session.join_url = SERIES_ROOM
    db.session.flush()
    recordings.add_material(
        event.sessions[1], url=SERIES_SLIDES[1], kind="slides", title=SERIES_SLIDES[0], public=True
    )
    _link_panelists(event, SERIES_PANELISTS, report)
    _ask_questions(event)
    events.publish_event(event)
    return event


def _ask_questions(event: Event) -> None:
    """The series asks what an organiser of webinars usually asks: a preset, a question with
    a follow-up shown only after "Yes", and a sensitive one (all optional, so a newcomer can
    register with just an address)."""
    form = questions.event_form(event, create=True)
    assert form is not None  # made just now
    job = next(p for p in questions.presets() if p.label == "Job title")
    questions.add_from_preset(form, job)
    access = questions.add_question(
        form, {"kind": "yesno", "label": "Do you need an accommodation to take part?"}
    )
    questions.add_question(
        form,
        {
            "kind": "long",
            "label": "What would help you?",
            "help": "Captions, a sign language interpreter, slides in advance ...",
            "required": True,
            "sensitive": True,
            "condition_question": access.id,
            "condition_values": ["Yes"],
        },
    )


def load_officer(report: DemoReport) -> Officer:
    """The officer `make run` users sign in as; the password is printed only when created."""
    officer = Officer.by_email(DEMO_OFFICER_EMAIL)
    if officer is not None:
        report.existing.append(f"officer {DEMO_OFFICER_EMAIL} (password unchanged)")
        return officer
    production = current_app.config.get("FORUM_ENV") == "production"
    password = secrets.token_urlsafe(12) if production else DEV_DEMO_PASSWORD
    officer = Officer(email=DEMO_OFFICER_EMAIL, name="Demo Officer", is_admin=True)
    officer.set_password(password)
    db.session.add(officer)
    report.created.append(f"officer {DEMO_OFFICER_EMAIL}")
    report.password = password
    return officer


def has_events() -> bool:
    return bool(db.session.scalar(select(func.count(Event.id))))


def load(if_empty: bool = False) -> DemoReport | None:
    """Load everything in one transaction; None when `if_empty` and events already exist."""
    if if_empty and has_events():
        return None
    report = DemoReport()
    load_officer(report)
    load_eforum(report)
    load_series(report)

    load_pathway(report)
    load_mentoring(report)
    db.session.commit()
    return report
