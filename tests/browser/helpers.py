"""What the browser tests share: the site they open (the development live server over HTTP,
or the production site over HTTPS: `Site`), a page with its Content-Security-Policy watch,
signing in, the dev mailbox, screenshots and layout checks.

The fixtures that hand these out (`browser`, `site`) are in tests/browser/conftest.py.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from forum.ce import attendance, evaluations
from forum.core.extensions import db
from forum.mail.sender import send_due
from forum.models import Subscription
from tests.conftest import BACKENDS
from tests.support.ce import attended
from tests.support.live import OFFICER_EMAIL, OFFICER_PASSWORD, live_server
from tests.support.production import TLSIdentity, production_site
from tests.support.smtp import SMTPServer, running_smtp_server

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"  # git-ignored
#: The two ways a journey meets the app: `make run`'s server in a thread over plain HTTP, and
#: the real `wsgi:app` under gunicorn with FORUM_ENV=production behind a TLS proxy
#: (PROXY_HOPS=1): secure cookies, the CSRF Referer check, rate limits, the page cache.
SERVERS = ("dev-http", "production-https")
WIDTHS = {"desktop": 1280, "phone": 390}


def each_width_on_one_backend(desktop: str = "sqlite") -> pytest.MarkDecorator:
    """Parametrize a layout journey's `backend` and `device` together: each width once, each
    backend once (desktop on `desktop`, the phone on the other one; both on SQLite when the run
    has no PostgreSQL).

    Equivalent to every width on every backend: the viewport changes nothing the server sees
    (the same requests, answered from the same rows with the same HTML), and the database
    changes nothing the layout checks measure (that HTML under the same CSS). So every
    assertion still runs at both widths and on both databases; what went is running the same
    requests a second time per backend at the other width (4 runs -> 2)."""
    phone = "postgresql" if desktop == "sqlite" else "sqlite"
    return on_backends(("backend", "device"), [(desktop, "desktop"), (phone, "phone")])


def on_backends(names: tuple[str, ...], rows: list[tuple[Any, ...]], **options: Any) -> pytest.MarkDecorator:
    """`pytest.mark.parametrize(names, rows)` where `names[0]` is "backend": a row on PostgreSQL
    runs on SQLite when the run has no PostgreSQL (a row that then repeats another is dropped)."""
    kept: list[tuple[Any, ...]] = []
    for backend, *rest in rows:
        row = (backend if backend in BACKENDS else "sqlite", *rest)
        if row not in kept:
            kept.append(row)
    return pytest.mark.parametrize(names, kept, **options)


@dataclass
class Site:
    """Where a journey runs: `base` is the site's address, and the test app's BASE_URL (and,
    for production, its SECRET_KEY) are the site's, so links made in the test or mailed work
    in the browser. Production mail goes to a real SMTP server (`smtp`)."""

    server: str
    base: str
    smtp: SMTPServer | None = None
    log: Path | None = None

    @property
    def production(self) -> bool:
        return self.server == "production-https"


@contextmanager
def live_server_for(app: Flask) -> Iterator[str]:
    """The development live server, with BASE_URL (so every link in mail) pointing at it."""
    with live_server(app) as base:
        app.config["BASE_URL"] = base
        app.extensions.pop("forum_url_adapter", None)  # web/urls.py caches the bound adapter
        yield base


@contextmanager
def site_for(app: Flask, server: str, tmp_path: Path, tls: TLSIdentity) -> Iterator[Site]:
    """Serve the test app's database as `server` (one of `SERVERS`). The production site's
    log must show no server error when the journey ends."""
    if server == "dev-http":
        with live_server_for(app) as base:
            yield Site(server, base)
        return
    with ExitStack() as stack:
        smtp = stack.enter_context(running_smtp_server())
        production = stack.enter_context(production_site(app, tmp_path, smtp.url, tls))
        yield Site(server, production.base_url, smtp, production.log)
    log = production.log.read_text()
    assert '" 500 ' not in log and "Traceback" not in log, log[-3000:]


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


def open_page(browser: Browser, width: int = 1280, height: int = 900, **context: Any) -> tuple[Page, list[str]]:
    """A page in a new browser context (its own cookies) at `width`, and the list its CSP
    refusals go to. The conftest closes every context after the test."""
    page = browser.new_context(viewport={"width": width, "height": height}, **context).new_page()
    return page, watch_for_csp_violations(page)


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


def deliver() -> None:
    """What the sender (scheduler) would do: queued mail goes out (the dev mailbox, or the
    production site's SMTP server)."""
    db.session.expire_all()
    send_due()


def evaluation_due(sub: Subscription) -> None:
    """`sub` attended every session of its series, and the officer made the certificate wait
    for the evaluation: the scheduler's CE sweep after the last session invites to it."""
    event = sub.event
    for session in event.active_sessions:
        attended(sub, session)
    attendance.settings_for(event, create=True).evaluation_required = True
    evaluations.create(event)
    db.session.commit()


def open_dev_mail(page: Page, base: str, to: str, subject: str) -> None:
    """Open, in the development mailbox (/dev/mail/), the newest mail to `to` with this subject."""
    page.goto(f"{base}/dev/mail/")
    expect(page.get_by_role("heading", name="Dev mailbox")).to_be_visible()
    page.get_by_role("row").filter(has_text=to).get_by_role("link", name=subject).first.click()
    expect(page.get_by_role("heading", level=1).first).to_have_text(subject)  # the mail may hold h1s too


def path_of(url: str) -> str:
    """The path (and query) of an absolute link built for mail, to open on the live server."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def shot(page: Page, name: str, *, full_page: bool = True) -> None:
    """A screenshot in test-artifacts/ (or FORUM_SCREENSHOTS: docs/screenshots/make.py)."""
    folder = Path(os.environ.get("FORUM_SCREENSHOTS") or ARTIFACTS)
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / name), full_page=full_page)


def no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{page.url} is {width}px wide"  # type: ignore[index]
