"""One Debian Chromium (via Playwright) per test process, a new context per test, and the
`site` a journey runs on (tests/browser/helpers.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, sync_playwright

from tests.browser.helpers import SERVERS, Site, site_for
from tests.support.production import TLSIdentity, tls_identity

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
def tls() -> TLSIdentity:
    """The production site's certificate, one per test process, so one browser trusts it."""
    return tls_identity()


@pytest.fixture(scope="session")
def browser(tls: TLSIdentity) -> Iterator[Browser]:
    """Chromium, trusting the production site's key as it would a real certificate (the page
    is a secure context, with the referrer rules of the real site)."""
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, f"--ignore-certificate-errors-spki-list={tls.spki}"]
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(autouse=True)
def _close_contexts(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every context a test opened is closed after it (its pages, cookies, memory)."""
    browser = request.getfixturevalue("browser") if "browser" in request.fixturenames else None
    yield
    for context in browser.contexts if browser else ():
        context.close()


@pytest.fixture(params=SERVERS)
def site(request: pytest.FixtureRequest, app: Flask, tmp_path: Path, tls: TLSIdentity) -> Iterator[Site]:
    """The journey's site: the development server over HTTP, then the production one over
    HTTPS (a test may name one or both with `indirect` parametrization)."""
    with site_for(app, request.param, tmp_path, tls) as opened:
        yield opened
