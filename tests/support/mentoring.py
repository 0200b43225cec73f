"""Helpers for the mentoring tests: a programme with a cycle, applying through the web form,
confirming by the mailed link, matching on the officer's page."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import g
from flask.testing import FlaskClient

from forum.core import clock
from forum.core.extensions import db
from forum.mentoring import applications, programmes
from forum.models import MentoringApplication, MentoringCycle, MentoringProgramme
from tests.conftest import csrf_from
from tests.support.factories import login_officer
from tests.support.subscriptions import link_in, outbox

SLUG = "mentor-alsc"
# Wall times in Chicago: the window opens before US clocks spring forward (14 March 2027)
# and closes after, so its two ends have different UTC offsets.
OPENS = datetime(2027, 3, 1, 9, 0)
CLOSES = datetime(2027, 3, 26, 17, 0)
DURING = datetime(2027, 3, 10, 15, 0, tzinfo=UTC)
MATCH_DAY = datetime(2027, 3, 29, 14, 0, tzinfo=UTC)  # Monday 29 March, after the window closed


def make_programme(zone: str = "America/Chicago", contact: str = "officer@example.org") -> MentoringProgramme:
    item = programmes.create_programme(
        {
            "title": "ALSC Mentoring Program",
            "slug": SLUG,
            "description": "Mentors and mentees set their own goals and meet on their own time.",
            "eligibility": "Mentees need not be members; mentors must be members.",
            "timezone": zone,
            "contact_email": contact,
        }
    )
    db.session.commit()
    return item


def make_cycle(
    programme: MentoringProgramme, opens: datetime = OPENS, closes: datetime = CLOSES
) -> MentoringCycle:
    cycle = programmes.create_cycle(programme, {"name": "Spring 2027", "opens": opens, "closes": closes})
    db.session.commit()
    return cycle


def sign_in(client: FlaskClient) -> None:
    """Sign the officer in. The tests' app context outlives requests, so Flask-Login's
    per-context cache of the anonymous visitor who applied earlier is dropped too."""
    login_officer(client)
    g.pop("_login_user", None)


def members(*keys: str) -> None:
    applications.import_members("\n".join(keys))
    db.session.commit()


def form_data(email: str, name: str, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "email": email,
        "name": name,
        "bio": f"{name} works in a public library.",
        "timezone": "America/New_York",
        "checkin_hour": "10",
        "interests": "storytime, stem",
        "stage": "early",
        "languages": "English",
        "availability": ["weekday-evenings"],
        "capacity": "1",
        "member_number": "",
        "adult": "y",
    }
    data.update(extra)
    return {k: v for k, v in data.items() if v is not None}


def apply_form(  # type: ignore[no-untyped-def]
    client: FlaskClient, role: str, email: str, name: str, browser: str = "en-US", **extra: Any
):
    """Apply through the public form from a browser that asks for `browser`'s language."""
    headers = {"Accept-Language": browser}
    page = client.get(f"/mentoring/{SLUG}/apply/{role}", headers=headers)
    data = form_data(email, name, **extra)
    data["csrf_token"] = csrf_from(page.data)
    return client.post(f"/mentoring/{SLUG}/apply/{role}", data=data, headers=headers)


def click(client: FlaskClient, path: str):  # type: ignore[no-untyped-def]
    """Open a signed link (GET shows a button) and press it (POST)."""
    page = client.get(path)
    assert page.status_code == 200, page.data[:300]
    return client.post(path, data={"csrf_token": csrf_from(page.data)}, follow_redirects=True)


def confirm_by_mail(client: FlaskClient, email: str) -> None:
    row = outbox("mentoring-confirm", recipient=email)[-1]
    click(client, link_in(row, "/mentoring/confirm/"))


def application_of(email: str, role: str) -> MentoringApplication:
    db.session.expire_all()
    for item in db.session.scalars(db.select(MentoringApplication).where(MentoringApplication.role == role)):
        if item.participant.email == email:
            return item
    raise AssertionError(f"no {role} application from {email}")


def three_applicants(client) -> None:  # type: ignore[no-untyped-def]
    """A mentor in Los Angeles (one place), mentees in London and New York."""
    members("paula@example.org")
    with clock.frozen(DURING):
        apply_form(
            client,
            "mentor",
            "paula@example.org",
            "Paula Holmes",
            timezone="America/Los_Angeles",
            checkin_hour="9",
            stage="senior",
            interests="storytime, stem",
            availability=["weekday-mornings", "weekday-evenings"],
        )
        apply_form(
            client,
            "mentee",
            "marlowe@example.org",
            "Marlowe Park",
            timezone="Europe/London",
            checkin_hour="18",
            stage="early",
            interests="storytime",
            availability=["weekday-evenings"],
        )
        apply_form(
            client,
            "mentee",
            "noor@example.org",
            "Noor Haddad",
            timezone="America/New_York",
            checkin_hour="8",
            stage="student",
            interests="grants",
        )
        for email in ("paula@example.org", "marlowe@example.org", "noor@example.org"):
            confirm_by_mail(client, email)


def match_on_the_page(client):  # type: ignore[no-untyped-def]
    mentor = application_of("paula@example.org", "mentor")
    first = application_of("marlowe@example.org", "mentee")
    second = application_of("noor@example.org", "mentee")
    url = f"/manage/mentoring/{SLUG}/cycles/{mentor.cycle_id}/matching"
    with clock.frozen(MATCH_DAY):
        sign_in(client)
        page = client.get(url).get_data(as_text=True)
        assert "shared interests: storytime" in page
        assert "Unmatched: not enough mentors: 2 mentees for 1 place" in page
        data = {
            "csrf_token": csrf_from(page),
            "action": "confirm",
            f"mentor-{first.id}": str(mentor.id),
            f"mentor-{second.id}": "",
        }
        done = client.post(url, data=data, follow_redirects=True)
    assert b"1 matches confirmed" in done.data
    return mentor, first, second


def matched_cycle(
    client: FlaskClient,
) -> tuple[MentoringCycle, tuple[MentoringApplication, MentoringApplication, MentoringApplication]]:
    """The set-up the pairs' tests start from: a programme's cycle, its three applicants, and
    the officer's one match on the page (Paula mentors Marlowe; Noor is left unmatched). The
    client stays signed in as the officer. Returns the cycle and (mentor, mentee, unmatched)."""
    cycle = make_cycle(make_programme())
    three_applicants(client)
    return cycle, match_on_the_page(client)
