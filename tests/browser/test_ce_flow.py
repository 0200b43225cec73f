"""A participant's end of a webinar series in a real Chromium: the evaluation invitation in
the dev mailbox, the evaluation answered through its personal link, the name corrected on the
preferences page, and the certificate (which the officer made wait for the evaluation)
downloaded from there, its text read back from the PDF."""

from __future__ import annotations

from flask import Flask
from playwright.sync_api import Browser, expect
from pypdf import PdfReader
from sqlalchemy import select

from forum.ce import evaluations
from forum.core import clock
from forum.core.extensions import db
from forum.mail.sender import send_due
from forum.models import Certificate
from forum.scheduling.scheduler import run_job
from tests.browser.a11y import check, violations
from tests.browser.helpers import (
    evaluation_due,
    live_server_for,
    open_dev_mail,
    open_page,
    shot,
    sign_in_officer,
)
from tests.support.ce import after_end, attended, clicked, register, series
from tests.support.live import live_server, make_officer

NAME = "Nguyễn Thị Hoa"
EMAIL = "hoa@example.org"


def test_participant_answers_the_evaluation_and_downloads_the_certificate(
    app: Flask, browser: Browser
) -> None:
    ev = series(title="Cataloging Now")
    hoa = register(ev, EMAIL, "Hoa Nguyen")
    evaluation_due(hoa)

    with clock.frozen(after_end(ev, hours=2)), live_server_for(app) as base:
        run_job("ce")  # the scheduler's sweep after the last session: the invitation is queued
        db.session.expire_all()
        send_due()
        page, problems = open_page(browser, 1100, accept_downloads=True)

        open_dev_mail(page, base, EMAIL, "Evaluation: Cataloging Now — how was it?")
        page.locator(".prose").get_by_role("link", name="Answer the evaluation").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Evaluation: Cataloging Now")

        page.get_by_role(
            "group", name="1. How well did this webinar series meet: Apply RDA to print monographs?"
        ).get_by_label("4 – Very well").check()
        page.get_by_role("group", name="4. Would you recommend it to a colleague?").get_by_label(
            "Yes"
        ).check()
        page.get_by_label("5. What would you like us to change or offer next?").fill(
            "A session on authority records."
        )
        shot(page, "ce-1-evaluation.png")
        a11y = violations(page)
        page.get_by_role("button", name="Send my answers").click()
        expect(page.get_by_text("Thank you: your answers are saved.")).to_be_visible()
        expect(page.get_by_text("You have answered already")).to_be_visible()

        page.get_by_role("link", name="Your preferences and certificates").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Your subscriptions")
        page.get_by_label("Your name").fill(NAME)
        page.get_by_role("button", name="Save preferences").click()
        expect(page.get_by_role("status")).to_have_text("Your preferences are saved.")
        section = page.get_by_role("region", name="Certificates and evaluations")
        expect(section.get_by_role("link", name="Change your evaluation")).to_be_visible()
        shot(page, "ce-2-preferences.png")
        a11y += violations(page)
        with page.expect_download() as download_info:
            section.get_by_role(
                "link", name="Download your certificate of completion (PDF, 4.5 hours)"
            ).click()
        download = download_info.value
        assert download.suggested_filename.startswith(f"certificate-{ev.slug}-")
        text = "\n".join(p.extract_text() for p in PdfReader(download.path()).pages)
        code = db.session.scalars(select(Certificate.code)).one()
        check(page, f"{base}/certificates/{code}", a11y)
        expect(page.get_by_text(NAME)).to_be_visible()
    assert NAME in text and "Cataloging Now" in text and "Continuing-education hours: 4.5" in text
    assert problems == []
    assert a11y == []
    db.session.expire_all()
    assert evaluations.has_answered(hoa)


def test_officer_ce_pages_are_accessible_and_keep_to_the_csp(app: Flask, browser: Browser) -> None:
    ev = series(title="Cataloging Now")
    people = [register(ev, f"p{i}@example.org", f"Person {i}") for i in range(4)]
    for i, sub in enumerate(people):
        for j, session in enumerate(ev.active_sessions):
            if (i + j) % 3 == 1:
                attended(sub, session, 60 + 10 * i)  # 60 minutes is under the minimum: every state shows
            elif (i + j) % 3 == 2:
                clicked(sub, session)
    evaluation = evaluations.create(ev)
    db.session.commit()
    first, choice = evaluation.questions[0], evaluation.questions[3]
    with clock.frozen(after_end(ev, hours=1)):
        for i, sub in enumerate(people[:3]):
            evaluations.save_response(evaluation, sub, {f"q{first.id}": str(3 + i), f"q{choice.id}": "Yes"})
    db.session.commit()
    make_officer()
    a11y: list[str] = []
    with live_server(app) as base:
        page, problems = open_page(browser, 1100)
        sign_in_officer(page, base)
        check(page, f"{base}/manage/events/{ev.slug}/attendance/", a11y)
        expect(page.get_by_role("img", name="Registered and attended per session")).to_be_visible()
        page.get_by_text("Registered and attended per session as a table").click()
        expect(page.get_by_role("row", name="3/5/2030 4 1")).to_be_visible()
        shot(page, "ce-3-attendance.png")
        # mark a registrant present by hand, on the page
        page.get_by_role("button", name="Mark p0@example.org present for the whole session on 3/5/2030").click()
        expect(page.get_by_role("status").first).to_contain_text("Person 0 is marked present")
        a11y += violations(page)
        check(page, f"{base}/manage/events/{ev.slug}/evaluation", a11y)
        check(page, f"{base}/manage/events/{ev.slug}/evaluation/results", a11y)
        expect(page.get_by_text("3 responses from 4 registrants: a response rate of 75%.")).to_be_visible()
        shot(page, "ce-4-results.png")
    assert a11y == [], "\n".join(a11y)
    assert problems == []
