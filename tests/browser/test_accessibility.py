"""axe-core in a real Chromium on every kind of page a visitor, a subscriber and an officer
sees: no "serious" or "critical" accessibility violations (contrast, labels, names, ids...).

One browser for the module and one page load per URL; the pages do not depend on the
database backend, so this runs on SQLite only to keep the suite fast.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from forum.core import clock
from forum.core.extensions import db
from forum.demo import data as demo
from forum.discussion import service as discussion
from forum.mail import links
from forum.mail.sender import send_due
from forum.models import Event, Rsvp
from forum.subscriptions import service
from tests.browser.conftest import watch_for_csp_violations
from tests.support.discussion import LIST, OPEN_AT, make_forum, message, subscribe
from tests.support.live import OFFICER_EMAIL, OFFICER_PASSWORD, live_server, make_officer

BLOCKING = {"serious", "critical"}


def path_of(url: str) -> str:
    """The path (and query) of an absolute link built for mail, to open on the live server."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def seed() -> dict[str, str]:
    """Demo events, a discussion with an accepted and a held post, subscribers, mail sent;
    returns the paths of the pages that need ids or signed tokens."""
    demo.load()
    series = Event.by_slug("re-envisioning-technical-services")
    assert series is not None
    forum = make_forum(slug="mentoring", moderation="new")
    member = subscribe(forum, "ann@example.org", "Ann Reader", posts_approved=1)
    subscribe(forum, "new@example.org", "Nell Newcomer")
    fan = subscribe(series, "ann@example.org", "Ann Reader", mode="digest")
    with clock.frozen(OPEN_AT):
        assert discussion.receive(message(), LIST).status == "accepted"
        held = message(sender="new@example.org", name="Nell Newcomer", subject="Hello from a new member")
        assert discussion.receive(held, LIST).status == "held"
    demo_forum = Event.by_slug("mentoring-in-technical-services")
    assert demo_forum is not None
    answering = subscribe(demo_forum, "ann@example.org", "Ann Reader")
    for session, partstat in zip(demo_forum.sessions, ("accepted", "tentative"), strict=False):
        db.session.add(Rsvp(subscription_id=answering.id, session_id=session.id, partstat=partstat))
    pending = service.subscribe(series, "pending@example.org", name="Pat Pending", conduct_accepted=True)
    db.session.commit()
    send_due()
    panelist = series.panelist_links[0].panelist
    return {
        "series": f"/events/{series.slug}",
        "panelist": f"/panelists/{panelist.id}",
        "confirm": path_of(links.confirm_url(pending)),
        "preferences": path_of(links.preferences_url(member.participant)),
        "unsubscribe": path_of(links.unsubscribe_url(fan)),
    }


DUPLICATE_IDS = """() => {
  const seen = {};
  for (const el of document.querySelectorAll("[id]:not(input[type=hidden])")) {
    seen[el.id] = (seen[el.id] || 0) + 1;
  }
  return Object.keys(seen).filter((id) => seen[id] > 1);
}"""


def violations(page: Page, axe: Axe) -> list[str]:
    """One line per serious or critical violation: rule, impact, targets, help.

    Duplicate ids are checked here too: axe-core 4.12 no longer reports them, yet a label
    or aria-labelledby pointing at a duplicated id names the wrong element. Hidden inputs
    (every form's csrf_token) are left out: nothing can point at them."""
    found = axe.run(page).response["violations"]
    lines = [
        f"{page.url}: {v['id']} ({v['impact']}) at {[n['target'] for n in v['nodes']]}: "
        f"{v['help']} <{v['helpUrl']}>"
        for v in found
        if v["impact"] in BLOCKING
    ]
    duplicated = page.evaluate(DUPLICATE_IDS)
    if duplicated:
        lines.append(f"{page.url}: duplicate-id (serious) {duplicated}: ids must be unique on a page")
    return lines


def check(page: Page, axe: Axe, url: str, problems: list[str]) -> None:
    response = page.goto(url)
    assert response is not None and response.status == 200, f"{url} answered {response and response.status}"
    problems.extend(violations(page, axe))


def sign_in(page: Page, base: str, axe: Axe, problems: list[str]) -> None:
    check(page, axe, f"{base}/login", problems)
    page.get_by_label("Email").fill(OFFICER_EMAIL)
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("do not match an officer account")).to_be_visible()
    problems.extend(violations(page, axe))  # the sign-in page with its error
    page.get_by_label("Password").fill(OFFICER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Events", exact=True)).to_be_visible()


@pytest.mark.browser
@pytest.mark.parametrize("backend", ["sqlite"])
def test_pages_have_no_serious_accessibility_violations(app: Flask, browser: Browser) -> None:
    make_officer()
    paths = seed()
    axe = Axe()
    problems: list[str] = []
    with live_server(app) as base:
        context = browser.new_context(timezone_id="Europe/Berlin")
        page = context.new_page()
        csp_problems = watch_for_csp_violations(page)
        for path in (
            "/",
            "/events/mentoring-in-technical-services",
            paths["series"],
            paths["panelist"],
            "/events/mentoring/archive",
            paths["confirm"],
            paths["preferences"],
            paths["unsubscribe"],
            "/calendar",
            "/dev/mail/",  # last: the mailbox is read next
        ):
            check(page, axe, base + path, problems)

        # a message in the dev mailbox
        page.get_by_role("link", name="Confirm your registration").first.click()  # the series pending one
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        problems.extend(violations(page, axe))

        # the subscribe page, with field errors, then the answer
        check(page, axe, f"{base}{paths['series']}/subscribe", problems)
        form = page.locator("main form")
        form.get_by_role("button", name="Register").click()  # a webinar series says Register
        expect(page.locator(".errors").first).to_be_visible()
        problems.extend(violations(page, axe))
        form.get_by_label("Email address").fill("visitor@example.org")
        form.get_by_label("I have read and accept the code of conduct").check()
        form.get_by_role("button", name="Register").click()
        expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
        problems.extend(violations(page, axe))

        sign_in(page, base, axe, problems)
        for path in ("/manage/", "/manage/events/mentoring-in-technical-services"):
            check(page, axe, base + path, problems)
        expect(page.get_by_role("heading", name="Calendar answers")).to_be_visible()  # checked above
        for area in ("sessions", "panelists", "subscribers", "moderation", "announcements"):
            check(page, axe, f"{base}/manage/events/mentoring/{area}", problems)
        # registration questions (the demo series asks some), answers, approvals, presets
        for area in ("questions", "answers", "approvals"):
            check(page, axe, f"{base}/manage{paths['series']}/{area}", problems)
        check(page, axe, f"{base}/manage/presets", problems)
        check(page, axe, f"{base}/manage/topics", problems)
        check(page, axe, f"{base}/manage/events/mentoring/edit", problems)
        context.close()
    assert not problems, "accessibility violations:\n" + "\n".join(problems)
    assert csp_problems == [], "refused by the Content-Security-Policy:\n" + "\n".join(csp_problems)
