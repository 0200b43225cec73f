"""Demo data (`flask forum demo`) and the `create-token` command."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from forum.core import clock, timezones
from forum.core.extensions import db
from forum.demo import data as demo
from forum.models import ApiToken, Event, EventPanelist, Officer, Panelist, Session
from forum.web.helpers import session_zone_lines

NOW = datetime(2030, 2, 20, 15, 0, tzinfo=UTC)  # US DST starts 2030-03-10


def run(app, *args: str):  # type: ignore[no-untyped-def]
    return app.test_cli_runner().invoke(args=["forum", *args])


def counts() -> dict[str, int]:
    return {
        model.__name__: db.session.scalar(select(func.count()).select_from(model)) or 0
        for model in (Event, Session, Panelist, EventPanelist, Officer)
    }


def test_demo_eforum_reads_like_the_announcement(app):
    with clock.frozen(NOW):
        result = run(app, "demo")
    assert result.exit_code == 0, result.output
    assert "demo@forum.localhost" in result.output
    assert "password: " in result.output

    event = Event.by_slug("mentoring-in-technical-services")
    assert event is not None
    assert event.kind == "eforum"
    assert event.status == "published"
    assert [s.start_local.strftime("%A") for s in event.sessions] == ["Tuesday", "Wednesday"]
    assert event.sessions[0].starts_at > NOW
    assert event.sessions[1].start_wall - event.sessions[0].start_wall == timedelta(days=1)
    for session in event.sessions:
        assert session_zone_lines(session) == [
            "10:00 AM–6:00 PM (Eastern)",
            "9:00 AM–5:00 PM (Central)",
            "8:00 AM–4:00 PM (Mountain)",
            "7:00 AM–3:00 PM (Pacific)",
        ]
    assert len(event.learning_outcomes.splitlines()) == 3
    assert "Share experiences in mentoring initiatives" in event.learning_outcomes
    assert event.audience.startswith("Librarians and library staff")
    assert "do not need to register again" in event.registration_info
    assert event.conduct_url.startswith("https://")
    assert event.tech_requirements.startswith("Internet connection with email address")
    assert event.contact_name.startswith("Megan Dougherty, Program Officer")
    assert event.contact_phone == "1-800-545-2433, ext. 5038"
    names = [(link.panelist.name, link.role) for link in event.panelist_links]
    assert [n for n, _ in names] == ["Jay L. Colbert", "Jeannette Ho", "Euemduan Osmera", "Nicole Smeltekop"]
    assert "moderator" in {role for _, role in names}
    assert all(len(link.panelist.bio) > 150 for link in event.panelist_links)

    officer = Officer.by_email(demo.DEMO_OFFICER_EMAIL)
    assert officer is not None and officer.check_password(demo.DEV_DEMO_PASSWORD)


def test_demo_series_keeps_its_local_time_across_the_dst_change(app):
    with clock.frozen(NOW):
        assert run(app, "demo").exit_code == 0

    event = Event.by_slug("re-envisioning-technical-services")
    assert event is not None
    assert event.kind == "series" and event.status == "published"
    sessions = event.sessions
    assert len(sessions) == 4
    assert "New Resources on Staff and Leadership Development in Technical Services" in [
        s.title for s in sessions
    ]
    assert "Case studies: residencies, peer training, and succession planning" in [s.title for s in sessions]
    assert {(link.panelist.name, link.role) for link in event.panelist_links} >= {
        ("Cory Tucker", "presenter"),
        ("Jacob Nadal", "presenter"),
    }
    starts = [s.starts_at for s in sessions]
    walls = [s.start_wall for s in sessions]
    assert [b - a for a, b in zip(walls, walls[1:], strict=False)] == [timedelta(weeks=1)] * 3
    assert {s.start_wall.time() for s in sessions} == {demo.SERIES_START}
    assert {s.start_local.strftime("%H:%M") for s in sessions} == {"14:00"}
    assert [s.starts_at.hour for s in sessions] == [19, 19, 18, 18]  # EST, then EDT
    assert [s.start_wall.date() for s in sessions][1] < datetime(2030, 3, 10).date()
    assert [s.start_wall.date() for s in sessions][2] > datetime(2030, 3, 10).date()
    assert timezones.offset_changes(starts, "America/New_York")
    assert session_zone_lines(sessions[0])[0] == "2:00 PM–3:00 PM (Eastern)"
    assert session_zone_lines(sessions[3])[3] == "11:00 AM–12:00 PM (Pacific)"


@pytest.mark.parametrize(
    "now",
    [
        datetime(2030, 3, 8, 12, tzinfo=UTC),  # Friday before the change: too close to straddle it
        datetime(2030, 3, 4, 12, tzinfo=UTC),  # Monday: one session fits before it
        datetime(2030, 7, 1, 12, tzinfo=UTC),
        datetime(2030, 11, 1, 23, tzinfo=UTC),
        datetime(2030, 12, 31, 23, tzinfo=UTC),
    ],
)
def test_series_dates_always_straddle_a_dst_change_in_the_future(now):
    with clock.frozen(now):
        days = demo.series_days()
        first, _ = demo.eforum_days()
    walls = [datetime.combine(day, demo.SERIES_START) for day in days]
    instants = [timezones.localize(w, "America/New_York").instant for w in walls]

    assert instants[0] > now
    assert [d.weekday() for d in days] == [1, 1, 1, 1]
    assert len(timezones.offset_changes(instants, "America/New_York")) == 1
    assert first.weekday() == 1 and first > now.date()


def test_a_second_run_adds_nothing_and_says_what_exists(app):
    with clock.frozen(NOW):
        run(app, "demo")
        before = counts()
        again = run(app, "demo")

    assert again.exit_code == 0
    assert counts() == before
    assert before == {"Event": 2, "Session": 6, "Panelist": 6, "EventPanelist": 6, "Officer": 1}
    assert "exists   event mentoring-in-technical-services" in again.output
    assert "exists   officer demo@forum.localhost" in again.output
    assert "password:" not in again.output
    assert "created" not in again.output


def test_if_empty_does_nothing_when_any_event_exists(app):
    db.session.add(Event(slug="mine", title="Mine"))
    db.session.commit()

    result = run(app, "demo", "--if-empty")

    assert result.exit_code == 0
    assert "not loaded" in result.output
    assert counts()["Event"] == 1
    assert Officer.by_email(demo.DEMO_OFFICER_EMAIL) is None


def test_create_token_prints_a_working_token_once(app, client):
    db.session.add(Officer(email="megan@example.org", name="Megan"))
    db.session.commit()

    result = run(app, "create-token", "megan@example.org", "--name", "website")

    assert result.exit_code == 0, result.output
    raw = result.output.strip().splitlines()[-1]
    assert raw.startswith("fo_")
    token = db.session.scalar(select(ApiToken))
    assert token.name == "website" and raw not in token.token_hash
    response = client.post(
        "/api/v1/events",
        json={"slug": "by-token", "title": "By token"},
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert response.status_code == 201


def test_create_token_for_an_unknown_officer_exits_1_with_a_reason(app):
    result = run(app, "create-token", "nobody@example.org")

    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: No officer with email nobody@example.org; create one with `flask forum create-officer`."
    ]
    assert db.session.scalar(select(func.count(ApiToken.id))) == 0
