"""The audit log's remaining officer actions, each exactly one row with its before/after in the
change's own transaction: registration approvals and declines, attendance marked and imported,
session hours, certificates reissued and revoked, site settings. A rolled-back change leaves
none. Areas below `team` (CE's import, the branding settings) send `officer_action`; the rest
are the watched rows' flushes."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from forum.ce import certificates
from forum.ce.attendance_import import import_report
from forum.common import branding
from forum.core import clock
from forum.core.extensions import db
from forum.models import AuditEntry, Certificate
from forum.team import audit
from tests.conftest import csrf_from
from tests.support.ce import after_end, attended, register, series
from tests.support.factories import sign_up
from tests.support.team import officer_with, sign_in


def _new_rows(before: int) -> list[AuditEntry]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)))[before:]


def _count() -> int:
    return len(_new_rows(0))


def _post(client: FlaskClient, page: str, action: str, data: dict[str, object]) -> int:
    token = csrf_from(client.get(page).get_data(as_text=True))
    return client.post(action, data={**data, "csrf_token": token}).status_code


def test_approving_and_declining_are_one_row_each(app: Flask, client: FlaskClient) -> None:
    event = series("members-only")
    event.needs_approval = True
    db.session.commit()
    a, b = sign_up(event, "a@x.org"), sign_up(event, "b@x.org")
    assert (a.status, b.status) == ("awaiting", "awaiting")
    sign_in(client, officer_with(event, "organiser", "org@forum.test"))
    url = "/manage/events/members-only/approvals"
    before = _count()
    assert _post(client, url, url, {"sub": str(a.id), "approve": "1"}) == 303
    assert _post(client, url, url, {"sub": str(b.id), "decline": "1"}) == 303
    rows = _new_rows(before)
    registration_rows = [r for r in rows if r.object_type == "registration"]
    assert [(r.action, r.object_id, r.changes["status"]) for r in registration_rows] == [
        ("registration.approved", a.id, ["awaiting", "active"]),
        ("registration.declined", b.id, ["awaiting", "declined"]),
    ]
    assert all(r.actor == "org@forum.test" and r.event_id == event.id for r in registration_rows)


def test_a_mark_the_hours_and_an_import_are_one_row_each(app: Flask, client: FlaskClient) -> None:
    event = series()
    subs = [register(event, f"p{n}@example.org", f"P {n}") for n in range(15)]
    session = event.sessions[0]
    sign_in(client, officer_with(event, "ce_reviewer", "ce@forum.test"))
    page = "/manage/events/cataloging-series/attendance/"
    before = _count()
    assert (
        _post(client, page, page + "mark", {"session_id": session.id, "subscription_id": subs[0].id}) == 303
    )
    [mark] = _new_rows(before)
    assert (mark.action, mark.object_type, mark.changes["marked_by"]) == (
        "attendance.recorded",
        "attendance",
        [None, "ce@forum.test"],
    )
    before = _count()
    hours = page + f"sessions/{session.id}/hours"
    assert _post(client, page, hours, {"hours": "2"}) == 303
    [changed] = _new_rows(before)
    assert (changed.action, changed.object_id, changed.changes) == (
        "session.hours_changed",
        session.id,
        {"ce_minutes": [None, 120]},
    )
    # Fourteen people in one report: one row with the counts, not fourteen.
    report = "\n".join(f"p{n}@example.org,60" for n in range(1, 15)).encode()
    before = _count()
    token = csrf_from(client.get(page).get_data(as_text=True))
    answer = client.post(
        page + "import",
        data={"csrf_token": token, "session": str(session.id), "file": (io.BytesIO(report), "report.csv")},
        content_type="multipart/form-data",
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)[-2000:]
    [imported] = _new_rows(before)
    assert imported.action == "attendance.imported"
    assert (imported.changes["added"], imported.changes["unmatched"]) == (14, 0)


def test_a_rolled_back_import_leaves_no_row(app: Flask) -> None:
    event = series()
    register(event, "ana@example.org", "Ana")
    officer = officer_with(event, "ce_reviewer", "ce@forum.test")
    before = _count()
    with app.test_request_context("/manage/events/cataloging-series/attendance/import", method="POST"):
        audit.acting(officer, via="web")
        import_report(event.sessions[0], b"ana@example.org,60\n")
        db.session.flush()
        db.session.rollback()
    assert _count() == before


def test_certificates_reissued_and_revoked_by_an_officer(app: Flask, client: FlaskClient) -> None:
    event = series()
    sub = register(event, "ana@example.org", "Ana Ruiz")
    for session in event.sessions:
        attended(sub, session)
    sign_in(client, officer_with(event, "ce_reviewer", "ce@forum.test"))
    pdf = f"/manage/events/cataloging-series/attendance/certificates/{sub.id}.pdf"
    with clock.frozen(after_end(event, hours=1)):
        before = _count()
        assert client.get(pdf).status_code == 200
        sub.participant.name = "Ana Ruiz-Pérez"  # a corrected name: the next download reissues
        db.session.commit()
        assert client.get(pdf).status_code == 200
        page = "/manage/events/cataloging-series/attendance/"
        revoke = f"/manage/events/cataloging-series/attendance/certificates/{sub.id}/revoke"
        assert "Revoke" in client.get(page).get_data(as_text=True)
        assert _post(client, page, revoke, {}) == 303
    rows = [r for r in _new_rows(before) if r.object_type == "certificate"]
    assert [r.action for r in rows] == ["certificate.issued", "certificate.reissued", "certificate.revoked"]
    assert rows[1].changes["name"] == ["Ana Ruiz", "Ana Ruiz-Pérez"]
    assert db.session.scalar(select(Certificate)) is None
    assert certificates.revoke(sub) is None  # nothing left to revoke: no row either
    db.session.commit()
    assert len([r for r in _new_rows(before) if r.object_type == "certificate"]) == 3


def test_a_settings_save_is_one_row_with_before_and_after(app: Flask, client: FlaskClient) -> None:
    admin = officer_with(None, None, "admin@forum.test", admin=True)
    sign_in(client, admin)
    old_name = branding.current().org_name
    page = client.get("/manage/settings").get_data(as_text=True)
    before = _count()
    saved = client.post(
        "/manage/settings",
        data={
            "csrf_token": csrf_from(page),
            "org_name": "Library Association of Nowhere",
            "short_name": "LAN",
        },
    )
    assert saved.status_code in (302, 303), saved.get_data(as_text=True)[-2000:]
    [row] = _new_rows(before)
    assert (row.action, row.actor, row.event_id) == ("settings.changed", "admin@forum.test", None)
    assert row.changes["org_name"] == [old_name, "Library Association of Nowhere"]
    assert "short_name" in row.changes and "brand_colour" not in row.changes
    # The same save again changes nothing: no row.
    page = client.get("/manage/settings").get_data(as_text=True)
    client.post(
        "/manage/settings",
        data={
            "csrf_token": csrf_from(page),
            "org_name": "Library Association of Nowhere",
            "short_name": "LAN",
        },
    )
    assert len(_new_rows(before)) == 1


def test_a_rolled_back_settings_change_leaves_no_row(app: Flask) -> None:
    before = _count()
    with app.test_request_context("/manage/settings", method="POST"):
        branding.save({"org_name": "Never Saved"})
        db.session.rollback()
    assert _count() == before
    assert clock.now() - timedelta(days=1) < clock.now()  # the clock is untouched (sanity)
    assert isinstance(datetime.now(), datetime)
