"""Hostile uploads and bodies from the attack run: a 200,000-character field, 70,000 and
200,000 addresses in an attendance report, a body over MAX_CONTENT_LENGTH to the officer's
upload and to the anonymous JSON subscription. Each is an answer with a message (a line error,
a form error, a 413 with a body), never a 500 or a worker reading hundreds of megabytes."""

from __future__ import annotations

import io

import pytest
from flask import Flask
from flask.testing import FlaskClient

from forum.ce import attendance_import
from forum.core import config
from forum.core.extensions import db
from tests.conftest import csrf_from
from tests.support.ce import register, series
from tests.support.live import make_officer, sign_in


@pytest.fixture
def officer(client: FlaskClient) -> FlaskClient:
    make_officer()
    sign_in(client)
    return client


def _upload(client: FlaskClient, slug: str, session_id: int, data: bytes):  # type: ignore[no-untyped-def]
    page = client.get(f"/manage/events/{slug}/attendance/").get_data(as_text=True)
    return client.post(
        f"/manage/events/{slug}/attendance/import",
        data={"csrf_token": csrf_from(page), "session": str(session_id), "file": (io.BytesIO(data), "r.csv")},
        content_type="multipart/form-data",
    )


def test_a_field_over_the_csv_limit_is_a_line_error(app: Flask, officer: FlaskClient) -> None:
    ev = series()
    register(ev, "ana@example.org", "Ana")
    huge = "x" * 200_000
    data = f'email,minutes\nana@example.org,60\n"{huge}@example.org",5\nbo@example.org,7\n'.encode()
    answer = _upload(officer, ev.slug, ev.active_sessions[0].id, data)
    assert answer.status_code == 200
    text = answer.get_data(as_text=True)
    assert "1 registrant matched" in text and "this line cannot be read" in text
    assert huge not in text  # the line is named, not echoed whole


def test_70000_addresses_are_read_in_chunks_and_200000_lines_are_refused(app: Flask) -> None:
    ev = series()
    register(ev, "ana@example.org", "Ana")
    session = ev.active_sessions[0]
    lines = ["email,minutes", "ana@example.org,60"] + [f"p{i}@example.net,5" for i in range(70_000)]
    report = attendance_import.import_report(session, "\n".join(lines).encode())
    db.session.commit()
    assert (report.matched, report.added, len(report.unmatched)) == (1, 1, 70_000)

    many = "\n".join(["email,minutes"] + [f"q{i}@example.net,5" for i in range(200_000)]).encode()
    with pytest.raises(attendance_import.ReportError, match="more than 100,000 lines"):
        attendance_import.import_report(session, many)


def test_a_body_over_max_content_length_is_a_413_with_a_body(app: Flask, officer: FlaskClient) -> None:
    ev = series()
    app.config["MAX_CONTENT_LENGTH"] = 100_000  # the default is 10 MB; the mechanism is the same
    upload = _upload(officer, ev.slug, ev.active_sessions[0].id, b"email,minutes\n" + b"a" * 200_000)
    assert upload.status_code == 413
    assert "too large" in upload.get_data(as_text=True).lower()
    api = officer.post(
        f"/api/v1/events/{ev.slug}/subscriptions",
        data=b'{"email": "' + b"a" * 200_000 + b'@example.org"}',
        content_type="application/json",
    )
    assert api.status_code == 413 and api.is_json and api.get_json()["code"] == 413


def test_production_config_sets_a_body_limit() -> None:
    settings = config.load("/tmp", {"FORUM_ENV": "development"})
    assert settings["MAX_CONTENT_LENGTH"] == 10_000_000
