"""A real Chromium at 1280 and 390 px for the smaller things a newcomer met (issue 26): a
reader in a listed zone sees "your time zone" on that line and no second line repeating it,
and a reader in Tokyo sees an e-forum's days one per line; the archive's zone picker searches
like every other; the preferences page offers the browser's zone while none is saved and
keeps "Leave every event" apart from Save; a draft's overview lists what is ready and what
is missing before publishing. (An ended event offering its recordings:
tests/browser/test_registration_states.py.)"""

from __future__ import annotations

from datetime import datetime

import pytest
from flask import Flask
from playwright.sync_api import Browser, expect

from forum.core.extensions import db
from forum.mail import links
from forum.models import Participant, Subscription
from tests.browser.helpers import (
    WIDTHS,
    each_width_on_one_backend,
    live_server_for,
    no_sideways_scroll,
    open_page,
    shot,
    sign_in_officer,
)
from tests.support.discussion import make_forum
from tests.support.live import make_event, make_officer


@pytest.mark.browser
@each_width_on_one_backend()
def test_zone_lines_say_your_zone_once_and_tokyo_goes_day_by_day(app: Flask, browser: Browser, device: str) -> None:
    make_forum(archive_public=True)  # two days, 10 AM-6 PM Eastern
    with live_server_for(app) as base:
        for zone in ("America/Los_Angeles", "Asia/Tokyo"):
            page, problems = open_page(browser, WIDTHS[device], timezone_id=zone)
            page.goto(f"{base}/events/mentoring")
            lines = page.locator(".zone-lines").first
            viewer = lines.locator(".viewer-zone")
            if zone == "America/Los_Angeles":
                expect(lines.locator('li[data-zone="America/Los_Angeles"]')).to_contain_text("(Pacific) your time zone")
                expect(viewer).to_be_hidden()
                assert "(Los Angeles)" not in lines.inner_text()  # what a reader sees
            else:
                expect(viewer).to_be_visible()
                text = viewer.locator(".viewer-text")
                expect(text).to_contain_text("(Tokyo)")
                assert text.inner_text().count("\n") == 1  # two days, two lines, no running line
                assert ";" not in text.inner_text()
                no_sideways_scroll(page)
                shot(page, f"zone-lines-tokyo-{WIDTHS[device]}.png", full_page=False)
                # the archive's picker is the same searching select
                page.goto(f"{base}/events/mentoring/archive")
                page.wait_for_url("**/archive?tz=Asia%2FTokyo")
                picker = page.get_by_label("Times shown in")
                expect(picker).to_have_value("Asia/Tokyo")
                page.get_by_label("Search time zones").fill("kolk")
                assert picker.input_value() == "Asia/Kolkata"
            assert problems == []


@pytest.mark.browser
@each_width_on_one_backend("postgresql")
def test_preferences_offer_the_browsers_zone_and_keep_leaving_apart(app: Flask, browser: Browser, device: str) -> None:
    forum = make_forum()
    person = Participant(email="ana@example.org", email_key="ana@example.org", name="Ana")
    db.session.add(Subscription(participant=person, event=forum, status="active"))
    db.session.commit()
    with live_server_for(app) as base:
        page, problems = open_page(browser, WIDTHS[device], timezone_id="Asia/Tokyo")
        page.goto(links.preferences_url(person).replace("http://forum.test", base))
        expect(page.get_by_label("Your time zone")).to_have_value("Asia/Tokyo")
        expect(page.get_by_text("Your browser is set to this zone")).to_be_visible()
        save = page.get_by_role("button", name="Save preferences")
        leave = page.get_by_role("button", name="Leave every event")
        assert leave.evaluate("b => !b.form.contains(document.querySelector('button[name=save]'))")
        gap = leave.bounding_box()["y"] - save.bounding_box()["y"]  # type: ignore[index]
        assert gap > 60, gap  # not side by side: its own section below
        no_sideways_scroll(page)
        shot(page, f"preferences-{WIDTHS[device]}.png", full_page=False)
        save.click()
        expect(page.get_by_role("status")).to_have_text("Your preferences are saved.")
    db.session.expire_all()
    assert person.timezone == "Asia/Tokyo"
    assert problems == []


@pytest.mark.browser
@each_width_on_one_backend()
def test_a_drafts_overview_is_a_readiness_list(app: Flask, browser: Browser, device: str) -> None:
    make_event("draft-series", [(datetime(2099, 3, d, 14), datetime(2099, 3, d, 15)) for d in (2, 9)], kind="series", publish=False)
    make_officer()
    with live_server_for(app) as base:
        page, problems = open_page(browser, WIDTHS[device])
        sign_in_officer(page, base)
        page.goto(f"{base}/manage/events/draft-series")
        checklist = page.get_by_role("region", name="Before you publish")
        expect(checklist).to_contain_text("2 sessions")
        expect(checklist).to_contain_text("2 of 2 sessions have no join link")
        expect(checklist).to_contain_text("Publishing mails nobody by itself")
        expect(page.get_by_text("No mail for this event in the last 30 days.")).to_have_count(0)
        no_sideways_scroll(page)
        shot(page, f"draft-readiness-{WIDTHS[device]}.png", full_page=False)
    assert problems == []
