"""A real Chromium on the organisation-wide calendar: a reader in Kolkata picks a topic on a
desktop (1280 px) and on a phone (390 px), sees only that topic's sessions, each in the
announcement's zones and their own (the browser's zone, written by zones.js), and finds the
topic's calendar feed; no sideways scrolling, no CSP refusal, no serious axe finding."""

from __future__ import annotations

from datetime import datetime

import pytest
from axe_playwright_python.sync_playwright import Axe
from flask import Flask
from playwright.sync_api import Browser, expect

from forum.common import topics
from forum.core.extensions import db
from tests.browser.conftest import ARTIFACTS, watch_for_csp_violations
from tests.browser.test_accessibility import violations
from tests.browser.test_subscriber_flow import live_server_for
from tests.support.factories import make_event

SERIES = [
    (datetime(2030, 9, 10, 13), datetime(2030, 9, 10, 14)),
    (datetime(2030, 9, 17, 13), datetime(2030, 9, 17, 14)),
]
EFORUM = [(datetime(2030, 10, 6, 9), datetime(2030, 10, 6, 17))]


def _calendar() -> None:
    cataloging = topics.save_topic(None, name="Cataloging")
    youth = topics.save_topic(None, name="Youth services")
    db.session.commit()
    rda = make_event(
        "rda-series", SERIES, kind="series", title="RDA in practice", join_url="https://meet.example.test/x"
    )
    teens = make_event("teens-forum", EFORUM, kind="eforum", title="Teen programs")
    rda.topics, teens.topics = [cataloging], [youth]
    db.session.commit()


@pytest.mark.parametrize("width", [1280, 390])
def test_a_reader_filters_the_calendar_by_topic(app: Flask, browser: Browser, width: int) -> None:
    _calendar()
    with live_server_for(app) as base:
        context = browser.new_context(timezone_id="Asia/Kolkata", viewport={"width": width, "height": 900})
        page = context.new_page()
        problems = watch_for_csp_violations(page)
        page.goto(f"{base}/calendar")
        expect(page.get_by_role("link", name="Teen programs")).to_be_visible()

        page.get_by_label("Topic").select_option(label="Cataloging")
        page.get_by_role("button", name="Filter").click()

        expect(page.get_by_role("heading", name="Calendar: Cataloging", level=1)).to_be_visible()
        assert "topic=cataloging" in page.url
        expect(page.get_by_role("link", name="RDA in practice")).to_have_count(2)  # two sessions
        expect(page.get_by_role("link", name="Teen programs")).to_have_count(0)
        first = page.locator(".calendar-session").first
        expect(first.locator(".viewer-text")).to_have_text("10:30 PM\u201311:30 PM (Kolkata)")  # zones.js
        expect(first.get_by_text("1:00 PM\u20132:00 PM (Eastern)")).to_be_visible()
        feed = page.get_by_role("link", name="iCal feed (.ics)")
        assert feed.get_attribute("href") == f"{base}/feeds/topics/cataloging.ics"
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "scrolls sideways"
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"calendar-topic-{width}.png"), full_page=True)
        assert violations(page, Axe()) == []
        assert problems == []
        context.close()
