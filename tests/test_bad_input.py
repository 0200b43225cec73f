"""Hostile or broken input from anyone on the internet gets a 4xx with a message, never a 500,
on SQLite and PostgreSQL alike: ids past the database's integer range, NUL bytes in the query
string, an absurd `tz`, and control characters in single-line fields (a title with CR/LF used
to break the event's .ics and feed)."""

from __future__ import annotations

from datetime import datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient

from forum.core.extensions import db
from forum.core.validation import SINGLE_LINE_MESSAGE
from forum.models import Event
from tests.support.api import make_event, officer_token
from tests.support.discussion import make_forum

HUGE = "99999999999"  # past PostgreSQL's integer (2**31 - 1)
DAY = [(datetime(2030, 9, 10, 10), datetime(2030, 9, 10, 12))]


@pytest.fixture
def published(app: Flask) -> Event:
    make_forum(archive_public=True)
    return make_event("series", DAY, kind="webinar", panelists=[("Ana Reyes", "panelist")])


@pytest.mark.parametrize(
    "url",
    [
        f"/panelists/{HUGE}",
        f"/api/v1/panelists/{HUGE}",
        f"/events/series/sessions/{HUGE}.ics",
        f"/events/mentoring/archive/threads/{HUGE}",
        f"/events/mentoring/archive/posts/{HUGE}",
        "/panelists/-1",
    ],
)
def test_ids_beyond_the_integer_range_are_404(published: Event, client: FlaskClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 404
    assert response.get_data(as_text=True).strip()


def test_api_ids_and_positions_beyond_the_range_are_refused(published: Event, client: FlaskClient) -> None:
    headers = officer_token()
    session_id = published.sessions[0].id
    panelist_id = published.panelist_links[0].panelist_id
    for method, url, body in [
        ("patch", f"/api/v1/events/series/sessions/{HUGE}", {"title": "x"}),
        ("patch", f"/api/v1/panelists/{HUGE}", {"name": "x"}),
        ("delete", f"/api/v1/events/series/panelists/{HUGE}", None),
    ]:
        assert getattr(client, method)(url, json=body, headers=headers).status_code == 404, url
    for url, body in [
        (f"/api/v1/events/series/sessions/{session_id}", {"position": int(HUGE)}),
        (f"/api/v1/events/series/panelists/{panelist_id}", {"position": int(HUGE)}),
    ]:
        method = client.patch if "sessions" in url else client.put
        response = method(url, json=body, headers=headers)
        assert response.status_code == 422, response.get_data(as_text=True)
        assert "position" in response.get_json()["errors"]["json"]


@pytest.mark.parametrize(
    "url",
    [
        "/events/mentoring/archive?q=%00",
        "/events/mentoring/archive?q=a%00b",
        "/?tz=%00",
        "/events/series?tz=Europe%00Berlin",
        "/api/v1/events?kind=%00",
    ],
)
def test_a_nul_byte_in_the_query_string_is_a_400(published: Event, client: FlaskClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 400
    assert "NUL" in response.get_data(as_text=True)


def test_a_300_character_zone_is_ignored_not_a_crash(published: Event, client: FlaskClient) -> None:
    zone = "A" * 300
    assert client.get(f"/events/series?tz={zone}").status_code == 200
    assert client.get(f"/events/mentoring/archive?tz={zone}").status_code == 200
    client.set_cookie("tz", zone)
    assert client.get("/events/mentoring/archive").status_code == 200
    assert client.get("/events/series").status_code == 200


def test_control_characters_in_an_api_title_are_refused(published: Event, client: FlaskClient) -> None:
    headers = officer_token()
    for title in ("Evil\r\nBCC: x", "Bell\x07", "Next line\u2028"):
        response = client.patch("/api/v1/events/series", json={"title": title}, headers=headers)
        assert response.status_code == 422, title
        assert "control characters are not allowed" in response.get_json()["errors"]["json"]["title"][0]
    nul = client.patch("/api/v1/events/series", json={"description": "Null\x00"}, headers=headers)
    assert nul.status_code == 400 and "NUL" in nul.get_json()["message"]
    response = client.post(
        "/api/v1/panelists", json={"name": "Ana\nReyes"}, headers=headers
    )
    assert response.status_code == 422
    # multi-line fields keep their newlines and tabs
    ok = client.patch("/api/v1/events/series", json={"description": "One\n\n\tTwo"}, headers=headers)
    assert ok.status_code == 200
    db.session.expire_all()
    assert Event.by_slug("series").title == "Series"  # type: ignore[union-attr]


def test_a_title_that_got_in_with_cr_lf_does_not_break_calendars_or_feeds(
    published: Event, client: FlaskClient
) -> None:
    """Rows written before validation existed (or by hand) must not make public files 500."""
    published.title = "Line one\r\nX-INJECTED:evil"
    published.sessions[0].title = "Session\rtwo"
    db.session.commit()
    for url in ("/events/series.ics", "/feeds/events/series.ics", f"/events/series/sessions/{published.sessions[0].id}.ics"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "\nX-INJECTED" not in response.get_data(as_text=True), url


def test_control_characters_in_web_forms_are_refused_next_to_the_field(app: Flask, client: FlaskClient) -> None:
    from tests.support.live import make_officer, post_form, sign_in
    from tests.test_manage import EVENT, error_after

    make_officer()
    assert sign_in(client).status_code == 302
    response = post_form(client, "/manage/events/new", {**EVENT, "title": "Mentoring\r\nBcc: all@example.org"})
    assert response.status_code == 400
    assert "line breaks and other control characters" in error_after(response.get_data(as_text=True), "title")
    # a text area keeps its line breaks but not a NUL-like control (here: ESC)
    response = post_form(client, "/manage/events/new", {**EVENT, "description": "Two\nlines \x1b[31m"})
    assert response.status_code == 400
    assert "Remove the control characters" in error_after(response.get_data(as_text=True), "description")
    assert post_form(client, "/manage/events/new", EVENT).status_code == 302  # multi-line text is fine
    assert Event.by_slug("ts-mentoring").title == "Mentoring in Technical Services"  # type: ignore[union-attr]


def test_control_characters_in_a_subscriber_name_are_refused(published: Event, client: FlaskClient) -> None:
    from tests.support.live import post_form

    response = post_form(
        client,
        "/events/series/subscribe",
        {"email": "eve@example.org", "name": "Eve\r\nX-Evil: 1", "mode": "each", "conduct": "y"},
    )
    assert response.status_code == 400
    assert "line breaks and other control characters" in response.get_data(as_text=True)


def test_csv_import_reports_a_name_with_control_characters(published: Event) -> None:
    from forum.subscriptions import csv_import as subscriber_import

    report = subscriber_import.import_rows(
        published, ["email,name\n", "ann@example.org,Ann\n", '"bob@example.org","Bob\rBcc: x"\n']
    )
    assert report.bad == [(3, f"name: {SINGLE_LINE_MESSAGE}")]
    assert report.added == 1


def test_a_display_name_from_mail_is_kept_on_one_line(app: Flask) -> None:
    """mail/inbound.py cleans the decoded display name; this pins it for the other doors."""
    from forum.discussion import service as discussion
    from tests.support.discussion import make_forum as forum
    from tests.support.discussion import message, posts, subscribe

    event = forum("open-now")
    subscribe(event, "ann@example.org", "", posts_approved=1)
    event.sessions[0].set_times(datetime(2020, 1, 1, 0), datetime(2099, 1, 1, 0), "America/New_York")
    db.session.commit()
    raw = message(sender="ann@example.org", name="X").replace(b"From: X <", b"From: =?utf-8?q?Ann=0D=0AEvil?= <", 1)
    assert b"=0D=0A" in raw
    discussion.receive(raw, "open-now@lists.forum.test")
    (post,) = posts()
    assert post.author_name == "Ann Evil"


NUL_PATHS = [
    "/events/x%00",
    "/events/x%00.ics",
    "/api/v1/events/x%00",
    "/pathways/x%00",
    "/feeds/x%00.ics",
    "/certificates/x%00",
]


def _nul_urls(app: Flask) -> list[tuple[str, str]]:
    """(method, path) for every route with a text parameter, NUL in each such parameter."""
    found = []
    for rule in app.url_map.iter_rules():
        converters = rule._converters  # name -> converter; ints cannot hold a NUL at all
        texts = [name for name, conv in converters.items() if type(conv).__name__ in ("UnicodeConverter", "PathConverter")]
        if not texts or rule.endpoint == "static":
            continue
        values = {name: ("x\x00" if name in texts else 1) for name in converters}
        path = rule.build(values, append_unknown=False)[1]  # type: ignore[index]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((method, path))
    return found


def test_a_nul_byte_in_any_path_parameter_is_a_400_with_a_body(published: Event, client: FlaskClient) -> None:
    urls = _nul_urls(client.application)
    assert len(urls) > 50 and all("%00" in path for _, path in urls)
    headers = officer_token()
    for method, path in [("GET", p) for p in NUL_PATHS] + urls:
        response = client.open(path, method=method, headers=headers)
        assert response.status_code == 400, (method, path, response.status_code)
        assert "NUL" in response.get_data(as_text=True), (method, path)
