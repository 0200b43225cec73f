"""A real Chromium: an officer signs in, sets up an e-forum in /manage, publishes it, and
a visitor in India sees its times in the announcement's zones and in their own."""

from __future__ import annotations

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from tests.browser.helpers import shot
from tests.support.live import OFFICER_EMAIL, OFFICER_PASSWORD, live_server, make_officer


def create_and_publish(page: Page, base: str) -> None:
    page.goto(f"{base}/manage/")
    expect(page.get_by_role("heading", name="Officer sign-in")).to_be_visible()
    page.get_by_label("Email").fill(OFFICER_EMAIL)
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("do not match an officer account")).to_be_visible()
    page.get_by_label("Password").fill(OFFICER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Events", exact=True)).to_be_visible()

    page.get_by_role("link", name="New event").click()
    page.get_by_label("Kind").select_option("eforum")
    page.get_by_label("Title", exact=True).fill("Mentoring in Technical Services")
    page.get_by_label("Web address (slug)").fill("ts-mentoring")
    page.get_by_label("Description").fill("At many libraries, **technical services** is a small department.")
    page.get_by_label("Learning outcomes", exact=True).fill("Share experiences in mentoring\nBrainstorm ideas")
    page.get_by_label("Home time zone").select_option("America/New_York")
    page.get_by_label("Contact email").fill("not an email")
    page.get_by_role("button", name="Create event").click()
    expect(page.locator("#contact_email-err")).to_contain_text("Enter an email address")
    expect(page.get_by_label("Title", exact=True)).to_have_value("Mentoring in Technical Services")
    page.get_by_label("Contact email").fill("megan@example.org")
    page.get_by_role("button", name="Create event").click()

    expect(page.get_by_role("heading", name="Sessions", exact=True)).to_be_visible()
    days = page.locator("form[action$='/sessions/days']")
    days.get_by_label("From").fill("2030-09-10")
    days.get_by_label("To").fill("2030-09-11")
    days.get_by_label("Start time").fill("10:00")
    days.get_by_label("End time").fill("18:00")
    days.get_by_role("button", name="Add days").click()
    expect(page.get_by_text("Added 2 days.")).to_be_visible()
    shot(page, "manage-sessions.png")

    page.get_by_role("navigation", name="This event").get_by_role("link", name="Overview").click()
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("Published. The public page is live")).to_be_visible()


@pytest.mark.browser
def test_officer_publishes_an_eforum_and_a_visitor_sees_it_in_their_zone(
    app: Flask, browser: Browser
) -> None:
    make_officer()
    with live_server(app) as base:
        officer = browser.new_context(timezone_id="America/New_York")
        create_and_publish(officer.new_page(), base)
        officer.close()

        visitor = browser.new_context(timezone_id="Asia/Kolkata", viewport={"width": 1200, "height": 900})
        page = visitor.new_page()
        page.goto(f"{base}/")
        page.get_by_role("link", name="Mentoring in Technical Services").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Mentoring in Technical Services")
        expect(page.locator(".dates").first).to_have_text("Tuesday, 9/10/2030 – Wednesday, 9/11/2030")
        lines = page.locator(".zone-lines li")
        for line in (
            "10:00 AM–6:00 PM (Eastern)",
            "9:00 AM–5:00 PM (Central)",
            "8:00 AM–4:00 PM (Mountain)",
            "7:00 AM–3:00 PM (Pacific)",
        ):
            expect(lines.filter(has_text=line)).to_have_count(1)
        viewer = page.locator(".viewer-text")
        expect(viewer).to_contain_text("Tue 9/10 7:30 PM–Wed 9/11 3:30 AM (Kolkata)")
        expect(page.get_by_label("Show times in")).to_have_value("Asia/Kolkata")
        expect(page.get_by_text("technical services", exact=True)).to_be_visible()

        shot(page, "event-desktop.png")

        # pick another zone: the line follows at once, and the choice is remembered
        page.get_by_label("Show times in").select_option("Europe/London")
        expect(viewer).to_have_text("3:00 PM–11:00 PM (London)")
        page.set_viewport_size({"width": 360, "height": 780})
        page.reload()
        expect(viewer).to_have_text("3:00 PM–11:00 PM (London)")
        shot(page, "event-phone.png")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, f"page is {width}px wide on a 360px phone"
        visitor.close()
