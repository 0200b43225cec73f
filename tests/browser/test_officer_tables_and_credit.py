"""A real Chromium at 1280 and 390 px for an officer: list tables never break a word
mid-letter on a desktop and become one card per row on a phone; the attendance page shows
who only joined (a link click) and who earned what, and the certificate's public verification
page shows the same hours as the officer's table. Screenshots go to test-artifacts/ (or
FORUM_SCREENSHOTS, see docs/screenshots/make.py)."""

from __future__ import annotations

import pytest
from flask import Flask
from playwright.sync_api import Browser, expect

from forum.ce import attendance, certificates
from forum.core import clock
from forum.core.extensions import db
from forum.demo import data as demo
from tests.browser.helpers import (
    WIDTHS,
    each_width_on_one_backend,
    live_server_for,
    no_sideways_scroll,
    open_page,
    shot,
    sign_in_officer,
)
from tests.support.ce import after_end, attended, clicked, register, series
from tests.support.live import make_officer


@pytest.mark.browser
@each_width_on_one_backend()
def test_officer_tables_keep_words_whole_and_become_cards_on_a_phone(
    app: Flask, browser: Browser, device: str
) -> None:
    demo.load()
    make_officer()
    with live_server_for(app) as base:
        page, problems = open_page(browser, WIDTHS[device])
        sign_in_officer(page, base)
        table = page.locator(".table-wrap > table").first
        expect(table).to_be_visible()
        # every header and status badge on one line: no "PUBLISHE D", no "Session s"
        for cell in page.locator(".table-wrap > table thead th, .table-wrap > table .badge").all():
            if cell.is_visible():
                box = cell.bounding_box()
                line = cell.evaluate("e => parseFloat(getComputedStyle(e).lineHeight) || 20")
                assert box is not None and box["height"] < 2 * line + 20, cell.inner_text()
        display = table.locator("tbody tr").first.evaluate("e => getComputedStyle(e).display")
        assert display == ("block" if device == "phone" else "table-row")
        no_sideways_scroll(page)
        shot(page, f"officer-events-{WIDTHS[device]}.png", full_page=False)
    assert problems == []


@pytest.mark.browser
@each_width_on_one_backend("postgresql")
def test_attendance_credit_and_verification_say_the_same_hours(
    app: Flask, browser: Browser, device: str
) -> None:
    ev = series(title="Cataloging Now")
    s1, s2, s3 = ev.active_sessions
    carl = register(ev, "carl@lib.example", "Carl Berg")
    attended(carl, s1, 80)
    attended(carl, s2, 10)  # the newcomer's "carl,10": no hours
    clicked(carl, s3)  # joined only
    attendance.set_credit(ev, "", "quarter")
    db.session.commit()
    cert = certificates.issue(carl, after_end(ev, hours=1))
    db.session.commit()
    make_officer()
    with clock.frozen(after_end(ev, hours=2)), live_server_for(app) as base:
        page, problems = open_page(browser, WIDTHS[device])
        sign_in_officer(page, base)
        page.goto(f"{base}/manage/events/{ev.slug}/attendance/")
        row = page.locator(f"#sub-{carl.id}")
        expect(row).to_contain_text("80 min, 1.25 h")
        expect(row).to_contain_text("10 min, under the 68 min minimum")
        expect(row).to_contain_text("Joined, time not confirmed")
        expect(row.locator("td").nth(-2)).to_have_text("1.25")
        expect(page.get_by_text("A session counts after 75 % of each session")).to_be_visible()
        row.evaluate("e => e.scrollIntoView({block: 'center'})")
        shot(page, f"attendance-credit-{WIDTHS[device]}.png", full_page=False)
        page.goto(f"{base}/certificates/{cert.code}")
        expect(page.get_by_role("heading", name="This certificate is genuine")).to_be_visible()
        expect(page.locator("dl.certificate-facts")).to_contain_text("1.25")
        no_sideways_scroll(page)
        shot(page, f"certificate-verify-{WIDTHS[device]}.png", full_page=False)
    assert problems == []


@pytest.mark.browser
def test_chart_axis_text_is_readable_on_a_phone(app: Flask, browser: Browser) -> None:
    ev = series(title="Cataloging Now")
    for i in range(3):
        attended(register(ev, f"p{i}@example.org"), ev.active_sessions[0])
    make_officer()
    with live_server_for(app) as base:
        context = browser.new_context(viewport={"width": 390, "height": 900})
        page = context.new_page()
        sign_in_officer(page, base)
        page.goto(f"{base}/manage/events/{ev.slug}/attendance/")
        label = page.locator("figure.chart svg text").first
        expect(label).to_be_visible()
        height = label.bounding_box()["height"]  # type: ignore[index]
        assert height >= 9, height  # it was about 5 px
        no_sideways_scroll(page)
