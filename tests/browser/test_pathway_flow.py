"""A real Chromium: an officer builds a three-step learning pathway (two external resources
and a webinar series) and publishes it; a learner in Berlin finds it under its learning need,
follows it by email, confirms from the dev mailbox, and step 1 arrives there."""

from __future__ import annotations

from datetime import datetime

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from forum.core.extensions import db
from forum.mail import links
from forum.mail.sender import send_due
from forum.models import Participant
from forum.models.pathways import PathwayFollow
from forum.scheduling.scheduler import run_job
from tests.browser.a11y import violations
from tests.browser.helpers import live_server_for, open_dev_mail, open_page, shot
from tests.support.live import OFFICER_EMAIL, OFFICER_PASSWORD, make_event, make_officer

LEARNER = "learner@example.org"
TITLE = "New to technical services"


def deliver() -> None:
    db.session.expire_all()
    send_due()


def add_resource(page: Page, title: str, url: str, kind: str, minutes: str) -> None:
    form = page.locator("form[action$='/manage/pathways/resources']")
    form.get_by_label("Title").fill(title)
    form.get_by_label("Web address").fill(url)
    form.get_by_label("Kind").select_option(label=kind)
    form.get_by_label("Estimated minutes").fill(minutes)
    form.get_by_label("Topics").fill("cataloging, onboarding")
    form.get_by_role("button", name="Save resource").click()
    expect(page.get_by_text("Resource added.")).to_be_visible()


def build_pathway(page: Page, base: str) -> None:
    page.goto(f"{base}/manage/")
    page.get_by_label("Email").fill(OFFICER_EMAIL)
    page.get_by_label("Password").fill(OFFICER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Learning pathways").click()
    expect(page.get_by_role("heading", name="Learning pathways")).to_be_visible()

    page.get_by_role("navigation", name="Pathways").get_by_role("link", name="Learning needs").click()
    page.get_by_label("Learning need").fill(TITLE)
    page.get_by_role("button", name="Save learning need").click()
    expect(page.get_by_text("Learning need added.")).to_be_visible()

    page.get_by_role("navigation", name="Pathways").get_by_role("link", name="Resources").click()
    add_resource(
        page, "Cataloging vocabulary for beginners", "https://example.org/vocabulary", "Document", "20"
    )
    add_resource(page, "Authority records, a video tour", "https://example.org/authority", "Video", "15")

    page.get_by_role("navigation", name="Pathways").get_by_role("link", name="Pathways").click()
    page.get_by_role("link", name="New pathway").click()
    page.get_by_label("Title").fill(TITLE)
    page.get_by_label("Audience").fill("Staff in their first year in technical services")
    page.get_by_label(TITLE).check()
    page.get_by_role("button", name="Save pathway").click()
    expect(page.get_by_text("Pathway saved as a draft.")).to_be_visible()

    steps = [
        ("Document: Cataloging vocabulary for beginners", "The words you will hear every day.", "Start here"),
        ("Event: Cataloging Basics", "Watch it done, and ask questions live.", "Learn live"),
        ("Video: Authority records, a video tour", "Names and subjects under control.", "Practice"),
    ]
    for label, why, stage in steps:
        page.get_by_label("Resource").select_option(label=label)
        page.get_by_label("Why this step").fill(why)
        page.get_by_label("Stage").fill(stage)
        page.get_by_role("button", name="Add step").click()
        expect(page.get_by_text("Step added.")).to_be_visible()
    expect(page.locator("ol.manage-steps > li")).to_have_count(3)
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("Published: it is on /pathways now.")).to_be_visible()
    shot(page, "pathway-1-officer.png")


@pytest.mark.browser
def test_an_officer_builds_a_pathway_and_a_learner_gets_step_one_by_mail(
    app: Flask, browser: Browser
) -> None:
    make_officer()
    make_event("cataloging-basics", [(datetime(2030, 6, 4, 14), datetime(2030, 6, 4, 15))], kind="series")
    with live_server_for(app) as base:
        officer_page, problems = open_page(browser, 1100)
        build_pathway(officer_page, base)
        unreadable: list[str] = []
        for path in ("", "/needs", "/resources", "/gaps", "/new-to-technical-services"):
            officer_page.goto(f"{base}/manage/pathways{path}")
            unreadable += violations(officer_page)

        page, more = open_page(browser, 1100, timezone_id="Europe/Berlin")
        problems += more
        page.goto(f"{base}/")
        page.get_by_role("navigation", name="Site").get_by_role("link", name="Pathways").click()
        unreadable += violations(page)
        page.get_by_role("link", name="onboarding").click()
        expect(page.get_by_role("heading", name="Topic: onboarding (2 resources)")).to_be_visible()
        unreadable += violations(page)
        page.get_by_role("region", name="Start from where you are").get_by_role("link", name=TITLE).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
        expect(page.get_by_text("3 steps · about 95 minutes in all")).to_be_visible()
        expect(page.locator(".viewer-text").first).to_have_text(
            "8:00 PM–9:00 PM (Berlin)"
        )  # 2 PM in New York

        follow = page.get_by_role("region", name="Follow this pathway by email")
        expect(follow.get_by_label("Time zone")).to_have_value("Europe/Berlin")  # from the browser
        follow.get_by_label("Email address").fill(LEARNER)
        follow.get_by_label("Day of the week").select_option(label="Thursday")
        follow.get_by_label("Hour").select_option(label="8:00 AM")
        shot(page, "pathway-2-follow.png")
        unreadable += violations(page)
        follow.get_by_role("button", name="Follow by email").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox")

        deliver()
        open_dev_mail(page, base, LEARNER, f"Confirm: follow the pathway “{TITLE}”")
        page.get_by_role("link", name="Confirm that you want to follow it").click()
        unreadable += violations(page)
        page.get_by_role("button", name="Confirm and start").click()
        expect(page.get_by_role("status")).to_contain_text("You follow this pathway.")
        unreadable += violations(page)

        run_job("pathways")  # the scheduler's next sweep
        deliver()
        subject = f"{TITLE}, step 1 of 3: Cataloging vocabulary for beginners"
        open_dev_mail(page, base, LEARNER, subject)
        expect(page.get_by_role("heading", level=1).first).to_have_text(subject)
        expect(page.get_by_text("The words you will hear every day.").first).to_be_visible()
        shot(page, "pathway-3-step-mail.png")

        # progress and pace on the preferences page
        person = Participant.by_email(LEARNER)
        assert person is not None
        page.goto(links.preferences_url(person))
        section = page.get_by_role("region", name="Pathways")
        expect(section).to_contain_text("Step 1 of 3 mailed, 0 done; next step Thursday")
        unreadable += violations(page)
        shot(page, "pathway-4-preferences.png")
    assert problems == []
    assert unreadable == []
    db.session.expire_all()
    item = db.session.query(PathwayFollow).one()
    assert (item.status, item.position, item.weekday, item.hour, item.timezone) == (
        "active",
        1,
        3,
        8,
        "Europe/Berlin",
    )
