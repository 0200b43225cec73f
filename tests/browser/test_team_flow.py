"""A real Chromium: an officer signs in through the organisation's OpenID provider (a real
one, started here on localhost), and a refused domain is told why; an invited moderator
approves held posts of their forum and is refused another event's registrants."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
import requests
from flask import Flask
from oidc_provider_mock import run_server_in_thread
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from forum.core import clock
from forum.core.extensions import db
from forum.discussion import service as discussion
from forum.models import AuditEntry, Officer
from forum.team import roles
from tests.browser.helpers import sign_in, watch_for_csp_violations
from tests.support.api import make_event
from tests.support.discussion import LIST, OPEN_AT, make_forum, message, subscribe
from tests.support.live import live_server, make_officer

DAYS = [(datetime(2030, 9, 10, 10), datetime(2030, 9, 10, 18))]


@pytest.fixture
def provider() -> Iterator[str]:
    with run_server_in_thread() as server:
        yield f"http://localhost:{server.server_port}"


@pytest.mark.browser
def test_sign_in_through_the_organisations_provider_and_a_refused_domain(
    app: Flask, browser: Browser, provider: str
) -> None:
    app.config.update(
        OIDC_ISSUER=provider,
        OIDC_CLIENT_ID="forum",
        OIDC_CLIENT_SECRET="s3cret",
        OIDC_ALLOWED_DOMAINS="example.org",
    )
    for sub, email in (("ann", "ann@example.org"), ("bob", "bob@elsewhere.net")):
        requests.put(f"{provider}/users/{sub}", json={"email": email, "email_verified": True}, timeout=10)
    with live_server(app) as base:
        page = browser.new_page()
        problems = watch_for_csp_violations(page)
        page.goto(f"{base}/login")
        page.get_by_role("link", name="Sign in with your organisation’s account").click()
        page.locator("input[name=sub]").fill("ann")
        page.get_by_role("button", name="Authorize").click()
        expect(page.get_by_text("Signed in as ann@example.org.")).to_be_visible()
        expect(page.get_by_role("heading", name="Events", exact=True)).to_be_visible()
        context = browser.new_context()
        other = context.new_page()
        other.goto(f"{base}/login")
        other.get_by_role("link", name="Sign in with your organisation’s account").click()
        other.locator("input[name=sub]").fill("bob")
        other.get_by_role("button", name="Authorize").click()
        expect(other.get_by_role("alert")).to_have_text("Addresses at elsewhere.net may not sign in here.")
        context.close()
        assert problems == []
    assert Officer.by_email("bob@elsewhere.net") is None


@pytest.mark.browser
def test_an_invited_moderator_moderates_one_forum_and_is_refused_another_events_registrants(
    app: Flask, browser: Browser
) -> None:
    forum = make_forum(moderation="all")
    subscribe(forum, "ann@example.org", "Ann")
    with clock.frozen(OPEN_AT):
        discussion.receive(message(subject="Please approve"), LIST)
    make_event("metadata-series", DAYS, kind="series")
    moderator = make_officer("mod@example.org", "moderator password")
    moderator.is_admin = False
    roles.grant(forum, moderator, "moderator", by=None)
    db.session.commit()
    with live_server(app) as base:
        page = browser.new_page()
        sign_in(page, base, "mod@example.org", "moderator password")
        expect(page.get_by_role("link", name="Mentoring in Technical Services")).to_be_visible()
        expect(page.get_by_role("link", name="Metadata Series")).to_have_count(0)
        page.get_by_role("link", name="Mentoring in Technical Services").click()
        tabs = page.get_by_role("navigation", name="This event")
        expect(tabs.get_by_role("link", name="Subscribers")).to_have_count(0)
        tabs.get_by_role("link", name="Moderation").click()
        expect(page.get_by_role("heading", name="Posts waiting for a moderator")).to_be_visible()
        with clock.frozen(OPEN_AT):
            page.get_by_role("button", name="Approve and send").click()
            expect(page.get_by_text("Approved “Please approve”; it was sent to the list.")).to_be_visible()
        expect(page.get_by_role("button", name="Approve and send")).to_have_count(0)
        answer = page.goto(f"{base}/manage/events/metadata-series/subscribers")
        assert answer is not None and answer.status == 403
        expect(page.get_by_text("Your role does not allow this on “Metadata Series”")).to_be_visible()
    db.session.expire_all()
    [approval] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "post.accepted")).all()
    assert (approval.actor, approval.via, approval.changes) == (
        "mod@example.org",
        "web",
        {"status": ["held", "accepted"]},
    )


@pytest.mark.browser
def test_a_ce_reviewer_sees_attendance_and_cannot_edit_sessions(app: Flask, browser: Browser) -> None:
    series = make_event("cataloging-series", DAYS, kind="series")
    reviewer = make_officer("ce@example.org", "reviewer password")
    reviewer.is_admin = False
    roles.grant(series, reviewer, "ce_reviewer", by=None)
    db.session.commit()
    session_id = series.sessions[0].id
    with live_server(app) as base:
        page = browser.new_page()
        sign_in(page, base, "ce@example.org", "reviewer password")
        page.get_by_role("link", name="Cataloging Series").click()
        tabs = page.get_by_role("navigation", name="This event")
        expect(tabs.get_by_role("link", name="Details")).to_have_count(0)
        expect(tabs.get_by_role("link", name="Team")).to_have_count(0)
        tabs.get_by_role("link", name="Attendance").click()
        expect(page.get_by_role("heading", name="Attendance and CE hours")).to_be_visible()
        answer = page.goto(f"{base}/manage/events/cataloging-series/sessions/{session_id}")
        assert answer is not None and answer.status == 403
        expect(page.get_by_text("Your role does not allow this on “Cataloging Series”")).to_be_visible()
