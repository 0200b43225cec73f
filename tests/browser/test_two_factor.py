"""A real Chromium: an officer turns on two-step sign-in (the QR code shows under the CSP, the
secret beside it), keeps the recovery codes, and the next sign-in asks for a code; on the
development server and on the production one over HTTPS (secure cookies: the password step
must carry over to the code step)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from playwright.sync_api import Browser, expect

from forum.core import clock
from tests.browser.a11y import violations
from tests.browser.helpers import Site, open_page, sign_in
from tests.support.live import make_officer

AT = datetime(2030, 5, 6, 9, 0, 10, tzinfo=UTC)


@pytest.mark.browser
def test_an_officer_turns_on_two_step_sign_in_and_then_needs_a_code(browser: Browser, site: Site) -> None:
    make_officer("two@example.org", "a long enough password")
    base = site.base
    with clock.frozen(AT):
        page, problems = open_page(browser)
        sign_in(page, base, "two@example.org", "a long enough password")
        page.get_by_role("link", name="Your account’s two-step sign-in").click()
        page.get_by_role("button", name="Set up two-step sign-in").click()
        expect(page.get_by_role("img", name="QR code of your sign-in secret")).to_be_visible()
        assert violations(page) == []  # the enrolment page, with its QR code
        secret = page.locator("p code").first.inner_text()
        code = pyotp.TOTP(secret).at(int(AT.timestamp()))
        page.get_by_label("Code from your authenticator app").fill(code)
        page.get_by_role("button", name="Confirm and turn on").click()
        expect(page.get_by_role("heading", name="Two-step sign-in is on")).to_be_visible()
        expect(page.locator("ul.recovery-codes li")).to_have_count(10)
        page.get_by_role("button", name="Sign out").click()
        later = AT + timedelta(seconds=30)
        with clock.frozen(later):
            sign_in(page, base, "two@example.org", "a long enough password")
            expect(page.get_by_role("heading", name="Two-step sign-in")).to_be_visible()
            page.get_by_label("Code from your authenticator app, or a recovery code").fill("000000")
            page.get_by_role("button", name="Verify and sign in").click()
            expect(
                page.get_by_text("That code does not match, or it was used already.", exact=True)
            ).to_be_visible()
            field = page.get_by_label("Code from your authenticator app, or a recovery code")
            field.fill(pyotp.TOTP(secret).at(int(later.timestamp())))
            page.get_by_role("button", name="Verify and sign in").click()
            expect(page.get_by_text("Signed in as two@example.org.")).to_be_visible()
        assert problems == []
