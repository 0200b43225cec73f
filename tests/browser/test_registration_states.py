"""A real Chromium at a desktop (1280 px) and a phone (390 px) width: a full series says so at
the top, beside a button that says "Join the waiting list"; an ended event says it has ended,
shows its public recording and no form (or only the form for the recordings, when the officer
offers them), and a form left open from before the end is refused with a clear message. Screenshots go to test-artifacts/ (or FORUM_SCREENSHOTS, see
docs/screenshots/make.py)."""

from __future__ import annotations

from datetime import datetime

import pytest
from flask import Flask
from playwright.sync_api import Browser, Locator, Page, expect

from forum.core import clock
from forum.core.extensions import db
from forum.models import Material, Participant, Subscription
from forum.subscriptions import service
from tests.browser.helpers import (
    WIDTHS,
    each_width_on_one_backend,
    live_server_for,
    no_sideways_scroll,
    open_page,
    shot,
)
from tests.support.calendars import make_event

NOW = datetime(2025, 1, 10, 15, 0).astimezone()
AFTER = datetime(2025, 2, 12, 9, 0).astimezone()
WALLS = [
    (datetime(2025, 2, 4, 13), datetime(2025, 2, 4, 14)),
    (datetime(2025, 2, 11, 13), datetime(2025, 2, 11, 14)),
]


def above_the_fold(page: Page, selector: str) -> None:
    box = page.locator(selector).first.bounding_box()
    assert box is not None and box["y"] + box["height"] <= page.viewport_size["height"], (selector, box)  # type: ignore[index]


def ended_event(page: Page, base: str) -> Locator:
    """The ended event's page, which says so at the top; returns that top part."""
    page.goto(f"{base}/events/re-envisioning")
    head = page.locator(".event-head")
    expect(head.get_by_text("This event has ended.")).to_be_visible()
    return head


@pytest.mark.browser
@each_width_on_one_backend("postgresql")
def test_a_full_series_says_so_beside_a_waiting_list_button(app: Flask, browser: Browser, device: str) -> None:
    with clock.frozen(NOW):
        event = make_event("re-envisioning", WALLS)
        event.seat_limit = 1
        db.session.add(Participant(email="first@example.org", email_key="first@example.org", confirmed_at=NOW))
        db.session.flush()
        service.subscribe(event, "first@example.org", conduct_accepted=True)  # the only seat
        db.session.commit()
    with clock.frozen(NOW), live_server_for(app) as base:
        page, problems = open_page(browser, WIDTHS[device], 844)
        page.goto(f"{base}/events/re-envisioning")
        head = page.locator(".event-head")
        expect(head.get_by_text("This series is full.")).to_be_visible()
        button = head.get_by_role("link", name="Join the waiting list")
        expect(button).to_be_visible()
        expect(head.get_by_role("link", name="Register")).to_have_count(0)
        above_the_fold(page, ".register-cta .seats")
        above_the_fold(page, ".register-cta .button")
        shot(page, f"full-series-{WIDTHS[device]}.png", full_page=False)
        button.click()
        form = page.get_by_role("region", name="Register", exact=True).locator("form")
        expect(form.get_by_role("button", name="Join the waiting list")).to_be_in_viewport()
        expect(page.get_by_text("Registering puts you on the waiting list")).to_be_visible()
    assert problems == []


@pytest.mark.browser
@each_width_on_one_backend()
def test_an_ended_event_has_no_form_and_refuses_a_late_form(app: Flask, browser: Browser, device: str) -> None:
    with clock.frozen(NOW):
        event = make_event("re-envisioning", WALLS)
        db.session.add(
            Material(
                session=event.sessions[0],
                kind="recording",
                title="Recording",
                url="https://video.example/1",
                public=True,
            )
        )
        db.session.commit()
    with live_server_for(app) as base:
        page, problems = open_page(browser, WIDTHS[device], 844)
        with clock.frozen(NOW):  # a tab opened before the end, its form filled in later
            page.goto(f"{base}/events/re-envisioning")
            form = page.get_by_role("region", name="Register", exact=True).locator("form")
            form.get_by_label("Email address").fill("late@example.org")
        with clock.frozen(AFTER):
            form.get_by_role("button", name="Register").click()
            expect(page.get_by_text("This event has ended, so it takes no more registrations.")).to_be_visible()
            ended_event(page, base)
            above_the_fold(page, ".banner-ended")
            expect(page.locator("form[action*='subscribe']")).to_have_count(0)
            expect(page.get_by_role("link", name="Register")).to_have_count(0)
            expect(page.get_by_role("link", name="Recording", exact=True)).to_have_attribute("href", "https://video.example/1")
            shot(page, f"ended-event-{WIDTHS[device]}.png", full_page=False)
            page.goto(f"{base}/")
            expect(page.get_by_role("region", name="Archive").get_by_role("link", name=event.title)).to_be_visible()
    assert problems == []
    db.session.expire_all()
    assert Participant.by_email("late@example.org") is None


@pytest.mark.browser
@each_width_on_one_backend("postgresql")
def test_an_ended_event_may_offer_its_recordings(app: Flask, browser: Browser, device: str) -> None:
    with clock.frozen(NOW):
        event = make_event("re-envisioning", WALLS)
        event.recordings_signup = True  # the officer's choice on the recordings page
        db.session.commit()
    with clock.frozen(AFTER), live_server_for(app) as base:
        page, problems = open_page(browser, WIDTHS[device], 844)
        ended_event(page, base).get_by_role("link", name="Register for the recordings").click()
        form = page.get_by_role("region", name="Register", exact=True).locator("form")
        form.get_by_label("Email address").fill("late@example.org")
        form.get_by_role("button", name="Register for the recordings").click()
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        no_sideways_scroll(page)
    assert problems == []
    db.session.expire_all()
    (sub,) = db.session.query(Subscription).filter_by(event_id=event.id)
    assert sub.participant.email == "late@example.org"
