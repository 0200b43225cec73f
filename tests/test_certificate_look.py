"""What a certificate carries besides the person and the hours: the logo, the CE provider's
name and number and a signature line, set once on the settings page and overridden per event
on its attendance page; the PDF and the public verification page say the same."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pypdfium2
from flask.testing import FlaskClient
from PIL import Image
from pypdf import PdfReader

from forum.ce import certificates
from forum.core.extensions import db
from tests.support.ce import after_end, attended, register, series
from tests.support.live import csrf_from, make_officer, sign_in


def png(width: int = 240, height: int = 80) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (11, 92, 173)).save(out, "PNG")
    return out.getvalue()


def pdf_of(cert) -> tuple[str, int]:  # type: ignore[no-untyped-def]
    """The PDF's text and how many images its page draws."""
    reader = PdfReader(io.BytesIO(certificates.render_pdf(cert)))
    (page,) = reader.pages
    return page.extract_text(), len(page.images)


def drawn(pdf: bytes) -> Image.Image:
    """The certificate's page as a picture (PDFium, as a browser's viewer draws it), 1122 px wide."""
    page = pypdfium2.PdfDocument(pdf)[0]
    return page.render(scale=1122 / page.get_width()).to_pil().convert("RGB")


def save_settings(client: FlaskClient, **fields: object) -> object:
    page = client.get("/manage/settings/certificates")
    data = {"csrf_token": csrf_from(page.get_data(as_text=True)), **fields}
    return client.post("/manage/settings/certificates", data=data, content_type="multipart/form-data")


def test_settings_put_logo_provider_and_signatory_on_every_certificate(app, client: FlaskClient) -> None:  # type: ignore[no-untyped-def]
    make_officer()
    sign_in(client)
    assert "Certificates: logo, CE provider and signature line" in client.get("/manage/settings").get_data(as_text=True)
    saved = save_settings(
        client,
        provider_name="Library Learning Network",
        provider_number="LLN-1234",
        signatory_name="Megan Dougherty",
        signatory_title="CE Coordinator",
        logo=(io.BytesIO(png()), "logo.png"),
    )
    assert saved.status_code == 302  # type: ignore[attr-defined]
    ev = series()
    zoe = register(ev, "zoe@example.org", "Zoe Park")
    for s in ev.active_sessions:
        attended(zoe, s)
    cert = certificates.issue(zoe, after_end(ev, hours=1))
    db.session.commit()
    text, images = pdf_of(cert)
    assert images == 1
    picture = drawn(certificates.render_pdf(cert))
    width, _ = picture.size
    assert picture.getpixel((width // 2, int(width * 0.085))) == (11, 92, 173)  # the logo, top centre
    if os.environ.get("FORUM_SCREENSHOTS"):  # docs/screenshots/make.py
        picture.save(Path(os.environ["FORUM_SCREENSHOTS"]) / "certificate-logo-signature.png")
    assert "Provider: Library Learning Network (approved provider no. LLN-1234)" in text
    assert "Megan Dougherty, CE Coordinator" in text and "For Forum" in text
    verify = client.get(f"/certificates/{cert.code}").get_data(as_text=True)
    assert "Library Learning Network (approved provider no. LLN-1234)" in verify

    # the event's own wording wins; the logo stays the site's; then removing the logo
    page = client.get(f"/manage/events/{ev.slug}/attendance/").get_data(as_text=True)
    assert 'name="provider_number"' in page
    rule = client.post(
        f"/manage/events/{ev.slug}/attendance/rule",
        data={
            "csrf_token": csrf_from(page),
            "rule": "all",
            "min_attendance": "75 %",
            "credit": "full",
            "mail_certificates": "y",
            "certificate_delay_hours": "24",
            "provider_name": "Cataloging Section",
            "provider_number": "CS-77",
        },
    )
    assert rule.status_code == 303, rule.get_data(as_text=True)[:2000]
    text, images = pdf_of(cert)
    assert "Provider: Cataloging Section (approved provider no. CS-77)" in text and images == 1
    assert "Megan Dougherty, CE Coordinator" in text  # not overridden: the site's
    assert "CS-77" in client.get(f"/certificates/{cert.code}").get_data(as_text=True)
    assert save_settings(client, provider_name="Library Learning Network", remove_logo="y").status_code == 302  # type: ignore[attr-defined]
    assert pdf_of(cert)[1] == 0


def test_a_file_that_is_not_an_image_is_refused_next_to_the_logo_field(app, client: FlaskClient) -> None:  # type: ignore[no-untyped-def]
    make_officer()
    sign_in(client)
    bad = save_settings(client, logo=(io.BytesIO(b"%PDF-1.4 not an image"), "logo.png"))
    assert bad.status_code == 400  # type: ignore[attr-defined]
    assert "This file is not an image" in bad.get_data(as_text=True)  # type: ignore[attr-defined]
    big = save_settings(client, logo=(io.BytesIO(b"\x89PNG" + b"0" * 400_000), "logo.png"))
    assert big.status_code == 400 and "Use an image under 300 KB" in big.get_data(as_text=True)  # type: ignore[attr-defined]
