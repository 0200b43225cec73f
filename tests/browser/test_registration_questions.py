"""A real Chromium, at desktop and phone widths: an officer builds a form with a conditional
question and a sensitive one on the officer pages; a registrant sees the conditional question
appear only when their answer calls for it (static/js/questions.js, no inline script), sends
the form, and the officer sees the answers and the count per choice."""

from __future__ import annotations

import pytest
from flask import Flask
from playwright.sync_api import Browser, expect

from forum.core.extensions import db
from forum.models import FormAnswer
from tests.browser.conftest import watch_for_csp_violations
from tests.browser.test_subscriber_flow import live_server_for, shot
from tests.support.live import OFFICER_EMAIL, OFFICER_PASSWORD, make_event, make_officer
from tests.test_registration_questions import SESSIONS

WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.mark.browser
@pytest.mark.parametrize("width", list(WIDTHS))
def test_officer_builds_a_conditional_form_and_a_registrant_fills_it(
    app: Flask, browser: Browser, width: str
) -> None:
    make_officer()
    make_event("webinars", SESSIONS, kind="series")
    with live_server_for(app) as base:
        desk = browser.new_context(viewport=WIDTHS[width]).new_page()
        problems = watch_for_csp_violations(desk)
        desk.goto(f"{base}/manage/")
        desk.get_by_label("Email").fill(OFFICER_EMAIL)
        desk.get_by_label("Password").fill(OFFICER_PASSWORD)
        desk.get_by_role("button", name="Sign in").click()
        desk.goto(f"{base}/manage/events/webinars/questions")
        new = desk.locator("form", has=desk.get_by_role("button", name="Add question"))
        new.get_by_label("Question", exact=True).fill("Do you need an accommodation?")
        new.get_by_label("Kind").select_option("yesno")
        new.get_by_role("button", name="Add question").click()
        expect(desk.get_by_text("Question added.")).to_be_visible()
        new = desk.locator("form", has=desk.get_by_role("button", name="Add question"))
        new.get_by_label("Question", exact=True).fill("What would help you?")
        new.get_by_label("Kind").select_option("long")
        new.get_by_label("An answer is required").check()
        new.get_by_label("Show only if the answer to").select_option(
            label="Do you need an accommodation? (Yes, No)"
        )
        new.get_by_label("is one of (one per line)").fill("Yes")
        new.get_by_role("button", name="Add question").click()
        expect(desk.get_by_text("Shown only if “Do you need an accommodation?” is Yes")).to_be_visible()
        new = desk.locator("form", has=desk.get_by_role("button", name="Add question"))
        new.get_by_label("Question", exact=True).fill("Region")
        new.get_by_label("Kind").select_option("choice")
        new.get_by_label("Choices, one per line").fill("North\nSouth")
        new.get_by_label("Sensitive").check()
        new.get_by_role("button", name="Add question").click()
        expect(desk.get_by_text("Question added.")).to_be_visible()
        shot(desk, f"registration-questions-officer-{width}.png")

        page = browser.new_context(viewport=WIDTHS[width]).new_page()
        problems += watch_for_csp_violations(page)
        page.goto(f"{base}/events/webinars")
        form = page.get_by_role("region", name="Register", exact=True).locator("form")
        follow_up = form.get_by_label("What would help you?")
        expect(follow_up).to_be_hidden()  # no answer yet
        form.get_by_label("Yes").check()
        expect(follow_up).to_be_visible()
        form.get_by_label("No", exact=True).check()
        expect(follow_up).to_be_hidden()
        form.get_by_label("Yes").check()
        follow_up.fill("Live captions, please")
        expect(form.get_by_text("Prefer not to say")).to_be_visible()  # offered with a sensitive question
        form.get_by_label("Email address").fill(f"{width}@example.org")
        shot(page, f"registration-questions-form-{width}.png")
        form.get_by_role("button", name="Register").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox")
        assert db.session.scalar(db.select(db.func.count(FormAnswer.id))) == 2

        desk.goto(f"{base}/manage/events/webinars/answers")
        expect(desk.get_by_text("Live captions, please")).to_be_visible()
        tally = desk.get_by_role("region", name="Do you need an accommodation?")
        expect(tally.get_by_role("row", name="Yes 1")).to_be_visible()
        expect(desk.get_by_role("region", name="Region")).to_contain_text("Fewer than 5 people")
        shot(desk, f"registration-questions-answers-{width}.png")
    assert problems == []
