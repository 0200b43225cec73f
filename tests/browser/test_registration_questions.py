"""A real Chromium, at desktop and phone widths: an officer builds a form with a conditional
question and a sensitive one on the officer pages; a registrant sees the conditional question
appear only when their answer calls for it (static/js/questions.js, no inline script), sends
the form, and edits an answer from their preferences page; a form tampered with to answer a
hidden question is refused by the server; the officer sees the answers and the count per
choice."""

from __future__ import annotations

import pytest
from flask import Flask
from playwright.sync_api import Browser, expect

from forum.core.extensions import db
from forum.mail.links import preferences_url
from forum.models import FormAnswer, Participant
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

        # the server is the truth: a page whose script is bypassed to answer a hidden question
        # ("No", then the follow-up forced open) is refused with a message, and nothing stored
        other = browser.new_context(viewport=WIDTHS[width]).new_page()
        other.goto(f"{base}/events/webinars")
        form = other.get_by_role("region", name="Register", exact=True).locator("form")
        form.get_by_label("No", exact=True).check()
        expect(form.get_by_label("What would help you?")).to_be_hidden()
        form.get_by_label("Email address").fill(f"sneaky-{width}@example.org")
        form.evaluate(  # no input event: the page's script would hide and disable it again
            "f => f.querySelectorAll('[data-show-if]').forEach(e => { e.hidden = false;"
            " e.querySelectorAll('input, select, textarea').forEach(i => { i.disabled = false;"
            " if (i.tagName === 'TEXTAREA') i.value = 'Sneaked in'; }); })"
        )
        with other.expect_navigation():
            form.evaluate("f => HTMLFormElement.prototype.submit.call(f)")  # its button is named submit
        expect(other.get_by_role("heading", level=1)).not_to_have_text("Check your inbox")
        assert "does not apply to your earlier answers" in other.content()
        assert db.session.scalar(db.select(db.func.count(FormAnswer.id))) == 2

        # the registrant changes an answer from their preferences page (the link their mail carries)
        person = Participant.by_email(f"{width}@example.org")
        assert person is not None
        page.goto(base + "/" + preferences_url(person).split("/", 3)[3])
        page.get_by_role("link", name="answers", exact=False).first.click()
        page.get_by_label("What would help you?").fill("Live captions and a transcript")
        page.get_by_role("button", name="Save", exact=False).first.click()
        db.session.expire_all()
        assert "Live captions and a transcript" in [
            a.value for a in db.session.scalars(db.select(FormAnswer))
        ]

        desk.goto(f"{base}/manage/events/webinars/answers")
        expect(desk.get_by_text("Live captions and a transcript")).to_be_visible()
        tally = desk.get_by_role("region", name="Do you need an accommodation?")
        expect(tally.get_by_role("row", name="Yes 1")).to_be_visible()
        expect(tally.get_by_role("img", name="Do you need an accommodation?")).to_be_visible()  # the chart
        expect(desk.get_by_role("region", name="Region")).to_contain_text("Fewer than 5 people")
        shot(desk, f"registration-questions-answers-{width}.png")
    assert problems == []
