"""A subscriber's whole journey in a real Chromium: a visitor in Berlin finds a webinar
series, sees its times in their own zone, subscribes for the daily digest, confirms from the
mail (read in the dev mailbox), switches to each message from the welcome mail's link, and
leaves with the unsubscribe link."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from playwright.sync_api import Browser, expect

from forum.core.extensions import db
from forum.demo import data as demo
from forum.models import Event, Participant
from tests.browser.helpers import deliver, live_server_for, open_dev_mail, open_page, shot

VISITOR = "visitor@example.org"
# an e-forum: its registrants choose how list mail comes (a webinar series has no such choice)
SERIES_SLUG = "mentoring-in-technical-services"


def berlin_line(event: Event) -> str:
    """The first session as a Berlin reader expects it, worked out here with zoneinfo."""
    session = event.active_sessions[0]
    home, berlin = ZoneInfo(event.timezone), ZoneInfo("Europe/Berlin")
    start = session.start_wall.replace(tzinfo=home).astimezone(berlin)
    end = session.end_wall.replace(tzinfo=home).astimezone(berlin)

    def clock_time(moment: datetime) -> str:
        return moment.strftime("%I:%M %p").lstrip("0")

    if start.date() != end.date():  # the e-forum's day ends after midnight in Berlin
        return f"{start:%a} {start.month}/{start.day} {clock_time(start)}\u2013{end:%a} {end.month}/{end.day} {clock_time(end)} (Berlin)"
    return f"{clock_time(start)}\u2013{clock_time(end)} (Berlin)"


@pytest.mark.browser
def test_a_visitor_subscribes_confirms_changes_delivery_and_leaves(app: Flask, browser: Browser) -> None:
    demo.load()
    series = Event.by_slug(SERIES_SLUG)
    assert series is not None
    title = series.title
    expected_line = berlin_line(series)

    with live_server_for(app) as base:
        page, csp_problems = open_page(browser, 1100, timezone_id="Europe/Berlin")

        # find the series and read its times in Berlin time
        page.goto(f"{base}/")
        page.get_by_role("link", name=title).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(title)
        expect(page.locator(".viewer-text").first).to_contain_text(expected_line)
        expect(page.get_by_label("Show times in")).to_have_value("Europe/Berlin")

        # subscribe for the daily digest
        form = page.get_by_role("region", name="Register", exact=True).locator("form")
        form.get_by_label("Email address").fill(VISITOR)
        form.get_by_label("Name (optional)").fill("Vera Visitor")
        form.get_by_label("Delivery").select_option(label="Digest (daily or weekly)")
        form.get_by_label("I have read and accept the code of conduct").check()
        shot(page, "subscriber-1-form.png")
        form.get_by_role("button", name="Subscribe").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox")
        expect(page.get_by_text(f"Thank you for registering for {title}.")).to_be_visible()

        # the confirmation mail, read in the dev mailbox; its link asks for a button press
        deliver()
        open_dev_mail(page, base, VISITOR, f"Confirm your subscription: {title}")
        expect(page.get_by_text("Hello Vera Visitor,").first).to_be_visible()
        page.get_by_role("link", name="Confirm your subscription").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(title)
        expect(page.get_by_text(f"Confirm that {VISITOR} should join this e-Forum.")).to_be_visible()
        page.get_by_role("button", name="Confirm my subscription").click()
        expect(page.get_by_role("status")).to_have_text(
            "You are subscribed. A welcome message with the details is on its way."
        )
        shot(page, "subscriber-2-confirmed.png")

        # the welcome mail says how mail comes, and links to the preferences
        deliver()
        welcome = f"Welcome: {title}"
        open_dev_mail(page, base, VISITOR, welcome)
        expect(page.locator(".prose").get_by_text("Delivery: Daily digest.")).to_be_visible()
        page.locator(".prose").get_by_role("link", name="Change delivery, time zone or name").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Your subscriptions")
        expect(page.get_by_text(f"Settings for {VISITOR}.")).to_be_visible()
        delivery = page.get_by_label(f"Delivery for {title}")
        expect(delivery).to_have_value("digest")
        delivery.select_option(label="Each message")
        page.get_by_role("button", name="Save preferences").click()
        expect(page.get_by_role("status")).to_have_text("Your preferences are saved.")
        expect(page.get_by_label(f"Delivery for {title}")).to_have_value("each")
        shot(page, "subscriber-3-preferences.png")

        # the welcome mail's leave link: a page with a button, then the subscriber is gone
        open_dev_mail(page, base, VISITOR, welcome)
        leave = page.locator(".prose").get_by_role("link", name="Leave this event")
        # the same link mail programs offer as their own unsubscribe button (List-Unsubscribe)
        expect(page.locator(".mail-headers")).to_contain_text(f"<{leave.get_attribute('href')}>")
        leave.click()
        expect(page.get_by_text(f"Do you want {VISITOR} to leave this e-Forum?")).to_be_visible()
        page.get_by_role("button", name=f"Leave {title}").click()
        expect(page.get_by_role("status")).to_have_text(
            f"You have left {title}. No more mail will come from it."
        )
        expect(page.get_by_role("button", name=f"Re-join {title}")).to_be_visible()
        shot(page, "subscriber-4-left.png")
    assert csp_problems == []

    db.session.expire_all()
    person = Participant.by_email(VISITOR)
    assert person is not None and person.name == "Vera Visitor"
    (subscription,) = person.subscriptions
    assert (subscription.status, subscription.mode) == ("unsubscribed", "each")
