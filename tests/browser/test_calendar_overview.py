"""A real Chromium on the organisation-wide calendar: a reader in Kolkata picks a topic on a
desktop (1280 px) and on a phone (390 px), sees only that topic's sessions, each in the
announcement's zones and their own (the browser's zone, written by zones.js), and finds the
topic's calendar feed; no sideways scrolling, no CSP refusal, no axe finding. On the
production site over HTTPS too, at the phone's width."""

from __future__ import annotations

from datetime import datetime

import pytest
from playwright.sync_api import Browser, expect

from forum.common import topics
from forum.core.extensions import db
from tests.browser.a11y import violations
from tests.browser.helpers import Site, on_backends, open_page, shot
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


@pytest.mark.browser
# Each width once on the development server, the production site on both databases (the
# width and the database are independent: tests/browser/helpers.py each_width_on_one_backend).
@on_backends(
    ("backend", "site", "width"),
    [
        ("sqlite", "dev-http", 1280),
        ("postgresql", "dev-http", 390),
        ("sqlite", "production-https", 390),
        ("postgresql", "production-https", 390),
    ],
    indirect=["site"],
)
def test_a_reader_filters_the_calendar_by_topic(browser: Browser, site: Site, width: int) -> None:
    _calendar()
    base = site.base
    page, problems = open_page(browser, width, timezone_id="Asia/Kolkata")
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
    shot(page, f"calendar-topic-{width}.png")
    assert violations(page) == []
    assert problems == []
