"""Certificates: who gets which, the PDF's text (read back with pypdf, non-Latin names too),
the public verification page, downloads from the preferences page, and the mail after the
last session, exactly once per person across reruns."""

from __future__ import annotations

import io
from email import message_from_bytes, policy

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import select

from forum.ce import attendance, certificates, evaluations
from forum.core import clock
from forum.core.extensions import db
from forum.mail import links
from forum.models import Certificate, JobRun
from forum.scheduling.scheduler import run_job
from tests.support.ce import after_end, attended, register, series
from tests.support.subscriptions import outbox

ZOE = "Zoë Łukasiewicz-Ōtsuka"
HOA = "Nguyễn Thị Hoa"


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def attend_all(sub, event) -> None:  # type: ignore[no-untyped-def]
    for s in event.active_sessions:
        attended(sub, s)


def _zoes_certificate(title: str) -> Certificate:
    """Zoe attended every session of a series called `title`; her certificate, an hour after."""
    ev = series(title=title)
    zoe = register(ev, "zoe@example.org", ZOE)
    attend_all(zoe, ev)
    with clock.frozen(after_end(ev, hours=1)):
        cert = certificates.issue(zoe)
    db.session.commit()
    return cert


def test_completion_certificate_pdf_says_who_what_when_and_how_long(app: Flask) -> None:
    app.config["ORG_NAME"] = "Association for Library Collections & Technical Services"
    cert = _zoes_certificate("Cataloging Now: RDA in Practice")
    assert cert.kind == "completion" and cert.minutes == 270
    text = pdf_text(certificates.render_pdf(cert))
    for expected in (
        "Association for Library Collections & Technical Services",
        "Certificate of completion",
        ZOE,
        "Cataloging Now: RDA in Practice",
        "Tuesday, 3/5/2030 – Tuesday, 3/19/2030 (Chicago time)",
        "Continuing-education hours: 4.5",
        cert.code,
        f"http://forum.test/certificates/{cert.code}",
        "For Association for Library Collections & Technical Services",  # under the signature line
    ):
        assert expected in text, (expected, text)
    assert len(PdfReader(io.BytesIO(certificates.render_pdf(cert))).pages) == 1  # all on one page


def test_attendance_certificate_lists_the_sessions_attended(app: Flask) -> None:
    ev = series()
    hoa = register(ev, "hoa@example.org", HOA)
    first, _, third = ev.active_sessions
    attended(hoa, first)
    attendance.mark(hoa, third, "pat@forum.test")
    attendance.set_session_hours(third, "2")
    with clock.frozen(after_end(ev, hours=1)):
        cert = certificates.issue(hoa)
    text = pdf_text(certificates.render_pdf(cert))
    assert cert.kind == "attendance"
    assert "Certificate of attendance" in text and HOA in text
    assert "Tuesday, 3/5/2030" in text and "Tuesday, 3/19/2030" in text
    assert "Tuesday, 3/12/2030" not in text.split("Hours", 1)[1]  # the missed session is not listed
    assert "Continuing-education hours: 3.5" in text  # 1.5 + 2 (officer's override)


def test_no_certificate_before_the_end_without_attendance_or_without_a_name(app: Flask) -> None:
    ev = series()
    ana = register(ev, "ana@example.org", "Ana Ruiz")
    nameless = register(ev, "x@example.org", "")
    absent = register(ev, "absent@example.org", "Absent Person")
    attend_all(ana, ev)
    attend_all(nameless, ev)
    with (
        clock.frozen(ev.active_sessions[-1].starts_at),
        pytest.raises(certificates.CertificateError, match="after the last session"),
    ):
        certificates.issue(ana)
    with clock.frozen(after_end(ev, hours=1)):
        with pytest.raises(certificates.CertificateError, match="No attendance"):
            certificates.issue(absent)
        with pytest.raises(certificates.CertificateError, match="Add your name"):
            certificates.issue(nameless)


def test_evaluation_rule_holds_the_certificate_until_answered(app: Flask) -> None:
    ev = series()
    ana = register(ev, "ana@example.org", "Ana Ruiz")
    attend_all(ana, ev)
    attendance.settings_for(ev, create=True).evaluation_required = True
    evaluation = evaluations.create(ev)
    db.session.commit()
    with clock.frozen(after_end(ev, hours=1)):
        with pytest.raises(certificates.CertificateError, match="evaluation"):
            certificates.issue(ana)
        evaluations.save_response(evaluation, ana, {f"q{evaluation.questions[0].id}": "4"})
        assert certificates.issue(ana).kind == "completion"


