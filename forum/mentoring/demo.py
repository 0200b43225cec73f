"""Demo mentoring programme for `make run`: a cycle whose window is open now (it opened
yesterday and closes in three weeks, at 5 PM in the programme's zone), a member list with
the demo mentors, and a few confirmed applicants so the officer's pages have something to show."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from forum.core import clock, timezones
from forum.mentoring import applications, programmes
from forum.models import MentoringProgramme

SLUG = "mentoring-program"
ZONE = "America/Chicago"
PEOPLE = (
    (
        "mentor",
        "paula.holmes@example.org",
        "Paula Holmes",
        "America/New_York",
        "senior",
        "storytime, stem, outreach",
        2,
    ),
    ("mentor", "dan.bostrom@example.org", "Dan Bostrom", "America/Denver", "mid", "teens, grants", 1),
    ("mentee", "marlowe@example.org", "Marlowe Park", "America/Chicago", "early", "storytime, outreach", 1),
    ("mentee", "elizabeth@example.org", "Elizabeth Serrano", "America/Los_Angeles", "returning", "stem", 1),
    ("mentee", "meg@example.org", "Meg Smith", "Europe/London", "student", "teens", 1),
)


def load_mentoring(report: Any) -> MentoringProgramme | None:
    if MentoringProgramme.by_slug(SLUG) is not None:
        report.existing.append(f"mentoring programme {SLUG} (left as it is)")
        return None
    programme = programmes.create_programme(
        {
            "title": "Youth Services Mentoring Program",
            "slug": SLUG,
            "description": "A year of monthly conversations between an experienced librarian and someone "
            "new to, returning to or changing specialty in youth services. Matches set their own goals "
            "and meet on their own time.",
            "eligibility": "Mentees do not need to be members and must be 18 or have a parent's or "
            "guardian's permission. Mentors must be members.",
            "timezone": ZONE,
            "contact_email": "demo@forum.localhost",
        }
    )
    today = timezones.to_zone(clock.now(), ZONE).date()
    opens = datetime.combine(today - timedelta(days=1), time(9))
    closes = datetime.combine(today + timedelta(days=21), time(17))
    cycle = programmes.create_cycle(programme, {"name": "Demo cycle", "opens": opens, "closes": closes})
    applications.import_members("\n".join(p[1] for p in PEOPLE if p[0] == "mentor"))
    for role, email, name, zone, stage, interests, capacity in PEOPLE:
        data = {"name": name, "timezone": zone, "stage": stage, "interests": interests, "capacity": capacity}
        item = applications.apply(
            cycle, role, email, {**data, "bio": f"{name}, youth services.", "adult": True}, {}
        )
        applications.confirm(item.application)
    report.created.append(f"mentoring programme /mentoring/{SLUG} (applications open)")
    return programme
