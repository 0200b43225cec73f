"""The attendance record: join-link rows, officer marks, e-forum post days, CE hours and the
completion rule, and the officer's page (chart with its table, upload, marks, CSV export)."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from forum.ce import attendance
from forum.core.extensions import db
from forum.models import Attendance, Post
from tests.conftest import csrf_from, submit
from tests.support.ce import attended, clicked, register, series
from tests.support.live import make_event, make_officer, sign_in


def test_join_link_clicks_say_joined_and_earn_nothing_until_time_is_confirmed(app: Flask) -> None:
    ev = series()
    ana = register(ev, "ana@example.org", "Ana")
    first, second, _ = ev.active_sessions
    clicked(ana, first)
    clicked(ana, second)
    rec = attendance.record_for(ana)
    assert rec.attended == [] and [s.id for s in rec.joined] == [first.id, second.id]
    assert rec.marks[first.id].sources == {"link"} and rec.marks[first.id].state == "joined"
    assert rec.minutes == 0
    attended(ana, first)  # the platform's report confirms 90 minutes
    attendance.mark(ana, second, "pat@forum.test")  # an officer confirms the whole session
    rec = attendance.record_for(ana)
    assert [s.id for s in rec.attended] == [first.id, second.id]
    assert rec.minutes == 180  # two 90-minute sessions
    assert not rec.completed  # default rule: every session


def test_hours_default_to_the_length_rounded_to_the_quarter_hour_and_can_be_overridden(app: Flask) -> None:
    ev = make_event(
        "odd-lengths",
        [
            (datetime(2030, 4, 1, 10, 0), datetime(2030, 4, 1, 11, 50)),
            (datetime(2030, 4, 2, 10, 0), datetime(2030, 4, 2, 10, 7)),
        ],
        kind="series",
    )
    long, short = ev.active_sessions
    assert attendance.session_minutes(long) == 105  # 110 min -> 1.75 h (nearest quarter)
    assert attendance.session_minutes(short) == 15  # never less than a quarter
    attendance.set_session_hours(long, "1,5")
    assert attendance.session_minutes(long) == 90
    with pytest.raises(attendance.AttendanceError, match="quarter hours"):
        attendance.set_session_hours(long, "1.1")
    with pytest.raises(attendance.AttendanceError, match="not a number"):
        attendance.set_session_hours(long, "lots")
    attendance.set_session_hours(long, "")
    assert long.ce_minutes is None and attendance.session_minutes(long) == 105


def test_completion_rules_by_sessions_and_by_hours(app: Flask) -> None:
    ev = series()
    ana, bo = register(ev, "ana@example.org"), register(ev, "bo@example.org")
    s1, s2, s3 = ev.active_sessions
    for s in (s1, s2, s3):
        attended(ana, s)
    attended(bo, s1)
    attended(bo, s2)

    def completed() -> dict[str, bool]:
        return {r.subscription.participant.email: r.completed for r in attendance.records(ev)}

    assert completed() == {"ana@example.org": True, "bo@example.org": False}  # default: all 3
    attendance.set_rule(ev, "sessions", "2")
    assert completed() == {"ana@example.org": True, "bo@example.org": True}
    attendance.set_rule(ev, "hours", "3.5")  # bo has 3 h
    assert completed() == {"ana@example.org": True, "bo@example.org": False}
    attendance.set_session_hours(s1, "2")  # a longer first session makes bo's 3.5 h
    assert completed()["bo@example.org"] is True
    with pytest.raises(attendance.AttendanceError, match="between 1 and 3"):
        attendance.set_rule(ev, "sessions", "4")


def test_eforum_day_with_an_accepted_post_counts(app: Flask) -> None:
    days = [(datetime(2030, 9, d, 9), datetime(2030, 9, d, 17)) for d in (10, 11, 12)]
    ev = make_event("eforum-ce", days, kind="eforum", zone="America/New_York")
    ana = register(ev, "ana@example.org", "Ana")
    s1, s2, s3 = ev.active_sessions

    def post(at: datetime, status: str) -> None:
        db.session.add(
            Post(
                event_id=ev.id,
                message_id=f"<{at.timestamp()}{status}@x>",
                author_email="ana@example.org",
                participant_id=ana.participant_id,
                status=status,
                created_at=at,
            )
        )
        db.session.commit()

    post(s2.starts_at + timedelta(hours=2), "accepted")
    post(s3.starts_at + timedelta(hours=1), "rejected")
    post(s3.starts_at - timedelta(days=30), "accepted")  # before the forum: no day
    rec = attendance.record_for(ana)
    assert [s.id for s in rec.attended] == [s2.id]
    assert rec.marks[s2.id].sources == {"post"}
    attendance.mark(ana, s1, "officer@forum.test")  # the officer's mark counts too
    assert [s.id for s in attendance.record_for(ana).attended] == [s1.id, s2.id]


def test_marks_by_hand_and_undoing_them_keeps_other_evidence(app: Flask) -> None:
    ev = series()
    ana = register(ev, "ana@example.org")
    s1, s2, _ = ev.active_sessions
    clicked(ana, s1)
    assert attendance.mark(ana, s1, "pat@forum.test") is True
    assert attendance.mark(ana, s1, "pat@forum.test") is False
    assert attendance.mark(ana, s2, "pat@forum.test") is True
    db.session.commit()
    row = db.session.scalars(select(Attendance).where(Attendance.session_id == s1.id)).one()
    assert (row.sources, row.marked_by) == ("link,manual", "pat@forum.test")
    assert attendance.unmark(ana, s1) and attendance.unmark(ana, s2)
    db.session.commit()
    rows = db.session.scalars(select(Attendance)).all()
    assert [(r.session_id, r.sources, r.marked_by) for r in rows] == [(s1.id, "link", "")]  # s2's row is gone


@pytest.fixture
def officer(client: FlaskClient) -> FlaskClient:
    make_officer()
    sign_in(client)
    return client


def test_officer_page_chart_table_upload_marks_and_csv(app: Flask, officer: FlaskClient) -> None:
    ev = series()
    ana = register(ev, "ana@example.org", "Ana Ruiz")
    bo = register(ev, "bo@example.org", "Bo Chen")
    s1, s2, s3 = ev.active_sessions
    clicked(ana, s1)
    page = officer.get(f"/manage/events/{ev.slug}/attendance/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<svg" in html and "Registered and attended per session" in html
    assert "3/5/2030</th><td>2</td><td>0</td>" in html  # the table alternative: registered, attended
    assert "Joined, time not confirmed" in html  # ana's click: joined, not (yet) attended
    # the report's session picker names dates as every other page does (it said 2030-03-05)
    assert f'<option value="{s1.id}">{s1.display_title}, Tuesday, 3/5/2030</option>' in html

    upload = submit(
        officer, f"/manage/events/{ev.slug}/attendance/import", html, session=str(s2.id),
        file=(io.BytesIO(b"email,minutes\nBo@Example.org,80\nghost@example.net,12\n"), "zoom.csv"),
    )
    text = upload.get_data(as_text=True)
    assert upload.status_code == 200, text[:2000]
    assert "1 registrant matched" in text and "<td>3</td><td>ghost@example.net</td>" in text

    empty = submit(
        officer, f"/manage/events/{ev.slug}/attendance/import", html, session=str(s2.id),
        file=(io.BytesIO(b"nothing here\n"), "x.csv"),
    )
    assert empty.status_code == 400 and "No attendance rows found" in empty.get_data(as_text=True)

    marked = officer.post(
        f"/manage/events/{ev.slug}/attendance/mark",
        data={"csrf_token": csrf_from(html), "session_id": s3.id, "subscription_id": bo.id, "action": "mark"},
    )
    assert marked.status_code == 303
    hours = officer.post(
        f"/manage/events/{ev.slug}/attendance/sessions/{s3.id}/hours",
        data={"csrf_token": csrf_from(html), "hours": "2"},
    )
    assert hours.status_code == 303
    rule = submit(
        officer, f"/manage/events/{ev.slug}/attendance/rule", html, rule="hours", rule_value="3.5",
        mail_certificates="y", certificate_delay_hours="12",
    )
    assert rule.status_code == 303
    bad_rule = officer.post(
        f"/manage/events/{ev.slug}/attendance/rule",
        data={"csrf_token": csrf_from(html), "rule": "sessions", "rule_value": "9"},
    )
    assert bad_rule.status_code == 400 and "Choose between 1 and 3 sessions" in bad_rule.get_data(
        as_text=True
    )

    export = officer.get(f"/manage/events/{ev.slug}/attendance/export.csv")
    rows = list(csv.reader(io.StringIO(export.get_data(as_text=True))))
    assert rows[0][:3] == ["email", "name", "status"] and rows[0][-4:] == [
        "sessions_attended",
        "ce_hours",
        "completed",
        "certificate_code",
    ]
    by_email = {r[0]: r for r in rows[1:]}
    assert by_email["ana@example.org"][3:6] == ["joined, time not confirmed (link)", "", ""]
    # 80 of 90 minutes is over the 75 % minimum (68 min): the full 1.5 h
    assert by_email["bo@example.org"][3:6] == ["", "80 min, 1.5 h (import)", "yes, 2 h (manual)"]
    assert by_email["bo@example.org"][-4:-1] == ["2", "3.5", "yes"]  # 1.5 h + 2 h meets "at least 3.5 hours"
    assert by_email["ana@example.org"][-4:-1] == ["0", "0", "no"]


def test_attendance_pages_need_a_signed_in_officer(app: Flask, client: FlaskClient) -> None:
    ev = series()
    for path in ("/", "/export.csv"):
        response = client.get(f"/manage/events/{ev.slug}/attendance{path}")
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_registered_counts_leave_out_people_who_registered_after_a_session(app: Flask) -> None:
    ev = series()
    register(ev, "early@example.org")
    late = register(ev, "late@example.org")
    late.confirmed_at = ev.active_sessions[1].ends_at + timedelta(hours=1)
    db.session.commit()
    gone = register(ev, "gone@example.org", status="unsubscribed")
    gone.unsubscribed_at = ev.active_sessions[0].ends_at + timedelta(days=1)
    db.session.commit()
    counts = attendance.session_counts(ev)
    assert [c.registered for c in counts] == [2, 1, 2]  # late joins for the third; gone left after the first


def test_api_reads_attendance_and_hours_with_an_officer_token_only(app: Flask, client: FlaskClient) -> None:
    from tests.support.api import officer_token

    ev = series()
    ana = register(ev, "ana@example.org", "Ana Ruiz")
    s1, s2 = ev.active_sessions[:2]
    attended(ana, s1, 60)  # under 75 % of 90 minutes: no credit
    clicked(ana, s2)
    attendance.set_session_hours(ev.active_sessions[2], "2")
    db.session.commit()
    anonymous = client.get(f"/api/v1/events/{ev.slug}/attendance")
    assert anonymous.status_code == 401 and b"ana@example.org" not in anonymous.data
    response = client.get(f"/api/v1/events/{ev.slug}/attendance", headers=officer_token())
    body = response.get_json()
    assert response.status_code == 200
    assert body["rule"] == "all 3 sessions" and body["minimum"] == "75 % of each session"
    assert [
        (s["ce_hours"], s["hours_overridden"], s["minimum_minutes"], s["attended"]) for s in body["sessions"]
    ] == [(1.5, False, 68, 0), (1.5, False, 68, 0), (2.0, True, 68, 0)]
    assert body["people"] == [
        {
            "subscription_id": ana.id,
            "email": "ana@example.org",
            "name": "Ana Ruiz",
            "status": "active",
            "sessions": {str(s1.id): ["import"], str(s2.id): ["link"]},
            "credit": {
                str(s1.id): {"state": "short", "minutes": 60, "ce_hours": 0.0},
                str(s2.id): {"state": "joined", "minutes": None, "ce_hours": 0.0},
            },
            "ce_hours": 0.0,
            "completed": False,
        }
    ]
    assert (
        client.get("/api/v1/events/nope/attendance", headers=officer_token("b@forum.test")).status_code == 404
    )
    spec = client.get("/api/openapi.json").get_json()
    assert "/api/v1/events/{slug}/attendance" in spec["paths"]
