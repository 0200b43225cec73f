"""Security headers: a strict CSP and friends on pages; signed-token pages are neither stored
nor sent on as a Referer to another site; the officer area is never stored; feeds and the API get nosniff."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from forum.mail.links import preferences_url, unsubscribe_url
from tests.support.live import make_event, make_officer, sign_in, subscribe

REPO = Path(__file__).resolve().parents[1]
DAY = [(datetime(2031, 5, 6, 10, 0), datetime(2031, 5, 6, 16, 0))]


def csp(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The Content-Security-Policy as {directive: sources}."""
    policy = response.headers["Content-Security-Policy"]
    return dict((part.strip().split(" ", 1) + [""])[:2] for part in policy.split(";") if part.strip())


def path_of(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def test_a_public_page_has_the_site_policy(client: FlaskClient) -> None:
    make_event("open-forum", DAY)
    for url in ("/", "/events/open-forum"):
        response = client.get(url)
        assert response.status_code == 200
        policy = csp(response)
        assert policy["default-src"] == "'self'"
        assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
        assert policy["img-src"] == "'self' https: data:"  # panelist photos are remote
        assert policy["frame-ancestors"] == "'none'"
        assert policy["form-action"] == "'self'"
        assert policy["base-uri"] == "'none'"
        assert policy["object-src"] == "'none'"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert "no-store" not in response.headers.get("Cache-Control", "")
        assert "Strict-Transport-Security" not in response.headers  # not production, not https


def test_token_pages_are_not_stored_and_send_no_referer_to_other_sites(app: Flask, client: FlaskClient) -> None:
    event = make_event("token-forum", DAY)
    sub = subscribe(event, "reader@example.org")
    with app.test_request_context():
        urls = [preferences_url(sub.participant), unsubscribe_url(sub)]
    for url in urls:
        response = client.get(path_of(url))
        assert response.status_code == 200, url
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert response.headers["Cache-Control"] == "no-store"
        assert csp(response)["default-src"] == "'self'"
    # a bad token is still a token in the URL
    response = client.get("/preferences/not-a-real-token")
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cache-Control"] == "no-store"


def test_the_officer_area_is_never_stored(client: FlaskClient) -> None:
    make_officer()
    sign_in(client)
    response = client.get("/manage/")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert csp(response)["script-src"] == "'self'"


def test_feeds_and_the_api_get_nosniff(client: FlaskClient) -> None:
    event = make_event("feed-forum", DAY)
    sub = subscribe(event, "feeder@example.org")
    feed = client.get(f"/events/{event.slug}.ics")
    assert feed.status_code == 200 and feed.mimetype == "text/calendar"
    assert feed.headers["X-Content-Type-Options"] == "nosniff"
    assert feed.headers["Cache-Control"] == "public, no-cache"  # the feed's own, for revalidation

    personal = client.get(f"/feeds/{sub.participant.feed_token}.ics")
    assert personal.status_code == 200
    assert personal.headers["X-Content-Type-Options"] == "nosniff"
    assert personal.headers["Referrer-Policy"] == "same-origin"
    assert "public" not in personal.headers["Cache-Control"]

    api = client.get("/api/v1/events")
    assert api.status_code == 200 and api.is_json
    assert api.headers["X-Content-Type-Options"] == "nosniff"
    assert api.get_json()[0]["slug"] == "feed-forum"


def test_hsts_only_in_production_over_https(app: Flask, client: FlaskClient) -> None:
    make_event("hsts-forum", DAY)
    assert "Strict-Transport-Security" not in client.get("/", base_url="https://localhost").headers
    app.config["FORUM_ENV"] = "production"
    assert "Strict-Transport-Security" not in client.get("/").headers  # plain http
    secure = client.get("/", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_no_template_has_inline_script_or_style() -> None:
    """The CSP allows neither; mail templates are exempt (mail clients need inline styles) and
    so is the discussion export, a standalone document downloaded as an attachment."""
    exempt = {"mail", "discussion/export.html"}
    offenders = []
    for path in (REPO / "templates").rglob("*.html"):
        rel = path.relative_to(REPO / "templates").as_posix()
        if rel.split("/")[0] in exempt or rel in exempt:
            continue
        html = path.read_text()
        if re.search(r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+=", html):
            offenders.append(rel)
    assert offenders == []
