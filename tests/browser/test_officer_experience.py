"""A real Chromium at desktop (1280 px) and phone (390 px) widths, with a brand colour
applied: the Register button reaches the form; axe-core finds no serious or critical
violations on the pages issue #13 changed; screenshots of each go to test-artifacts/."""

from __future__ import annotations

import pytest
from flask import Flask
from playwright.sync_api import Browser, expect

from forum.common import branding
from forum.core.extensions import db
from forum.demo import data as demo
from forum.events import service as events
from forum.mail import texts as mail_texts
from forum.models import Event
from tests.browser.a11y import violations
from tests.browser.helpers import WIDTHS, no_sideways_scroll, open_page, shot, sign_in_officer
from tests.support.live import live_server, make_officer

SERIES = "re-envisioning-technical-services"
FORUM = "mentoring-in-technical-services"


def brand_the_site() -> None:
    branding.save(
        {
            "org_name": "Association for Library Collections & Technical Services",
            "short_name": "ALCTS",
            "logo_url": "/static/favicon.svg",
            "brand_colour": "#6b2c91",
            "footer_text": "ALCTS, a division of the American Library Association.",
            "postal_address": "50 E. Huron St.\nChicago, IL 60611",
            "mail_from_name": "ALCTS Continuing Education",
        }
    )
    db.session.commit()


@pytest.mark.browser
@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize("size", list(WIDTHS))
def test_register_button_reaches_the_form(app: Flask, browser: Browser, size: str) -> None:
    demo.load()
    brand_the_site()
    with live_server(app) as base:
        page, problems = open_page(browser, WIDTHS[size], 800, timezone_id="Asia/Kolkata")
        page.goto(f"{base}/events/{SERIES}")
        email = page.locator("main form").get_by_label("Email address")
        expect(email).not_to_be_in_viewport()
        page.locator("header.event-head").get_by_role("link", name="Register").click()
        expect(email).to_be_in_viewport()
        assert page.url.endswith("#register")
        # the brand colour arrived through the stylesheet, under the strict CSP
        colour = page.evaluate(
            "getComputedStyle(document.querySelector('.register-cta .button')).backgroundColor"
        )
        assert colour == "rgb(107, 44, 145)"
        no_sideways_scroll(page)
        shot(page, f"officer-register-{size}.png")
        email.fill("visitor@example.org")
        page.locator("main form").get_by_label("I have read and accept the code of conduct").check()
        page.locator("main form").get_by_role("button", name="Register").click()
        expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
        expect(page.get_by_role("link", name="Back to “Re-envisioning Technical Services”")).to_be_visible()
    assert problems == []


@pytest.mark.browser
@pytest.mark.parametrize("backend", ["sqlite"])
def test_changed_pages_have_no_serious_violations_with_a_brand_colour(app: Flask, browser: Browser) -> None:
    make_officer()
    demo.load()
    brand_the_site()
    draft = Event.by_slug(SERIES)
    assert draft is not None
    copy = events.duplicate_event(
        draft,
        title="A draft copy with a very long unbroken title " + "x" * 120,
        slug="copy",
        first_day=draft.first_date,
    )  # type: ignore[arg-type]
    mail_texts.save(draft, "reminder", "Dear {{ name }}, see you at {{ session_time }}.", "Megan")
    db.session.commit()
    problems: list[str] = []
    with live_server(app) as base:
        for size, width in WIDTHS.items():
            page, csp = open_page(browser, width, timezone_id="Europe/London")
            sign_in_officer(page, base)
            pages = {
                "home": "/",
                "series": f"/events/{SERIES}",
                "eforum": f"/events/{FORUM}",
                "settings": "/manage/settings",
                "overview-draft": f"/manage/events/{copy.slug}",
                "sessions-series": f"/manage/events/{SERIES}/sessions",
                "duplicate": f"/manage/events/{SERIES}/duplicate",
                "delete": f"/manage/events/{copy.slug}/delete",
                "mail-texts": f"/manage/events/{SERIES}/mail-texts?kind=reminder",
                "cancel-session": f"/manage/events/{SERIES}/sessions/{draft.sessions[0].id}/cancel",
                "archive": f"/events/{FORUM}/archive",
            }
            for name, path in pages.items():
                response = page.goto(base + path)
                assert response is not None and response.status == 200, (path, response and response.status)
                if size == "desktop":  # `violations` checks the phone's width too, on the same page
                    problems.extend(violations(page))
                no_sideways_scroll(page)
                shot(page, f"officer-{name}-{size}.png")
            # the mail-text preview, and a zone search narrowing the picker
            page.goto(f"{base}/manage/events/{SERIES}/mail-texts?kind=reminder")
            page.get_by_role("button", name="Preview").click()
            expect(page.get_by_role("heading", name="Preview")).to_be_visible()
            if size == "desktop":
                problems.extend(violations(page))
            shot(page, f"officer-mail-preview-{size}.png")
            page.goto(f"{base}/manage/events/{SERIES}/sessions")
            search = page.locator("#series-timezone-search")
            search.fill("kolk")
            assert page.locator("#series-timezone").input_value() == "Asia/Kolkata"
            assert csp == [], csp
    assert not problems, "accessibility violations:\n" + "\n".join(problems)
