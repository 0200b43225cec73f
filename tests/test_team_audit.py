"""The audit log: each officer action writes exactly one row, in the change's own transaction,
whichever door made it; officers with the right role read it per event, filtered, and by API."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Flask, g
from flask.testing import FlaskClient
from sqlalchemy import select

from forum.core import clock
from forum.core.extensions import db
from forum.events import service as events
from forum.models import AuditEntry, Event, Session
from forum.scheduling.jobs import run_job
from forum.team import roles
from tests.conftest import csrf_from, submit
from tests.support.api import make_event
from tests.support.team import bearer, officer_with, sign_in

DAYS = [
    (datetime(2030, 9, 10, 10), datetime(2030, 9, 10, 18)),
    (datetime(2030, 9, 11, 10), datetime(2030, 9, 11, 18)),
]
SESSION_FORM = {
    "title": "",
    "date": "2030-09-10",
    "start_time": "11:00",
    "end_time": "18:00",
    "timezone": "America/New_York",
}


def _rows(action: str | None = None) -> list[AuditEntry]:
    db.session.expire_all()
    query = select(AuditEntry).order_by(AuditEntry.id)
    if action:
        query = query.where(AuditEntry.action == action)
    return list(db.session.scalars(query))


def test_a_session_moved_on_the_web_is_one_row_with_before_and_after(app: Flask, client: FlaskClient) -> None:
    event = make_event("pub", DAYS)
    owner = officer_with(event, "owner", "owner@example.org")
    sign_in(client, owner)
    session_id = event.sessions[0].id
    url = f"/manage/events/pub/sessions/{session_id}"
    before = len(_rows())
    page = client.get(url).get_data(as_text=True)
    assert client.post(url, data={**SESSION_FORM, "csrf_token": csrf_from(page)}).status_code == 302
    rows = _rows()[before:]
    assert [r.action for r in rows] == ["session.moved"]
    [row] = rows
    assert row.changes["start_wall"] == ["2030-09-10T10:00:00", "2030-09-10T11:00:00"]
    assert (row.actor, row.via, row.event_id, row.object_id) == (
        "owner@example.org",
        "web",
        event.id,
        session_id,
    )
    assert row.address == "127.0.0.1"


def test_the_same_change_by_api_is_the_same_row_naming_the_token(app: Flask, client: FlaskClient) -> None:
    event = make_event("pub", DAYS)
    headers = bearer(officer_with(event, "organiser", "org@example.org"))
    session_id = event.sessions[0].id
    before = len(_rows())
    answer = client.patch(
        f"/api/v1/events/pub/sessions/{session_id}",
        json={"start_wall": "2030-09-10T11:00", "end_wall": "2030-09-10T18:00"},
        headers=headers,
    )
    assert answer.status_code == 200, answer.get_json()
    [row] = _rows()[before:]
    assert row.action == "session.moved" and row.via == "api"
    assert row.actor == "org@example.org (token “tests”)"
    assert row.changes["start_wall"] == ["2030-09-10T10:00:00", "2030-09-10T11:00:00"]


def test_event_edit_publish_cancel_and_session_cancel_write_one_row_each(
    app: Flask, client: FlaskClient
) -> None:
    event = make_event("draft-one", DAYS, publish=False)
    headers = bearer(officer_with(event, "owner", "owner@example.org"))
    before = len(_rows())
    assert (
        client.patch("/api/v1/events/draft-one", json={"title": "RDA Basics"}, headers=headers).status_code
        == 200
    )
    assert client.post("/api/v1/events/draft-one/publish", headers=headers).status_code == 200
    session_id = event.sessions[1].id
    assert (
        client.post(
            f"/api/v1/events/draft-one/sessions/{session_id}/cancel", json={}, headers=headers
        ).status_code
        == 200
    )
    assert client.post("/api/v1/events/draft-one/cancel", headers=headers).status_code == 200
    rows = _rows()[before:]
    assert [r.action for r in rows] == [
        "event.edited",
        "event.published",
        "session.cancelled",
        "session.cancelled",  # the remaining session, by the event's cancellation
        "event.cancelled",
    ]
    assert rows[0].changes == {"title": ["Draft One", "RDA Basics"]}
    assert rows[1].changes["status"] == ["draft", "published"]
    assert rows[2].object_id == session_id


def test_role_changes_are_logged(app: Flask) -> None:
    event = make_event("pub", DAYS)
    admin = officer_with(None, None, "admin@example.org", admin=True)
    volunteer = roles.invite(event, "vol@example.org", "moderator", by=admin)
    db.session.commit()
    roles.grant(event, volunteer, "viewer", by=admin)
    db.session.commit()
    roles.revoke(event, volunteer, by=admin)
    db.session.commit()
    rows = [r for r in _rows() if r.object_type == "role"]
    assert [(r.action, r.changes.get("role")) for r in rows] == [
        ("role.granted", [None, "moderator"]),
        ("role.changed", ["moderator", "viewer"]),
        ("role.revoked", None),
    ]
    assert all(r.event_id == event.id for r in rows)
    assert rows[0].summary == "vol@example.org: moderator"


def test_a_rolled_back_change_leaves_no_row(app: Flask) -> None:
    event = make_event("pub", DAYS)
    before = len(_rows())
    session = db.session.get(Session, event.sessions[0].id)
    assert session is not None
    events.set_session_times(
        session, datetime(2030, 9, 10, 12), datetime(2030, 9, 10, 18), "America/New_York"
    )
    db.session.flush()  # the row is written with the change...
    db.session.rollback()  # ...and goes with it
    assert len(_rows()) == before
    # committed, even across two flushes of the same move: exactly one row, first "before", last "after"
    session = db.session.get(Session, event.sessions[0].id)
    events.set_session_times(
        session, datetime(2030, 9, 10, 12), datetime(2030, 9, 10, 18), "America/New_York"
    )
    db.session.flush()
    events.set_session_times(
        session, datetime(2030, 9, 10, 13), datetime(2030, 9, 10, 18), "America/New_York"
    )
    db.session.commit()
    assert len(_rows()[before:]) == 1, [(r.action, r.changes) for r in _rows()[before:]]
    [row] = _rows()[before:]
    assert row.action == "session.moved"
    assert row.changes["start_wall"] == ["2030-09-10T10:00:00", "2030-09-10T13:00:00"]


def test_officers_read_the_log_filtered_and_by_api_and_a_moderator_may_not(
    app: Flask, client: FlaskClient
) -> None:
    event = make_event("pub", DAYS)
    owner = officer_with(event, "owner", "owner@example.org")
    moderator = officer_with(event, "moderator", "mod@example.org")
    events.cancel_session(db.session.get(Session, event.sessions[1].id))  # type: ignore[arg-type]
    ev = db.session.get(Event, event.id)
    assert ev is not None
    ev.title = "Renamed Forum"
    db.session.commit()
    sign_in(client, owner)
    page = client.get("/manage/events/pub/audit")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "session.cancelled" in html and "event.edited" in html and "Pub → Renamed Forum" in html
    filtered = client.get("/manage/events/pub/audit?action=session").get_data(as_text=True)
    assert "<code>session.cancelled</code>" in filtered and "<code>event.edited</code>" not in filtered
    answer = client.get("/api/v1/events/pub/audit?action=event", headers=bearer(owner))
    assert answer.status_code == 200
    assert [e["action"] for e in answer.get_json()] == ["event.edited", "event.created"]
    sign_in(client, moderator)
    assert client.get("/manage/events/pub/audit").status_code == 403
    assert client.get("/api/v1/events/pub/audit", headers=bearer(moderator)).status_code == 403


def test_entries_past_the_keeping_time_are_removed_by_the_retention_job(app: Flask) -> None:
    event = make_event("pub", DAYS)
    app.config["AUDIT_KEEP_DAYS"] = 30
    before = len(_rows())
    assert before > 0
    run_job("team-retention", at=clock.now() + timedelta(days=29))
    assert len(_rows()) == before
    report = run_job("team-retention", at=clock.now() + timedelta(days=31))
    assert _rows() == [] and f"removed {before} audit entries" in report.lines[0]
    assert event.id


def test_an_export_and_a_failed_sign_in_are_logged(app: Flask, client: FlaskClient) -> None:
    event = make_event("pub", DAYS)
    owner = officer_with(event, "owner", "owner@example.org")
    sign_in(client, owner)
    assert client.get("/manage/events/pub/subscribers/export.csv").status_code == 200
    [row] = _rows("registrants.exported")
    assert (row.actor, row.event_id, row.via) == ("owner@example.org", event.id, "web")
    g.pop("_login_user", None)  # the test's app context outlives requests: forget the owner
    other = app.test_client()
    page = other.get("/login")
    submit(other, "/login", page.data, email="Owner@Example.org", password="wrong")
    [failed] = _rows("signin.failed")
    assert (failed.summary, failed.officer_id, failed.address) == ("owner@example.org", None, "127.0.0.1")


def test_administrators_read_the_whole_log_and_others_may_not(app: Flask, client: FlaskClient) -> None:
    first = make_event("pub", DAYS)
    make_event("other", DAYS)
    owner = officer_with(first, "owner", "owner@example.org")
    admin = officer_with(None, None, "admin@example.org", admin=True)
    sign_in(client, owner)
    assert client.get("/manage/audit").status_code == 403
    assert 'href="/manage/audit"' not in client.get("/manage/").get_data(as_text=True)
    sign_in(client, admin)
    assert 'href="/manage/audit"' in client.get("/manage/").get_data(as_text=True)
    html = client.get("/manage/audit").get_data(as_text=True)
    assert html.count("<code>event.created</code>") == 2 and "<code>role.granted</code>" in html
    assert "<code>role.granted</code>" not in client.get("/manage/audit?action=event").get_data(as_text=True)
