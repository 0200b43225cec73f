"""A whole mentoring cycle in a real Chromium, with a frozen clock: the window opens; a mentor
and two mentees apply on a phone (one mentee under 18, whose guardian confirms); the window
closes; the officer, on a laptop, accepts one suggestion and sees the other mentee unmatched
with the reason; the pair gets its introduction with both local times; the first monthly
check-in reaches each person at their own hour in their zone; a one-click answer is recorded;
the end-of-year certificate is mailed to both. On the development server and on the production
one over HTTPS (tests/browser/helpers.py `Site`)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.sync_api import Browser, Page, expect

from forum.core import clock
from forum.core.extensions import db
from forum.models import MentoringCheckIn, MentoringMatch
from forum.scheduling.scheduler import run_job
from tests.browser.a11y import violations
from tests.browser.helpers import Site, open_page, shot, sign_in_officer
from tests.support.live import make_officer
from tests.support.mentoring import SLUG, make_cycle, make_programme, members
from tests.support.subscriptions import link_in, outbox, parsed, text_of

OPENED = datetime(2027, 3, 1, 16, 0, tzinfo=UTC)  # 10 AM in Chicago, the window's first hour
CLOSED = datetime(2027, 3, 29, 14, 0, tzinfo=UTC)
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 900}


def apply(
    page: Page, base: str, role: str, email: str, name: str, zone: str, hour: str, **extra: str
) -> None:
    page.goto(f"{base}/mentoring/{SLUG}")
    page.get_by_role("link", name=f"Apply as a {role}").click()
    page.get_by_label("Email address", exact=True).fill(email)
    page.get_by_label("Your name").fill(name)
    page.get_by_label("A few lines about you").fill(f"{name} works with children and teens.")
    page.locator("select#timezone").select_option(zone)
    page.get_by_label("Hour for your monthly check-in mail").select_option(label=hour)
    page.get_by_label("Interests and specialties").fill(extra.pop("interests", "storytime"))
    page.get_by_label("Weekday evenings").check()
    if role == "mentor":
        page.get_by_label("Career stage").select_option("senior")
        page.get_by_label("Member number").fill(extra.pop("member_number"))
    elif "guardian" in extra:
        page.get_by_label("I am 18 or older").uncheck()
        page.get_by_label("Parent's or guardian's name").fill(extra.pop("guardian"))
        page.get_by_label("Parent's or guardian's email address").fill(extra.pop("guardian_email"))
        page.get_by_label("Parent's or guardian's postal address").fill("12 Elm Street\nSpringfield")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()


def confirm(page: Page, kind: str, email: str, path: str, button: str) -> None:
    """Open the link of the newest mail of `kind` to `email` (BASE_URL is the site) and press."""
    page.goto(link_in(outbox(kind, recipient=email)[-1], path))
    page.get_by_role("button", name=button).click()


@pytest.mark.browser
def test_a_whole_mentoring_cycle(browser: Browser, site: Site) -> None:
    make_officer()
    programme = make_programme()
    make_cycle(programme)
    members("M-2044")
    unreadable: list[str] = []
    base = site.base
    page, problems = open_page(browser, PHONE["width"], PHONE["height"], timezone_id="America/New_York", is_mobile=True)
    with clock.frozen(OPENED):
        page.goto(f"{base}/mentoring/{SLUG}")
        expect(page.get_by_text("Applications are open for both mentors and mentees.")).to_be_visible()
        expect(
            page.get_by_text("They close Friday, 3/26/2027, 6:00 PM EDT")
        ).to_be_visible()  # the phone's zone
        unreadable += violations(page)
        shot(page, "mentoring-1-public-390.png")
        apply(
            page,
            base,
            "mentor",
            "paula@example.org",
            "Paula Holmes",
            "America/Los_Angeles",
            "9:00 AM",
            member_number="m 2044",
            interests="storytime, stem",
        )
        apply(page, base, "mentee", "marlowe@example.org", "Marlowe Park", "Europe/London", "6:00 PM")
        apply(
            page,
            base,
            "mentee",
            "kit@example.org",
            "Kit Young",
            "America/New_York",
            "4:00 PM",
            interests="teens",
            guardian="Pat Young",
            guardian_email="pat@example.org",
        )
        page.goto(f"{base}/mentoring/{SLUG}/apply/mentee")
        unreadable += violations(page)
        for email in ("paula@example.org", "marlowe@example.org", "kit@example.org"):
            confirm(page, "mentoring-confirm", email, "/mentoring/confirm/", "Confirm my application")
            expect(page.get_by_role("heading", name="Your application")).to_be_visible()
        expect(page.get_by_text("Waiting for your parent's or guardian's permission.")).to_be_visible()
        confirm(
            page,
            "mentoring-guardian",
            "pat@example.org",
            "/mentoring/guardian/",
            "I give my permission",
        )
        expect(page.get_by_text("Kit Young's application now counts.")).to_be_visible()
        shot(page, "mentoring-2-guardian-390.png")

    officer, more_problems = open_page(browser, LAPTOP["width"], LAPTOP["height"])
    problems += more_problems
    with clock.frozen(CLOSED):
        sign_in_officer(officer, base)
        officer.goto(f"{base}/manage/mentoring/{SLUG}")
        officer.get_by_role("link", name="Spring 2027").click()
        expect(officer.get_by_text("Mentors : mentees")).to_be_visible()
        unreadable += violations(officer)
        officer.get_by_role("link", name="Matching").click()
        row = officer.get_by_role("row", name="Marlowe Park")
        expect(row.get_by_text("shared interests: storytime")).to_be_visible()
        expect(
            officer.get_by_role("row", name="Kit Young").get_by_text(
                "Unmatched: not enough mentors: 2 mentees for 1 place"
            )
        ).to_be_visible()
        unreadable += violations(officer)
        shot(officer, "mentoring-3-matching-1280.png")
        officer.get_by_role("button", name="Confirm these matches and send introductions").click()
        expect(
            officer.get_by_text("1 matches confirmed; each pair has its introduction.")
        ).to_be_visible()
        expect(
            officer.get_by_text("Kit Young: not enough mentors: no mentor has a place left")
        ).to_be_visible()

    intro = text_of(outbox("mentoring-intro", recipient="marlowe@example.org")[0])
    assert "Your mentor is Paula Holmes." in intro
    assert "You: Europe/London, where it is now Monday, 3/29/2027, 3:00 PM BST" in intro
    assert "Paula Holmes: America/Los_Angeles, where it is now Monday, 3/29/2027, 7:00 AM PDT" in intro
    assert len(outbox("mentoring-intro", recipient="paula@example.org")) == 1
    assert outbox("mentoring-intro", recipient="kit@example.org") == []

    # the first monthly check-in: 9 AM in Los Angeles is 16:00 UTC, 6 PM in London 17:00 UTC
    with clock.frozen(datetime(2027, 4, 29, 16, 0, tzinfo=UTC)):
        run_job("mentoring")
    assert [m.recipient for m in outbox("mentoring-checkin")] == ["paula@example.org"]
    with clock.frozen(datetime(2027, 4, 29, 17, 0, tzinfo=UTC)):
        run_job("mentoring")
        checkin = outbox("mentoring-checkin", recipient="marlowe@example.org")[0]
        page.goto(link_in(checkin, "answer=going-well"))
        expect(page.get_by_label("How is it going?")).to_have_value("going-well")
        unreadable += violations(page)
        page.get_by_label("A note for the organisers (optional)").fill("We met on Zoom.")
        page.get_by_role("button", name="Send").click()
        expect(page.get_by_text("Your answer is recorded")).to_be_visible()
        shot(page, "mentoring-4-checkin-390.png")
    db.session.expire_all()
    answered = db.session.scalar(db.select(MentoringCheckIn).where(MentoringCheckIn.answer.is_not(None)))
    assert (answered.answer, answered.note) == ("going-well", "We met on Zoom.")

    match = db.session.scalar(db.select(MentoringMatch))
    with clock.frozen(match.ends_at):
        run_job("mentoring")
    certificates = outbox("mentoring-certificate")
    assert sorted(m.recipient for m in certificates) == ["marlowe@example.org", "paula@example.org"]
    assert any(
        p.get_content_type() == "application/pdf" for p in parsed(certificates[0]).iter_attachments()
    )
    # whoever is shown the certificate checks its code on the public page (on the production
    # site too: its web process registers the mentoring finder, tests/test_registrations.py)
    mailed = next(m for m in certificates if m.recipient == "marlowe@example.org")
    page.goto(link_in(mailed, "/certificates/"))
    expect(page.get_by_role("heading", name="This certificate is genuine")).to_be_visible()
    expect(page.get_by_text("Marlowe Park")).to_be_visible()
    assert problems == []
    assert unreadable == []
