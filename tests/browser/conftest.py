"""One Debian Chromium (via Playwright) for every browser test, and where screenshots go."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.support.live import OFFICER_EMAIL, OFFICER_PASSWORD

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"  # git-ignored
# Headless as root, with nothing reaching out to the network (this machine has none).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


def watch_for_csp_violations(page: Page) -> list[str]:
    """Collects what the Content-Security-Policy refused, and script errors, as they happen:
    a page that needed an inline script or style would silently lose it in production."""
    problems: list[str] = []
    page.on(
        "console",
        lambda msg: (
            problems.append(f"{page.url}: {msg.text}") if "Content Security Policy" in msg.text else None
        ),
    )
    page.on("pageerror", lambda error: problems.append(f"{page.url}: {error}"))
    return problems


def sign_in(page: Page, base: str, email: str = OFFICER_EMAIL, password: str = OFFICER_PASSWORD) -> None:
    """Sign in through the login form as a person would (the officer of tests.support.live by
    default); the caller checks where it lands."""
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def sign_in_officer(page: Page, base: str) -> None:
    """The officer signed in, on the events list."""
    sign_in(page, base)
    expect(page.get_by_role("heading", name="Events", exact=True)).to_be_visible()


def open_dev_mail(page: Page, base: str, to: str, subject: str) -> None:
    """Open, in the development mailbox (/dev/mail/), the mail to `to` with this subject."""
    page.goto(f"{base}/dev/mail/")
    page.get_by_role("row").filter(has_text=to).get_by_role("link", name=subject).click()