def test_verification_page_shows_only_name_event_hours_and_date(app: Flask, client: FlaskClient) -> None:
    cert = _zoes_certificate("Cataloging Now")
    typed_path = client.get(f"/certificates/{cert.code.lower().replace('-', ' ')}")  # as typed from paper
    assert typed_path.status_code == 200 and ZOE in typed_path.get_data(as_text=True)
    page = client.get(f"/certificates/{cert.code}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "This certificate is genuine" in html and ZOE in html and "Cataloging Now" in html
    assert "<dd>4.5</dd>" in html and "Tuesday, 3/19/2030" in html
    assert "zoe@example.org" not in html and "/preferences/" not in html
    typed = client.get("/certificates?code=" + cert.code.lower().replace("-", ""))
    assert typed.status_code == 303 and typed.headers["Location"].endswith(f"/certificates/{cert.code}")

    forged = client.get("/certificates/ABCD-EFGH-JKLM")
    assert forged.status_code == 404 and "No certificate has this code" in forged.get_data(as_text=True)
    assert ZOE not in forged.get_data(as_text=True)


def test_download_from_the_preferences_page_after_correcting_the_name(
    app: Flask, client: FlaskClient
) -> None:
    ev = series()
    hoa = register(ev, "hoa@example.org", "Hoa Nguyen")
    attend_all(hoa, ev)
    other = register(series("other-series"), "someone@example.org", "Some One")
    with clock.frozen(after_end(ev, hours=2)):
        prefs_path = links.preferences_url(hoa.participant).removeprefix("http://forum.test")
        page = client.get(prefs_path)
        html = page.get_data(as_text=True)
        assert "Download your certificate of completion (PDF, 4.5 hours)" in html
        first = client.get(f"{prefs_path}/certificates/{hoa.id}.pdf")
        assert first.status_code == 200 and first.mimetype == "application/pdf"
        assert "Hoa Nguyen" in pdf_text(first.data)
        hoa.participant.name = HOA  # what saving the preferences form does (subscriptions.set_profile)
        db.session.commit()
        second = client.get(f"{prefs_path}/certificates/{hoa.id}.pdf")
        text = pdf_text(second.data)
        assert HOA in text and "Hoa Nguyen" not in text
        codes = db.session.scalars(select(Certificate.code)).all()
        assert len(codes) == 1 and codes[0] in text  # same certificate, same code, corrected name
        assert second.headers["Referrer-Policy"] == "same-origin"
        assert client.get(f"{prefs_path}/certificates/{other.id}.pdf").status_code == 404
        assert client.get("/preferences/forged-token/certificates/1.pdf").status_code == 400


def test_certificate_mail_goes_once_per_person_after_the_delay(app: Flask) -> None:
    ev = series()
    ana = register(ev, "ana@example.org", ZOE)
    bo = register(ev, "bo@example.org", "Bo Chen")
    nameless = register(ev, "nameless@example.org", "")
    register(ev, "absent@example.org", "Absent")
    for sub in (ana, nameless):
        attend_all(sub, ev)
    attended(bo, ev.active_sessions[0])
    attended(bo, ev.active_sessions[1])

    assert run_job("ce", at=after_end(ev, hours=23)).messages == 0  # the default delay is a day
    assert outbox("certificate") == []
    report = run_job("ce", at=after_end(ev, hours=25))
    assert report.messages == 2
    run_job("ce", at=after_end(ev, hours=25))  # a rerun, and a catch-up later
    run_job("ce", at=after_end(ev, days=3))
    mails = outbox("certificate")
    assert sorted(m.recipient for m in mails) == ["ana@example.org", "nameless@example.org"]

    by_to = {m.recipient: message_from_bytes(m.message, policy=policy.default) for m in mails}
    with_pdf = by_to["ana@example.org"]
    pdfs = [p for p in with_pdf.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert len(pdfs) == 1 and ZOE in pdf_text(pdfs[0].get_content())
    assert "verification code" in with_pdf.get_body(preferencelist=("plain",)).get_content()
    no_name = by_to["nameless@example.org"]
    assert not list(no_name.iter_attachments())
    assert "add it on your preferences page" in no_name.get_body(preferencelist=("plain",)).get_content()

    # Bo qualifies later (the officer marks the third session): mailed on the next run, once
    attendance.mark(bo, ev.active_sessions[2], "pat@forum.test")
    db.session.commit()
    run_job("ce", at=after_end(ev, days=4))
    run_job("ce", at=after_end(ev, days=4, minutes=1))
    assert sorted(m.recipient for m in outbox("certificate")) == [
        "ana@example.org",
        "bo@example.org",
        "nameless@example.org",
    ]
    keys = db.session.scalars(select(JobRun.target).where(JobRun.kind == "certificate")).all()
    assert sorted(keys) == sorted(f"subscription:{s.id}" for s in (ana, bo, nameless))
    assert certificates.mailed_count(ev) == 3


def test_no_certificate_mail_when_the_officer_turns_it_off(app: Flask) -> None:
    ev = series()
    ana = register(ev, "ana@example.org", "Ana")
    attend_all(ana, ev)
    attendance.settings_for(ev, create=True).mail_certificates = False
    db.session.commit()
    run_job("ce", at=after_end(ev, days=2))
    assert outbox("certificate") == []
