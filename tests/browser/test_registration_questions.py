"""A real Chromium, at desktop and phone widths: an officer builds a form with a conditional
question and a sensitive one on the officer pages; a registrant sees the conditional question
appear only when their answer calls for it (static/js/questions.js, no inline script), sends
the form, and edits an answer from their preferences page; a form tampered with to answer a
hidden question is refused by the server; the officer sees the answers and the count per
choice. On the development server at both widths, and on the production one over HTTPS at a
phone's (tests/browser/helpers.py `Site`)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from forum.core.extensions import db
from forum.mail.links import preferences_url
from forum.models import FormAnswer, Participant
from tests.browser.helpers import WIDTHS, Site, on_backends, open_page, shot, sign_in_officer
from tests.support.live import make_event, make_officer
from tests.test_registration_questions import SESSIONS


def add_question(desk: Page, question: str, kind: str, said: str = "Question added.", **fill: str) -> None:
    """Add a question on the officer's questions page: `fill` maps a field's label to a
    value ("" ticks a checkbox, a label ending in "?" picks that option)."""
    new = desk.locator("form", has=desk.get_by_role("button", name="Add question"))
    new.get_by_label("Question", exact=True).fill(question)
    new.get_by_label("Kind").select_option(kind)
    for label, value in fill.items():
        field = new.get_by_label(label)
        if value == "":
            field.check()
        elif value.endswith(")"):
            field.select_option(label=value)
        else:
            field.fill(value)
    new.get_by_role("button", name="Add question").click()
    expect(desk.get_by_text(said)).to_be_visible()


@pytest.mark.browser
# Each width once on the development server, the production site on both databases (the
# width and the database are independent: tests/browser/helpers.py each_width_on_one_backend).
@on_backends(
    ("backend", "site", "width"),
    [
        ("sqlite", "dev-http", "desktop"),
        ("postgresql", "dev-http", "phone"),
        ("sqlite", "production-https", "phone"),
        ("postgresql", "production-https", "phone"),
    ],
    indirect=["site"],
)
def test_officer_builds_a_conditional_form_and_a_registrant_fills_it(
    browser: Browser, site: Site, width: str
) -> None:
    make_officer()
    make_event("webinars", SESSIONS, kind="series")
    base, size = site.base, WIDTHS[width]
    desk, problems = open_page(browser, size)
    sign_in_officer(desk, base)
    desk.goto(f"{base}/manage/events/webinars/questions")
    add_question(desk, "Do you need an accommodation?", "yesno")
    add_question(
        desk,
        "What would help you?",
        "long",
        "Shown only if “Do you need an accommodation?” is Yes",
        **{
            "An answer is required": "",
            "Show only if the answer to": "Do you need an accommodation? (Yes, No)",
            "is one of (one per line)": "Yes",
        },
    )
    add_question(desk, "Region", "choice", **{"Choices, one per line": "North\nSouth", "Sensitive": ""})
    shot(desk, f"registration-questions-officer-{width}.png")

    page, more = open_page(browser, size)
    problems += more
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
    other, _ = open_page(browser, size)
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
    page.goto(preferences_url(person))
    page.get_by_role("link", name="answers", exact=False).first.click()
    page.get_by_label("What would help you?").fill("Live captions and a transcript")
    page.get_by_role("button", name="Save", exact=False).first.click()
    expect(page.get_by_text("Your answers for Webinars are saved.")).to_be_visible()
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
