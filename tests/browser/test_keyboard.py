"""Keyboard only: subscribe, register, join and evaluate without a mouse, with the focus
visible on every element the Tab key reaches (WCAG 2.1.1 keyboard, 2.4.7 focus visible,
2.4.11 focus not obscured). No click, fill or check below: only Tab, Space, arrows,
typing and Enter, as a keyboard or switch user works. Each journey runs on the development
server and on the production one over HTTPS (tests/browser/helpers.py `Site`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from forum.ce import evaluations
from forum.core import clock
from forum.core.extensions import db
from forum.mail.sender import send_due
from forum.scheduling.scheduler import run_job
from forum.webinars import join_links
from tests.browser.helpers import Site, evaluation_due
from tests.support.ce import after_end, register, series
from tests.support.discussion import make_forum

ZOOM = "https://zoom.example.org/j/123456"

FOCUS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const cs = getComputedStyle(el);
  const rect = el.getBoundingClientRect();
  const label = el.labels && el.labels[0] ? el.labels[0].innerText : "";
  return {
    tag: el.tagName.toLowerCase(), type: el.getAttribute("type") || "",
    text: (el.getAttribute("aria-label") || label || el.innerText || el.value || "").trim().slice(0, 100),
    visible: el.matches(":focus-visible") && (cs.outlineStyle !== "none" || cs.boxShadow !== "none"),
    inView: rect.bottom > 0 && rect.top < window.innerHeight && rect.width > 0 && rect.height > 0,
  };
}"""


def tab_to(page: Page, wanted: Callable[[dict[str, Any]], bool], what: str, limit: int = 80) -> None:
    """Tab until `wanted` has the focus; every element passed on the way shows its focus."""
    passed: list[str] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        focus = page.evaluate(FOCUS)
        if focus is None:
            continue
        assert focus["visible"], f"no visible focus on {focus} at {page.url}"
        assert focus["inView"], f"the focused element is off screen: {focus} at {page.url}"
        if wanted(focus):
            return
        passed.append(f"{focus['tag']} {focus['text']!r}")
    raise AssertionError(f"Tab never reached {what} on {page.url}; passed: {passed}")


def named(text: str, tag: str | None = None) -> Callable[[dict[str, Any]], bool]:
    return lambda f: text.lower() in f["text"].lower() and (tag is None or f["tag"] == tag)


def submit(text: str) -> Callable[[dict[str, Any]], bool]:
    return lambda f: (f["tag"] == "button" or f["type"] == "submit") and text.lower() in f["text"].lower()


def field(kind: str) -> Callable[[dict[str, Any]], bool]:
    return lambda f: f["tag"] in ("input", "textarea") and f["type"] == kind


def sign_up(page: Page, button: str, conduct: bool = False) -> None:
    """Type an address into the sign-up form, accept the code of conduct if asked, send."""
    tab_to(page, field("email"), "the email field")
    page.keyboard.type("keys@example.org")
    if conduct:
        tab_to(page, lambda f: f["type"] == "checkbox" and "code of conduct" in f["text"].lower(), "conduct")
        page.keyboard.press("Space")
    tab_to(page, submit(button), button)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()


@pytest.mark.browser
def test_subscribe_to_an_e_forum_with_the_keyboard(browser: Browser, site: Site) -> None:
    make_forum(slug="keyboard-forum", title="Keyboard e-forum")
    page = browser.new_page(viewport={"width": 390, "height": 800})
    page.goto(f"{site.base}/events/keyboard-forum")
    tab_to(page, lambda f: f["tag"] in ("a", "button") and "subscribe" in f["text"].lower(), "Subscribe")
    page.keyboard.press("Enter")
    expect(page.get_by_label("Email address")).to_be_visible()
    sign_up(page, "Subscribe")


@pytest.mark.browser
def test_register_for_a_series_with_the_keyboard(browser: Browser, site: Site) -> None:
    series(title="Keyboard series", conduct_url="https://example.org/conduct")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{site.base}/events/cataloging-series/subscribe")
    sign_up(page, "Register", conduct=True)


@pytest.mark.browser
def test_join_a_session_from_the_mail_with_the_keyboard(browser: Browser, site: Site) -> None:
    event = series(title="Keyboard series")
    for session in event.sessions:
        session.join_url = ZOOM
    sub = register(event, "keys@example.org", "Kay Board")
    db.session.commit()
    first = event.sessions[0]
    opened: list[str] = []

    def platform(route: Route) -> None:  # the platform is outside this machine: answer for it
        opened.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<title>Zoom</title><h1>Zoom</h1>")

    with clock.frozen(first.starts_at - timedelta(minutes=5)):
        page = browser.new_page(viewport={"width": 390, "height": 800})
        page.route("https://zoom.example.org/**", platform)
        page.goto(f"{site.base}/events/cataloging-series")  # a page holding the personal link, as mail does
        link = join_links.join_url(sub, first)
        page.set_content(f'<main><h1>Reminder</h1><p><a href="{link}">Join the session</a></p></main>')
        tab_to(page, named("Join the session", "a"), "the join link")
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="Zoom")).to_be_visible()
    assert opened == [ZOOM]


@pytest.mark.browser
def test_answer_the_evaluation_with_the_keyboard(browser: Browser, site: Site) -> None:
    event = series(title="Keyboard series")
    sub = register(event, "keys@example.org", "Kay Board")
    evaluation_due(sub)
    with clock.frozen(after_end(event, hours=2)):
        run_job("ce")
        db.session.expire_all()
        send_due()
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(evaluations.personal_url(sub))  # the mail's link: BASE_URL is the site
        expect(page.get_by_role("heading", level=1)).to_have_text("Evaluation: Keyboard series")
        tab_to(page, lambda f: f["type"] == "radio", "the first rating")
        page.keyboard.press("ArrowRight")  # radios in a group move with the arrows
        page.keyboard.press("ArrowRight")
        tab_to(page, lambda f: f["tag"] == "textarea", "a comment")
        page.keyboard.type("More on authority records, please.")
        tab_to(page, lambda f: f["tag"] == "button" and "send my answers" in f["text"].lower(), "Send")
        page.keyboard.press("Enter")
        expect(page.get_by_text("Thank you: your answers are saved.")).to_be_visible()
    db.session.expire_all()
    assert evaluations.has_answered(sub)
