"""WCAG 2.2 AA in a real Chromium, at a desktop and a phone width, on every page a visitor,
a participant and an officer can reach: axe-core with every WCAG A/AA rule and every
impact counted (`violations` of tests/browser/a11y.py), and a check that no
page of the app was left out of the walk.

The walk follows links as a user would (same origin, GET, pages that answer HTML), one
page per view and kind of event, from the home page, the pages only mail links to (signed
links, the mentoring mail's among them), and the officer's dashboard. A view that was never reached fails the coverage
check unless `NOT_WALKED` says why (a file, not a page; or a page another browser test
checks with the same `violations`).
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urljoin, urlsplit

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page
from playwright.sync_api import Error as PlaywrightError
from werkzeug.exceptions import HTTPException

from forum.core.extensions import db
from forum.mentoring import applications, evaluations, outreach, pairs, programmes, stories
from forum.mentoring.demo import SLUG as MENTORING
from forum.models import Event, MentoringApplication, MentoringProgramme
from tests.browser.a11y import AXE, duplicate_ids, sign_in_checked, state_of, violations
from tests.browser.helpers import open_page, path_of
from tests.browser.test_accessibility import seed
from tests.support.live import live_server, make_officer

SKIP_PATHS = ("/logout", "/api/", "/static/", "/brand.css", "/login/sso")

FILE = "a file, not a page"
ELSEWHERE = "a page reached from mail; checked with the same rules by "
#: Views the walk does not reach by following links, and why.
NOT_WALKED: dict[str, str] = {
    "attendance.export": FILE,
    "attendance.certificate": FILE,
    "certificates.download": FILE,
    "devmail.download": FILE,
    "devmail.part": FILE,
    "discussion.export": FILE,
    "discussion_exports.feed": FILE,
    "discussion_exports.mbox": FILE,
    "evaluations.results_csv": FILE,
    "feeds.calendar_feed": FILE,
    "feeds.event_feed": FILE,
    "feeds.event_ics": FILE,
    "feeds.personal": FILE,
    "feeds.session_ics": FILE,
    "feeds.topic_feed": FILE,
    "subscribers.export": FILE,
    "captions.captions_file": FILE,
    "static": FILE,
    "branding.stylesheet": FILE,
    "evaluations.answer": ELSEWHERE + "tests/browser/test_ce_flow.py",
    "evaluations.results": ELSEWHERE + "tests/browser/test_ce_flow.py",
    "certificates.verify": ELSEWHERE + "tests/browser/test_ce_flow.py",
    "auth.second_factor": "the code step after a password, for accounts with a second factor; checked "
    "with the same rules by tests/browser/test_two_factor.py",
    "mentoring.apply": ELSEWHERE + "tests/browser/test_mentoring_cycle.py",
    "mentoring.checkin": ELSEWHERE + "tests/browser/test_mentoring_cycle.py",
    "mentoring_manage.cycle": ELSEWHERE + "tests/browser/test_mentoring_cycle.py",
    "mentoring_manage.matching_page": ELSEWHERE + "tests/browser/test_mentoring_cycle.py",
    "mentoring_manage.overview_csv": FILE,
}


def _key(app: Flask, path: str) -> tuple[str, str] | None:
    """(view, kind of event): an e-forum's and a series' pages differ, so both are walked."""
    try:
        endpoint, args = app.url_map.bind("localhost").match(path, method="GET")
    except HTTPException:
        return None
    kind = ""
    if args.get("slug"):
        with app.app_context():
            event = Event.by_slug(args["slug"])
            kind = ("eforum" if event.is_eforum else "webinar") if event else ""
    return str(endpoint), kind


def _links(page: Page) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
    return [urljoin(page.url, h) for h in hrefs if h and not h.startswith(("mailto:", "tel:", "#"))]


def mentoring_links() -> list[str]:
    """The pages only mentoring mail links to, each in the state its mail finds it: a minor's
    application whose address is not confirmed yet, one waiting for the guardian's permission
    (and that applicant's own page), and a "tell me when applications open" confirmation."""
    programme = MentoringProgramme.by_slug(MENTORING)
    assert programme is not None
    cycle = programmes.current_cycle(programme)
    assert cycle is not None
    minor = {
        "name": "Kit Young",
        "bio": "Reads to the toddlers on Saturdays.",
        "timezone": "America/Chicago",
        "interests": "storytime",
        "adult": False,
        "guardian_name": "Pat Young",
        "guardian_email": "pat@example.org",
        "guardian_address": "12 Elm Street\nSpringfield",
    }
    unconfirmed = applications.apply(cycle, "mentee", "kit@example.org", minor, {}).application
    waiting = applications.apply(cycle, "mentee", "sam@example.org", {**minor, "name": "Sam Young"}, {}).application
    applications.confirm(waiting)  # a minor: now the guardian is asked
    watch = outreach.watch(programme, "watcher@example.org")
    db.session.commit()
    assert (unconfirmed.status, waiting.status) == ("pending", "guardian")
    # a pair of the demo's confirmed applicants: the evaluation and story pages their mail links to
    active = db.session.scalars(
        db.select(MentoringApplication).where(
            MentoringApplication.cycle_id == cycle.id, MentoringApplication.status == "active"
        )
    ).all()
    mentor = next(a for a in active if a.role == "mentor")
    mentee = next(a for a in active if a.role == "mentee")
    match = pairs.create_match(cycle, mentor, mentee)
    db.session.commit()
    return [
        path_of(applications.confirm_url(unconfirmed)),
        path_of(applications.guardian_url(waiting)),
        path_of(applications.manage_url(waiting)),
        path_of(outreach.watch_confirm_url(watch)),
        path_of(evaluations.personal_url(mentee, "midyear")),
        path_of(stories.story_url(match, mentor)),
    ]


def walk(
    page: Page,
    app: Flask,
    base: str,
    starts: Iterable[str],
    seen: dict[tuple[str, str], str],
    problems: list[str],
    states: dict[str, str],
    within: str = "",
) -> None:
    """Open every page reachable from `starts`, one per key (`_key`), and run axe-core on
    each page whose signature (`state_of`) is new: `states` maps the signatures checked so
    far to the page that was checked (the duplicate-id check runs on every page)."""
    queue = [base + path for path in starts]
    tried: set[str] = set()
    while queue:
        url = queue.pop(0)
        parts = urlsplit(url)
        if url in tried or parts.netloc != urlsplit(base).netloc:
            continue
        tried.add(url)
        if parts.path.startswith(SKIP_PATHS) or not parts.path.startswith(within):
            continue
        key = _key(app, parts.path)
        if key is None or key in seen or key[0] in NOT_WALKED:
            continue
        try:
            response = page.goto(url)
        except PlaywrightError:  # an attachment (a message part, an export) starts a download
            seen[key] = f"{url}: a download"
            continue
        seen[key] = url
        content_type = (response.headers.get("content-type") if response else "") or ""
        if response is None or response.status >= 400 or "text/html" not in content_type:
            problems.append(f"{url}: answered {response and response.status} {content_type} to a link")
            continue
        state = state_of(page)
        if state in states:  # the same template in the same state: axe-core would say the same
            problems.extend(duplicate_ids(page))
        else:
            states[state] = url
            problems.extend(violations(page, restore=False))  # the next page starts at this width
        queue.extend(_links(page))


@pytest.mark.browser
@pytest.mark.parametrize("backend", ["sqlite"])
def test_every_page_meets_wcag_22_aa_at_desktop_and_phone_widths(app: Flask, browser: Browser) -> None:
    make_officer()
    paths = seed()
    mentoring = mentoring_links()
    problems: list[str] = []
    seen: dict[tuple[str, str], str] = {}
    states: dict[str, str] = {}
    with live_server(app) as base:
        page, csp = open_page(browser, timezone_id="Europe/Berlin")
        page.context.add_init_script(AXE.axe_script)  # sent to Chromium once, not once a page
        visitor = ["/", "/certificates", "/preferences/new-link", "/events/mentoring/archive"]
        visitor += [f"{paths['series']}/subscribe", "/events/mentoring-in-technical-services/subscribe"]
        mailed = [paths[k] for k in ("confirm", "preferences", "unsubscribe", "join", "post", "transcript", "threads")]
        mailed += [f"/mentoring/{MENTORING}", f"/mentoring/{MENTORING}/worksheet", *mentoring]
        mailed += [paths[k] for k in ("pathway_confirm", "pathway_step", "pathway_leave", "invitation")]
        walk(
            page,
            app,
            base,
            [*visitor, *mailed, paths["preferences"] + "/erase", "/dev/mail/"],
            seen,
            problems,
            states,
        )
        sign_in_checked(page, base, [])
        cycle = programmes.current_cycle(MentoringProgramme.by_slug(MENTORING))  # type: ignore[arg-type]
        officer = [
            "/manage/",
            "/manage/mentoring/",
            f"/manage/mentoring/{MENTORING}",
            f"/manage/mentoring/{MENTORING}/cycles/{cycle.id}/evaluations/midyear",  # type: ignore[union-attr]
            f"/manage{paths['series']}/approvals",
            "/events/a-draft/delete",
            paths["announcement"],
        ]
        walk(page, app, base, officer, seen, problems, states)
    pages = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if "GET" in (rule.methods or ()) and not rule.rule.startswith(SKIP_PATHS)
    }
    missing = sorted(pages - {endpoint for endpoint, _kind in seen} - set(NOT_WALKED))
    print(f"{len(seen)} pages walked; axe-core ran on {len(states)} distinct states")  # noqa: T201 - -s shows it
    assert not problems, f"WCAG 2.2 AA violations on {len(seen)} pages:\n" + "\n".join(sorted(set(problems)))
    assert not missing, (
        "pages the walk never reached (link them, start the walk there, or say why):\n" + "\n".join(missing)
    )
    assert csp == [], "refused by the Content-Security-Policy:\n" + "\n".join(csp)
