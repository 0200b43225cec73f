"""A real Chromium: a visitor registers for a full webinar series and sees their place on the
waiting list; an officer raises the seat limit; the promoted visitor's welcome in the dev
mailbox carries the calendar invitation and a personal join link (never the platform's URL)."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from playwright.sync_api import Browser, expect

from forum.core import clock
from forum.core.extensions import db
from forum.demo import data as demo
from forum.mail import links
from forum.models import Event, Participant
from forum.subscriptions import service
from forum.webinars import join_links
from tests.browser.a11y import check, sign_in_checked
from tests.browser.helpers import (
    deliver,
    live_server_for,
    open_dev_mail,
    open_page,
    path_of,
    shot,
    sign_in_officer,
)
from tests.support.live import make_officer

VISITOR = "visitor@example.org"
# the demo's webinar series (test_subscriber_flow's SERIES_SLUG is the demo e-forum now)
SERIES_SLUG = demo.SERIES["slug"]
ZOOM = "https://zoom.us/j/5550001111"


@pytest.mark.browser
def test_full_series_waiting_list_then_promotion_with_invite(app: Flask, browser: Browser) -> None:
    demo.load()
    make_officer()
    series = Event.by_slug(SERIES_SLUG)
    assert series is not None
    series.seat_limit = 1
    for session in series.sessions:
        session.join_url = ZOOM
    db.session.add(
        Participant(email="first@example.org", email_key="first@example.org", confirmed_at=clock.now())
    )
    db.session.flush()
    service.subscribe(series, "first@example.org", conduct_accepted=True)  # takes the only seat
    db.session.commit()
    title = series.title

    with live_server_for(app) as base:
        page, csp_problems = open_page(browser, timezone_id="Europe/Berlin")
        page.goto(f"{base}/events/{SERIES_SLUG}")
        expect(page.locator(".event-head").get_by_text("This series is full.")).to_be_visible()
        form = page.get_by_role("region", name="Register", exact=True).locator("form")
        form.get_by_label("Email address").fill(VISITOR)
        form.get_by_label("I have read and accept the code of conduct").check()
        form.get_by_role("button", name="Join the waiting list").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox")

        deliver()
        open_dev_mail(page, base, VISITOR, f"Confirm your registration: {title}")
        page.get_by_role("link", name="Confirm your registration").click()
        page.get_by_role("button", name="Confirm my registration").click()
        expect(page.get_by_role("status")).to_contain_text("you are on the waiting list: number 1 in line")
        shot(page, "waiting-list-1-position.png")
        deliver()
        open_dev_mail(page, base, VISITOR, f"On the waiting list: {title}")
        expect(page.get_by_text("number 1 in line").first).to_be_visible()

        desk, _ = open_page(browser, timezone_id="America/New_York")
        sign_in_officer(desk, base)
        desk.goto(f"{base}/manage/events/{SERIES_SLUG}/subscribers")
        desk.get_by_role("navigation", name="This event").get_by_role("link", name="Seats").click()
        expect(desk.locator("[data-seats-left]")).to_have_text("0")
        expect(desk.locator(".waiting-list")).to_contain_text(VISITOR)
        desk.get_by_label("Seat limit (empty: unlimited)").fill("2")
        desk.get_by_role("button", name="Save").click()
        expect(desk.get_by_role("status")).to_contain_text("1 person from the waiting list got a seat")
        expect(desk.locator("[data-seats-taken]")).to_have_text("2")
        expect(desk.get_by_text("Nobody is waiting.")).to_be_visible()
        shot(desk, "waiting-list-2-officer.png")

        deliver()
        open_dev_mail(page, base, VISITOR, f"Welcome: {title}")
        expect(page.get_by_text("text/calendar").first).to_be_visible()
        expect(page.get_by_text("invite.ics").first).to_be_visible()
        body = page.content()
        assert "your personal link" in body and ZOOM not in body and "zoom.us" not in body
        shot(page, "waiting-list-3-welcome.png")
    assert csp_problems == []
    db.session.expire_all()
    person = Participant.by_email(VISITOR)
    assert person is not None and person.subscriptions[0].status == "active"


@pytest.mark.browser
@pytest.mark.parametrize("backend", ["sqlite"])
def test_webinar_pages_have_no_serious_accessibility_violations(app: Flask, browser: Browser) -> None:
    """axe-core on the join link's waiting page, the preferences page with join links and a
    waiting-list place, and the officer's seats and recordings pages."""
    demo.load()
    make_officer()
    series = Event.by_slug(SERIES_SLUG)
    assert series is not None
    series.seat_limit = 1
    for email in ("first@example.org", "second@example.org"):
        db.session.add(Participant(email=email, email_key=email, confirmed_at=clock.now()))
    db.session.flush()
    first = service.subscribe(series, "first@example.org", conduct_accepted=True)
    second = service.subscribe(series, "second@example.org", conduct_accepted=True)
    db.session.commit()
    assert (first.status, second.status) == ("active", "waitlisted")
    problems: list[str] = []
    with live_server_for(app) as base:
        page, csp_problems = open_page(browser, timezone_id="Europe/Berlin")
        check(page, base + path_of(join_links.join_url(first, series.sessions[0])), problems)
        # days before the session: the waiting page counts down (static/js/door.js)
        expect(page.locator("[data-countdown]")).to_have_text(re.compile(r"^in \d+ days? \d+:\d\d:\d\d$"))
        expect(page.locator(".viewer-zone .viewer-text")).to_contain_text("(Berlin)")
        for url in (
            links.preferences_url(first.participant),
            links.preferences_url(second.participant),
        ):
            check(page, base + path_of(url), problems)
        expect(page.locator(".waitlist-position")).to_contain_text("number 1 on the waiting list")
        sign_in_checked(page, base, problems)
        for path in (f"/manage/events/{SERIES_SLUG}/seats", f"/manage/events/{SERIES_SLUG}/recordings"):
            check(page, base + path, problems)
    assert problems == []
    assert csp_problems == []
