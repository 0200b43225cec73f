"""Recordings and materials: the mail once per session, the public page, the late registrant."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Flask
from flask.testing import FlaskClient

from forum.core import clock
from forum.core.extensions import db
from forum.models import Participant
from forum.scheduling.scheduler import run_job
from forum.subscriptions import service
from forum.webinars import recordings
from tests.conftest import submit
from tests.support.calendars import make_event, subscribe
from tests.support.subscriptions import login_officer, outbox, text_of

NOW = datetime(2025, 1, 10, 15, 0).astimezone()
WALLS = [
    (datetime(2025, 2, 4, 13), datetime(2025, 2, 4, 14)),
    (datetime(2025, 2, 11, 13), datetime(2025, 2, 11, 14)),
]


def test_recording_mail_goes_once_per_session_across_reruns(app: Flask, client: FlaskClient) -> None:
    with clock.frozen(NOW):
        event = make_event("tech-services", WALLS)
        subscribe(event, "ana@example.org")
        subscribe(event, "bob@example.org")
        subscribe(event, "gone@example.org", status="unsubscribed")
    first = event.sessions[0]
    after = first.ends_at + timedelta(hours=2)
    login_officer(client)
    with clock.frozen(after):
        page = client.get("/manage/events/tech-services/recordings").get_data(as_text=True)
        added = submit(
            client, "/manage/events/tech-services/recordings", page, session_id=str(first.id),
            kind="recording", title="Video", url="https://video.example.org/s1", public="registrants",
        )
        assert added.status_code == 303
        bad = submit(
            client, "/manage/events/tech-services/recordings", page, session_id=str(first.id), kind="slides",
            url="ftp://x", public="public",
        )
        assert bad.status_code == 400 and "https://" in bad.get_data(as_text=True)
        recordings.add_material(first, url="https://slides.example.org/s1", kind="slides", public=True)
        db.session.commit()
        assert run_job("recordings", at=after).messages == 2
    with clock.frozen(after + timedelta(minutes=5)):
        assert run_job("recordings", at=after + timedelta(minutes=5)).messages == 0  # a rerun
        recordings.add_material(first, url="https://video.example.org/s1-captions", kind="other")
        db.session.commit()
        assert run_job("recordings", at=after + timedelta(minutes=5)).messages == 0  # still one per session
        public = client.get("/events/tech-services").get_data(as_text=True)
    rows = outbox("recording")
    assert sorted(r.recipient for r in rows) == ["ana@example.org", "bob@example.org"]
    body = text_of(rows[0])
    assert "Video: https://video.example.org/s1" in body and "Slides: https://slides.example.org/s1" in body
    assert "slides.example.org/s1" in public and "video.example.org" not in public  # public ones only


def test_a_late_registrant_gets_the_past_recordings_in_the_welcome(app: Flask) -> None:
    with clock.frozen(NOW):
        event = make_event("tech-services", WALLS)
    between = event.sessions[0].ends_at + timedelta(days=1)
    with clock.frozen(between):
        recordings.add_material(event.sessions[0], url="https://video.example.org/s1", title="Case studies")
        db.session.add(
            Participant(email="late@example.org", email_key="late@example.org", confirmed_at=clock.now())
        )
        db.session.commit()
        service.subscribe(event, "late@example.org", conduct_accepted=True)
        db.session.commit()
    (welcome,) = outbox("welcome", "late@example.org")
    body = text_of(welcome)
    assert "It isn't too late" in body and "Case studies: https://video.example.org/s1" in body
