"""Under the site's Content-Security-Policy (no inline script or style), the discussion archive
still works in a real Chromium: its zone script (a static file now) reloads the page once in
the reader's own zone, and replies are indented by class, with nothing refused."""

from __future__ import annotations

import pytest
from flask import Flask
from playwright.sync_api import Browser, expect

from forum.core import clock
from forum.discussion import service as discussion
from tests.browser.helpers import open_page
from tests.support.discussion import LIST, OPEN_AT, make_forum, message, subscribe
from tests.support.live import live_server


@pytest.mark.browser
@pytest.mark.parametrize("backend", ["sqlite"])
def test_archive_zone_script_and_reply_indentation_work_under_the_csp(app: Flask, browser: Browser) -> None:
    forum = make_forum(archive_public=True)
    subscribe(forum, "ann@example.org", "Ann Reader")
    subscribe(forum, "bo@example.org", "Bo Replier")
    with clock.frozen(OPEN_AT):
        first = discussion.receive(message(msgid="<first@example.org>"), LIST)
        reply = message(
            sender="bo@example.org",
            name="Bo Replier",
            subject="Re: Mentoring at small libraries",
            body="I have.",
            headers={"In-Reply-To": "<first@example.org>", "References": "<first@example.org>"},
        )
        assert discussion.receive(reply, LIST).status == "accepted"
    thread_id = first.post.thread_id

    with live_server(app) as base:
        page, problems = open_page(browser, timezone_id="Europe/Berlin")
        response = page.goto(f"{base}/events/mentoring/archive")
        assert response is not None
        assert response.headers["content-security-policy"].startswith("default-src 'self'")
        page.wait_for_url("**/archive?tz=Europe%2FBerlin")  # the script picked the browser's zone
        expect(page.get_by_label("Times shown in")).to_have_value("Europe/Berlin")

        page.goto(f"{base}/events/mentoring/archive/threads/{thread_id}")
        reply_card = page.locator("article.post.depth-1")
        expect(reply_card).to_have_count(1)
        indent = reply_card.evaluate("el => getComputedStyle(el).marginLeft")
        assert indent == "12px"  # 0.75rem, from forum.css
    assert problems == []
