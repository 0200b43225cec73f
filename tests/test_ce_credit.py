"""CE credit follows attendance: the minimum per session (a share or minutes, per event and
per session), the credit rule (full hours, or minutes rounded down to quarter hours), link
clicks as "joined" only, and one number on the certificate, verification page, table, CSV and API."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader

from forum.ce import attendance, certificates
from forum.core import clock
from forum.core.extensions import db
from forum.models import Event
from tests.conftest import csrf_from, submit
from tests.support.api import officer_token
from tests.support.ce import after_end, attended, clicked, register, series
from tests.support.live import make_event, make_officer, sign_in


def hours_by_email(ev: Event) -> dict[str, int]:
    """CE minutes earned per registrant."""
    return {r.subscription.participant.email: r.minutes for r in attendance.records(ev)}


@pytest.fixture
def ev(app: Flask) -> Event:
    return series()  # three 90-minute sessions


def test_default_minimum_is_three_quarters_of_each_session(ev: Event) -> None:
    s1 = ev.active_sessions[0]
    ana, bo, carl = (register(ev, f"{n}@example.org") for n in ("ana", "bo", "carl"))
    attended(ana, s1, 68)  # 75 % of 90 is 67.5: 68 minutes is enough
    attended(bo, s1, 67)
    attended(carl, s1, 10)  # the newcomer's "carl,10": no hours at all
    assert hours_by_email(ev) == {"ana@example.org": 90, "bo@example.org": 0, "carl@example.org": 0}
    rec = attendance.record_for(carl)
    assert rec.attended == [] and rec.marks[s1.id].state == "short" and rec.marks[s1.id].needed == 68


def test_minimum_by_minutes_and_by_share_per_event(ev: Event) -> None:
    s1 = ev.active_sessions[0]
    ana, bo = register(ev, "ana@example.org"), register(ev, "bo@example.org")
    attended(ana, s1, 45)
    attended(bo, s1, 30)
    attendance.set_credit(ev, "45 min", "full")
    assert hours_by_email(ev) == {"ana@example.org": 90, "bo@example.org": 0}
    attendance.set_credit(ev, "30%", "full")  # 27 minutes of 90
    assert hours_by_email(ev) == {"ana@example.org": 90, "bo@example.org": 90}
    attendance.set_credit(ev, "", "full")  # empty: back to 75 %
    assert hours_by_email(ev) == {"ana@example.org": 0, "bo@example.org": 0}
    for bad, message in (("lots", "share such as 75"), ("120%", "between 1 % and 100 %"), ("0", "Minutes")):
        with pytest.raises(attendance.AttendanceError, match=message):
            attendance.set_credit(ev, bad, "full")
    with pytest.raises(attendance.AttendanceError, match="Unknown credit rule"):
        attendance.set_credit(ev, "", "generous")


def test_a_session_overrides_the_events_minimum(ev: Event) -> None:
    s1, s2, _ = ev.active_sessions
    ana = register(ev, "ana@example.org")
    attended(ana, s1, 40)
    attended(ana, s2, 40)
    assert hours_by_email(ev) == {"ana@example.org": 0}
    attendance.set_session_minimum(s2, "40")  # a panel with a long Q&A: 40 minutes count
    assert hours_by_email(ev) == {"ana@example.org": 90}
    attendance.set_credit(ev, "100%", "full")  # the event's rule does not undo the session's own
    assert hours_by_email(ev) == {"ana@example.org": 90}
    attendance.set_session_minimum(s2, "")
    assert hours_by_email(ev) == {"ana@example.org": 0}


def test_partial_credit_rounds_minutes_down_to_the_quarter_hour(ev: Event) -> None:
    s1, s2, s3 = ev.active_sessions
    ana = register(ev, "ana@example.org")
    attended(ana, s1, 74)  # 1 h (not 1.25: 74 < 75)
    attended(ana, s2, 200)  # capped at the session's 1.5 h
    attendance.mark(ana, s3, "pat@forum.test")  # an officer's mark: the whole session
    attendance.set_credit(ev, "50%", "quarter")
    rec = attendance.record_for(ana)
    assert [rec.credit_of(s) for s in (s1, s2, s3)] == [60, 90, 90]
    assert rec.minutes == 240
    attendance.set_rule(ev, "hours", "4")
    assert attendance.record_for(ana).completed is True
    attended(ana, s1, 40)  # under the 45-minute minimum (50 % of 90): that session earns nothing
    assert attendance.record_for(ana).minutes == 180
    assert attendance.record_for(ana).completed is False


def test_link_clicks_alone_earn_no_certificate(ev: Event) -> None:
    zoe = register(ev, "zoe@example.org", "Zoe")
    for s in ev.active_sessions:
        clicked(zoe, s)
    with pytest.raises(certificates.CertificateError, match="No attendance"):
        certificates.issue(zoe, after_end(ev, hours=1))


def test_the_same_number_on_certificate_verify_page_table_csv_and_api(
    ev: Event, client: FlaskClient
) -> None:
    s1, s2, s3 = ev.active_sessions
    carl = register(ev, "carl@lib.example", "Carl Berg")
    attended(carl, s1, 80)  # 1.25 h
    attended(carl, s2, 10)  # under the minimum: nothing
    clicked(carl, s3)  # joined only: nothing
    attendance.set_credit(ev, "", "quarter")
    db.session.commit()
    expected = "1.25"

    cert = certificates.issue(carl, after_end(ev, hours=1))
    db.session.commit()
    assert cert.kind == "attendance" and attendance.hours_text(cert.minutes) == expected
    assert [line["minutes"] for line in cert.sessions] == [75]
    pdf = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(certificates.render_pdf(cert))).pages)
    assert f"Continuing-education hours: {expected}" in pdf

    verify = client.get(f"/certificates/{cert.code}").get_data(as_text=True)
    assert f"<dd>{expected}</dd>" in verify

    api = client.get(f"/api/v1/events/{ev.slug}/attendance", headers=officer_token("api@forum.test")).get_json()
    assert api["people"][0]["ce_hours"] == 1.25
    assert api["people"][0]["credit"][str(s2.id)] == {"state": "short", "minutes": 10, "ce_hours": 0.0}
    assert api["credit_rule"] == "quarter"

    make_officer()
    sign_in(client)
    page = client.get(f"/manage/events/{ev.slug}/attendance/").get_data(as_text=True)
    row = page[page.index(f'id="sub-{carl.id}"') :]
    row = row[: row.index("</tr>")]
    assert f"<td>{expected}</td>" in row
    assert "80 min, 1.25 h" in row and "10 min, under the 68 min minimum" in row
    assert "Joined, time not confirmed" in row
    rows = list(csv.reader(io.StringIO(client.get(f"/manage/events/{ev.slug}/attendance/export.csv").text)))
    assert rows[1][-3] == expected


def test_officer_sets_the_minimum_and_credit_rule_and_a_sessions_own_minimum(
    ev: Event, client: FlaskClient
) -> None:
    make_officer()
    sign_in(client)
    s1 = ev.active_sessions[0]
    ana = register(ev, "ana@example.org")
    attended(ana, s1, 50)
    html = client.get(f"/manage/events/{ev.slug}/attendance/").get_data(as_text=True)
    assert "A session counts after 75 % of each session" in html
    saved = client.post(
        f"/manage/events/{ev.slug}/attendance/rule",
        data={"csrf_token": csrf_from(html), "rule": "all", "min_attendance": "45", "credit": "quarter"},
        follow_redirects=True,
    )
    assert "a session counts after 45 min of each session" in saved.get_data(as_text=True)
    assert hours_by_email(ev) == {"ana@example.org": 45}
    bad = client.post(
        f"/manage/events/{ev.slug}/attendance/rule",
        data={"csrf_token": csrf_from(html), "rule": "all", "min_attendance": "most", "credit": "full"},
    )
    assert bad.status_code == 400 and "share such as 75" in bad.get_data(as_text=True)
    own = client.post(
        f"/manage/events/{ev.slug}/attendance/sessions/{s1.id}/hours",
        data={"csrf_token": csrf_from(html), "hours": "", "minimum": "60 min"},
        follow_redirects=True,
    )
    assert "after 60 min of it" in own.get_data(as_text=True)
    assert hours_by_email(ev) == {"ana@example.org": 0}


def test_import_names_the_layout_warns_for_a_session_not_yet_held_and_tells_same_day_sessions_apart(
    app: Flask, client: FlaskClient
) -> None:
    ev = make_event(
        "double-day",
        [
            (datetime(2030, 4, 1, 10, 0), datetime(2030, 4, 1, 11, 0)),
            (datetime(2030, 4, 1, 14, 0), datetime(2030, 4, 1, 15, 0)),
        ],
        kind="series",
    )
    register(ev, "ana@example.org")
    make_officer()
    sign_in(client)
    html = client.get(f"/manage/events/{ev.slug}/attendance/").get_data(as_text=True)
    morning, afternoon = ev.active_sessions
    assert "Monday, 4/1/2030 10:00 AM</option>" in html and "Monday, 4/1/2030 2:00 PM</option>" in html
    with clock.frozen(datetime(2030, 2, 20, tzinfo=UTC)):  # six weeks before the session
        upload = submit(
            client, f"/manage/events/{ev.slug}/attendance/import", html, session=str(afternoon.id),
            file=(io.BytesIO(b"email,minutes\nana@example.org,50\n"), "report.csv"),
        ).get_data(as_text=True)
    assert "A plain email,minutes file: 1 registrant matched" in upload and "plain layout" not in upload
    assert "Check the session:" in upload and "has not happened yet" in upload


def test_an_officer_downloads_any_registrants_certificate_with_the_same_hours(
    ev: Event, client: FlaskClient
) -> None:
    carl = register(ev, "carl@lib.example", "Carl Berg")
    attended(carl, ev.active_sessions[0], 80)
    nobody = register(ev, "nobody@lib.example", "No Body")
    make_officer()
    sign_in(client)
    with clock.frozen(after_end(ev, hours=1)):
        page = client.get(f"/manage/events/{ev.slug}/attendance/").get_data(as_text=True)
        pdf = client.get(f"/manage/events/{ev.slug}/attendance/certificates/{carl.id}.pdf")
        refused = client.get(f"/manage/events/{ev.slug}/attendance/certificates/{nobody.id}.pdf")
    assert f"/attendance/certificates/{carl.id}.pdf" in page
    assert f"/attendance/certificates/{nobody.id}.pdf" not in page  # nothing attended: no link
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "Continuing-education hours: 1.5" in text and "Carl Berg" in text
    assert refused.status_code == 409 and "No attendance" in refused.get_data(as_text=True)
