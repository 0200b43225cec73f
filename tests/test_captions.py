"""Captions and transcripts of recordings, "send when captions are ready", and the
accessibility statement."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from io import BytesIO

import pytest
from flask import Flask
from flask.testing import FlaskClient

from forum.core import clock
from forum.core.extensions import db
from forum.models import Material
from forum.scheduling.scheduler import run_job
from forum.webinars import captions
from tests.conftest import csrf_from
from tests.support.calendars import make_event, subscribe
from tests.support.subscriptions import login_officer, outbox, text_of

NOW = datetime(2025, 1, 10, 15, 0).astimezone()
WALLS = [(datetime(2025, 2, 4, 13), datetime(2025, 2, 4, 14))]
VTT = "WEBVTT\n\n00:00.000 --> 00:04.000\nWelcome to cataloguing basics.\n"


def _series(client: FlaskClient) -> tuple[int, datetime]:
    with clock.frozen(NOW):
        event = make_event("tech-services", WALLS)
        subscribe(event, "ana@example.org")
    login_officer(client)
    return event.sessions[0].id, event.sessions[0].ends_at + timedelta(hours=1)


def _add(client: FlaskClient, session_id: int, **extra: str) -> Material:
    page = client.get("/manage/events/tech-services/recordings").get_data(as_text=True)
    data = {
        "csrf_token": csrf_from(page),
        "session_id": str(session_id),
        "kind": "recording",
        "title": "Video",
        "url": "https://video.example.org/s1",
        "public": "registrants",
        **extra,
    }
    assert client.post("/manage/events/tech-services/recordings", data=data).status_code == 303
    return db.session.scalars(db.select(Material).order_by(Material.id.desc())).first()  # type: ignore[return-value]


def _caption(client: FlaskClient, material: Material, vtt: str | bytes | None = VTT, transcript: str = "") -> int:
    url = f"/manage/events/tech-services/recordings/{material.id}/captions"
    page = client.get(url).get_data(as_text=True)
    data: dict[str, object] = {"csrf_token": csrf_from(page), "transcript": transcript, "captions_url": ""}
    if vtt is not None:
        raw = vtt.encode() if isinstance(vtt, str) else vtt
        data["captions_file"] = (BytesIO(raw), "talk.vtt")
    return client.post(url, data=data, content_type="multipart/form-data").status_code


def test_a_recording_with_captions_and_a_transcript_is_offered_with_both(app: Flask, client: FlaskClient) -> None:
    session_id, after = _series(client)
    with clock.frozen(after):
        material = _add(client, session_id)
        assert _caption(client, material, transcript="Welcome.\n\nFirst, the catalogue.") == 303
        assert run_job("recordings", at=after).messages == 1
    body = text_of(outbox("recording")[0])
    cap = re.search(r"Captions \(WebVTT\): (\S+)", body)
    tr = re.search(r"Transcript: (\S+)", body)
    assert cap and tr and "not available" not in body
    client.get("/logout")
    vtt = client.get(cap.group(1).replace("http://localhost", ""))
    assert vtt.status_code == 200 and vtt.mimetype == "text/vtt" and vtt.get_data(as_text=True) == VTT
    assert vtt.headers["Cache-Control"] == "no-store"  # a signed link: no cache keeps it
    page = client.get(tr.group(1).replace("http://localhost", "")).get_data(as_text=True)
    assert "<p>Welcome.</p>" in page and "<p>First, the catalogue.</p>" in page
    # a registrants-only material's files need the material's key
    bare = cap.group(1).split("?")[0].replace("http://localhost", "")
    assert client.get(bare).status_code == 404
    assert client.get(bare + "?t=forged").status_code == 404
    assert "captions" not in client.get("/events/tech-services").get_data(as_text=True).lower()


def test_public_captions_are_on_the_public_page_without_a_key(app: Flask, client: FlaskClient) -> None:
    session_id, after = _series(client)
    with clock.frozen(after):
        material = _add(client, session_id, public="public")
        assert _caption(client, material, transcript="Hello.") == 303
    client.get("/logout")
    page = client.get("/events/tech-services").get_data(as_text=True)
    links = re.findall(r'href="([^"]*materials/\d+/(?:captions\.vtt|transcript)[^"]*)"', page)
    assert len(links) == 2 and not any("t=" in link for link in links)
    assert client.get(links[0].replace("http://localhost", "")).status_code == 200


def test_send_when_captions_are_ready_holds_the_mail_then_sends_it_once(app: Flask, client: FlaskClient) -> None:
    session_id, after = _series(client)
    with clock.frozen(after):
        material = _add(client, session_id, hold_for_captions="y")
        assert material.waiting_for_captions
        assert run_job("recordings", at=after).messages == 0
        page = client.get("/manage/events/tech-services/recordings").get_data(as_text=True)
        assert "Mail waits for captions" in page
    later = after + timedelta(days=2)
    with clock.frozen(later):
        assert run_job("recordings", at=later).messages == 0  # still waiting, two days on
        assert _caption(client, material) == 303
        assert run_job("recordings", at=later).messages == 1
        assert run_job("recordings", at=later + timedelta(minutes=5)).messages == 0
    (mail,) = outbox("recording")
    assert "Captions (WebVTT):" in text_of(mail)


def test_without_captions_the_mail_says_they_are_not_ready(app: Flask, client: FlaskClient) -> None:
    session_id, after = _series(client)
    with clock.frozen(after):
        _add(client, session_id)
        assert run_job("recordings", at=after).messages == 1
    assert "Captions are not available for this recording yet." in text_of(outbox("recording")[0])


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (b"1\n00:00:00,000 --> 00:00:04,000\nHi\n", "first line must be WEBVTT"),
        (b"WEBVTT\n\nno cues here\n", "no cues"),
        (b"WEBVTT\n\n00:00.000 --> 00:01.000\n\xff\xfe", "not UTF-8"),
        (b"WEBVTT\n" + b"x" * (captions.MAX_VTT_BYTES + 1), "larger than 512 KiB"),
    ],
)
def test_a_bad_captions_file_is_refused_with_the_reason_and_keeps_what_was_there(
    app: Flask, client: FlaskClient, upload: bytes, message: str
) -> None:
    session_id, after = _series(client)
    with clock.frozen(after):
        material = _add(client, session_id)
        assert _caption(client, material) == 303
        url = f"/manage/events/tech-services/recordings/{material.id}/captions"
        page = client.get(url).get_data(as_text=True)
        response = client.post(
            url,
            data={"csrf_token": csrf_from(page), "captions_file": (BytesIO(upload), "bad.vtt"), "transcript": ""},
            content_type="multipart/form-data",
        )
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Material, material.id).captions_vtt == VTT  # type: ignore[union-attr]


def test_a_vtt_with_a_byte_order_mark_and_windows_lines_is_read(app: Flask) -> None:
    assert captions.read_vtt(b"\xef\xbb\xbfWEBVTT\r\n\r\n00:00.000 --> 00:01.000\r\nHi\r\n").startswith("WEBVTT\n")


# --- the accessibility statement ------------------------------------------------------------


def test_the_statement_is_linked_from_every_footer_and_has_a_default(app: Flask, client: FlaskClient) -> None:
    with clock.frozen(NOW):
        make_event("tech-services", WALLS)
    for path in ("/", "/events/tech-services", "/accessibility"):
        assert 'href="/accessibility"' in client.get(path).get_data(as_text=True), path
    page = client.get("/accessibility").get_data(as_text=True)
    assert "WCAG" in page and "accommodation" in page


def test_an_officer_writes_the_statement_and_the_contact(app: Flask, client: FlaskClient) -> None:
    login_officer(client)
    page = client.get("/manage/accessibility").get_data(as_text=True)
    bad = client.post(
        "/manage/accessibility",
        data={"csrf_token": csrf_from(page), "statement": "Ours.", "contact": "not an address"},
    )
    assert bad.status_code == 400 and "email address" in bad.get_data(as_text=True)
    assert "Ours." not in client.get("/accessibility").get_data(as_text=True)  # nothing stored
    good = client.post(
        "/manage/accessibility",
        data={"csrf_token": csrf_from(page), "statement": "## Our promise\n\nOurs.", "contact": "access@example.org"},
    )
    assert good.status_code == 303
    public = client.get("/accessibility").get_data(as_text=True)
    assert "<h2>Our promise</h2>" in public and 'href="mailto:access@example.org"' in public
    assert "WCAG" not in public
