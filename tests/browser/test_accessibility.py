"""axe-core in a real Chromium: WCAG 2.2 AA on the pages' states a walk cannot reach (a form
with its field errors, a sign-in refused, a message in the dev mailbox), at a desktop and a
phone width, with the one checker every browser test uses (tests/browser/a11y.py); the walk
over every page is tests/browser/test_wcag.py, which starts from what `seed` makes.

The pages do not depend on the database backend, so this runs on SQLite only.
"""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from forum.common import topics
from forum.core import clock
from forum.core.extensions import db
from forum.demo import data as demo
from forum.discussion import service as discussion
from forum.mail import links
from forum.mail.sender import send_due
from forum.models import Announcement, Event, Pathway, Rsvp
from forum.pathways import follow
from forum.subscriptions import service
from forum.team import invitations, webhooks
from forum.webinars import captions, join_links, recordings
from tests.browser.a11y import check, sign_in_checked, violations
from tests.browser.helpers import open_page, path_of
from tests.support.discussion import LIST, OPEN_AT, make_forum, message, subscribe
from tests.support.live import live_server, make_officer
from tests.support.subscriptions import outbox, text_of


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
    series.topics = [topics.save_topic(None, name="Technical services")]  # the calendar's filter, topic pages
    db.session.commit()
    send_due()
    panelist = series.panelist_links[0].panelist
    recording = recordings.add_material(series.sessions[0], url="https://video.example.org/1", public=True)
    captions.set_captions(
        recording, captions_file=b"WEBVTT\n\n00:00.000 --> 00:02.000\nHello\n", transcript="Hello."
    )
    later = clock.now() + timedelta(days=30)
    announcement = Announcement(
        event=demo_forum,
        subject="Day one opens",
        body="Welcome.",
        timezone="America/New_York",
        send_wall=later.astimezone(ZoneInfo("America/New_York")).replace(tzinfo=None),
        send_at=later,
    )
    db.session.add(announcement)
    make_forum(slug="a-draft", title="A draft e-forum", status="draft")
    pathway = db.session.scalars(select(Pathway).where(Pathway.status == "published")).first()
    assert pathway is not None
    following = follow.follow(pathway, "ann@example.org")
    invitee = invitations.invite(series, "new-moderator@example.org", "moderator", by=None)
    webhooks.add_endpoint(series, "https://hooks.example.org/forum", ["registration.created"], by_id=None)
    webhooks.add_endpoint(None, "https://hooks.example.org/site", ["post.accepted"], by_id=None)  # site-wide
    db.session.commit()
    send_due()
    invitation = re.search(r"/invitation/[^\s\"<>]+", text_of(outbox("officer_invite", invitee.email)[0]))
    assert invitation is not None
    return {
        "announcement": f"/manage/events/{demo_forum.slug}/announcements/{announcement.id}",
        "threads": path_of(links.threads_url(member)),
        "transcript": path_of(captions.transcript_href(recording) or ""),
        "pathway_confirm": path_of(follow.confirm_url(following)),
        "pathway_step": path_of(follow.action_url(following, pathway.steps[0], "done")),
        "pathway_leave": path_of(follow.leave_url(following)),
        "invitation": invitation.group(0),
        "join": path_of(join_links.join_url(fan, series.sessions[0])),
        "post": path_of(links.post_url(member)),
        "series": f"/events/{series.slug}",
        "panelist": f"/panelists/{panelist.id}",
        "confirm": path_of(links.confirm_url(pending)),
        "preferences": path_of(links.preferences_url(member.participant)),
        "unsubscribe": path_of(links.unsubscribe_url(fan)),
    }


@pytest.mark.browser
@pytest.mark.parametrize("backend", ["sqlite"])
def test_form_states_meet_wcag_22_aa(app: Flask, browser: Browser) -> None:
    make_officer()
    paths = seed()
    problems: list[str] = []
    with live_server(app) as base:
        page, csp_problems = open_page(browser, timezone_id="Europe/Berlin")
        check(page, base + "/dev/mail/", problems)

        # a message in the dev mailbox
        page.get_by_role("link", name="Confirm your registration").first.click()  # the series pending one
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        problems.extend(violations(page))

        # the subscribe page, with field errors, then the answer
        check(page, f"{base}{paths['series']}/subscribe", problems)
        form = page.locator("main form")
        form.get_by_role("button", name="Register").click()  # a webinar series says Register
        expect(page.locator(".errors").first).to_be_visible()
        problems.extend(violations(page))
        form.get_by_label("Email address").fill("visitor@example.org")
        form.get_by_label("I have read and accept the code of conduct").check()
        form.get_by_role("button", name="Register").click()
        expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
        problems.extend(violations(page))

        sign_in_checked(page, base, problems)
    assert not problems, "accessibility violations:\n" + "\n".join(problems)
    assert csp_problems == [], "refused by the Content-Security-Policy:\n" + "\n".join(csp_problems)
