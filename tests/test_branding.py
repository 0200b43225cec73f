"""The organisation's name and look: settings page, /brand.css under the CSP, AA contrast,
and the From name on mail."""

from __future__ import annotations

from datetime import datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient

from forum.common import branding
from forum.core.extensions import db
from forum.subscriptions import service as subscriptions
from tests.support.live import make_event, post_form
from tests.support.subscriptions import outbox, parsed, text_of

SETTINGS = {
    "org_name": "Association for Library Collections & Technical Services",
    "short_name": "ALCTS",
    "logo_url": "https://example.org/logo.png",
    "brand_colour": "#6b2c91",
    "footer_text": "ALCTS, a division of the American Library Association.",
    "postal_address": "50 E. Huron St.\nChicago, IL 60611",
    "mail_from_name": "ALCTS Continuing Education",
}


def test_contrast_ratio_matches_wcag_reference_values() -> None:
    assert branding.contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert branding.contrast_ratio("#ffffff", "#ffffff") == pytest.approx(1.0)
    # WebAIM's checker: #777777 on white is 4.48:1 (fails AA), #767676 is 4.54:1 (passes)
    assert branding.contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    assert branding.contrast_ratio("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)


def test_a_light_colour_is_refused_with_a_darker_shade_that_passes(app: Flask) -> None:
    problem = branding.colour_problem("#ffcc00")
    assert problem is not None and "contrast" in problem
    shade = branding.accessible_shade("#ffcc00")
    assert shade in problem
    assert branding.colour_problem(shade) is None
    assert branding.worst_contrast(shade) >= 4.5
    assert branding.colour_problem("#0b5394") is None
    assert "six hex digits" in (branding.colour_problem("blue") or "")


def test_settings_page_changes_every_page_and_the_stylesheet(signed_in: FlaskClient) -> None:
    response = post_form(signed_in, "/manage/settings", SETTINGS)
    assert response.status_code == 302
    home = signed_in.get("/").get_data(as_text=True)
    assert "<title>Events · ALCTS</title>" in home or "· ALCTS</title>" in home
    assert 'src="https://example.org/logo.png"' in home
    assert "ALCTS, a division of the American Library Association." in home
    assert "50 E. Huron St., Chicago, IL 60611" in home
    assert 'href="/static/favicon.svg"' in home
    # the colour arrives as a stylesheet (no inline style under the CSP)
    assert "style=" not in home and "<style" not in home
    version = branding.current().stylesheet_version
    assert f'href="/brand.css?v={version}"' in home
    css = signed_in.get(f"/brand.css?v={version}")
    assert css.status_code == 200 and css.mimetype == "text/css"
    assert "--brand: #6b2c91;" in css.get_data(as_text=True)
    assert css.cache_control.max_age == 365 * 24 * 3600
    again = signed_in.get("/brand.css", headers={"If-None-Match": css.headers["ETag"]})
    assert again.status_code == 304


def test_a_colour_that_fails_contrast_is_refused_and_nothing_is_saved(signed_in: FlaskClient) -> None:
    response = post_form(signed_in, "/manage/settings", {**SETTINGS, "brand_colour": "#ffcc00"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "contrast" in html and 'value="#ffcc00"' in html
    assert branding.current().org_name == "Forum"


def test_environment_default_that_fails_contrast_is_darkened(app: Flask) -> None:
    app.config["BRAND_COLOUR"] = "#66ccff"
    app.config["ORG_NAME"] = "Library Consortium"
    brand = branding.defaults()
    assert brand.brand_colour != "#66ccff"
    assert branding.worst_contrast(brand.brand_colour) >= 4.5
    assert brand.org_name == "Library Consortium"


def test_settings_page_is_for_officers_only(client: FlaskClient) -> None:
    assert client.get("/manage/settings").status_code == 302
    assert client.get("/brand.css").status_code == 200  # the stylesheet is public


def test_mail_comes_from_the_configured_name(signed_in: FlaskClient) -> None:
    post_form(signed_in, "/manage/settings", SETTINGS)
    event = make_event("mentoring", [(datetime(2027, 3, 2, 10), datetime(2027, 3, 2, 18))])
    subscriptions.subscribe(event, "ann@example.org", name="Ann", conduct_accepted=True)
    db.session.commit()
    (row,) = outbox(recipient="ann@example.org")
    assert parsed(row)["From"].addresses[0].display_name == "ALCTS Continuing Education"
    assert "50 E. Huron St." in text_of(row)
