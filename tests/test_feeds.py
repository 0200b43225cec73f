"""Feeds: the secret per-participant feed and the public per-event feed, with validators."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import render_template_string
from flask.testing import FlaskClient
from werkzeug.http import http_date

from forum.core import clock
from forum.core.extensions import db
from forum.events import service as events
from tests.support.calendars import fetch_calendar, instants, make_event, parse_checked, subscribe
from tests.support.factories import weekly

NOW = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)


def _setup():  # type: ignore[no-untyped-def]
    with clock.frozen(NOW):
        series = make_event("feed-series", weekly(datetime(2025, 3, 4, 13)))
        forum_ = make_event(
            "feed-forum",
            [(datetime(2025, 4, 1, 10), datetime(2025, 4, 1, 18))],
            kind="eforum",
            zone="Australia/Lord_Howe",
        )
        left = make_event("left-event", [(datetime(2025, 5, 1, 10), datetime(2025, 5, 1, 11))])
        draft = make_event(
            "draft-event", [(datetime(2025, 5, 2, 10), datetime(2025, 5, 2, 11))], publish=False
        )
        sub = subscribe(series, "ana@example.test")
        subscribe(forum_, "ana@example.test")
        subscribe(left, "ana@example.test", status="unsubscribed")
        subscribe(draft, "ana@example.test")
    return sub.participant, series, forum_


def test_personal_feed_lists_active_subscriptions_only(client: FlaskClient) -> None:
    participant, series, forum_ = _setup()
    response, cal = fetch_calendar(client, f"/feeds/{participant.feed_token}.ics")
    assert "private" in response.headers["Cache-Control"]
    data = response.data
    assert "METHOD" not in cal
    uids = {str(v["UID"]) for v in cal.walk("VEVENT")}
    expected = {f"{s.uid}@lists.forum.test" for s in series.sessions + forum_.sessions}
    assert uids == expected
    assert {str(c["TZID"]) for c in cal.walk("VTIMEZONE")} == {"America/New_York", "Australia/Lord_Howe"}
    got = instants(data)
    assert got[f"{forum_.sessions[0].uid}@lists.forum.test"][0] == datetime(2025, 3, 31, 23, 0, tzinfo=UTC)
    assert client.get("/feeds/not-a-token.ics").status_code == 404


def test_personal_feed_conditional_get(client: FlaskClient) -> None:
    participant, series, _ = _setup()
    url = f"/feeds/{participant.feed_token}.ics"
    first = client.get(url)
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert etag and modified
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == etag
    assert client.get(url, headers={"If-Modified-Since": modified}).status_code == 304
    older = http_date(NOW - timedelta(days=1))
    assert client.get(url, headers={"If-Modified-Since": older}).status_code == 200
    assert (
        client.get(url, headers={"If-None-Match": '"other"', "If-Modified-Since": modified}).status_code
        == 200
    )

    # The officer moves a session: a new ETag, and the feed shows the new SEQUENCE.
    with clock.frozen(NOW + timedelta(hours=1)):
        events.set_session_times(
            series.sessions[0], datetime(2025, 3, 4, 15), datetime(2025, 3, 4, 16), "America/New_York"
        )
        db.session.commit()
    moved = client.get(url, headers={"If-None-Match": etag})
    assert moved.status_code == 200 and moved.headers["ETag"] != etag
    assert moved.headers["Last-Modified"] != modified
    uid = f"{series.sessions[0].uid}@lists.forum.test"
    (vevent,) = [v for v in parse_checked(moved.data).walk("VEVENT") if str(v["UID"]) == uid]
    assert vevent["SEQUENCE"] == 1

    # Leaving an event takes its sessions out of the feed.
    with clock.frozen(NOW + timedelta(hours=2)):
        for sub in participant.subscriptions:
            if sub.event_id == series.id:
                sub.status = "unsubscribed"
        db.session.commit()
    gone = client.get(url, headers={"If-None-Match": moved.headers["ETag"]})
    assert gone.status_code == 200
    assert uid.encode() not in gone.data


def test_event_feed_is_public_and_conditional(client: FlaskClient) -> None:
    _, series, _ = _setup()
    response = client.get("/feeds/events/feed-series.ics")
    assert response.status_code == 200 and "Content-Disposition" not in response.headers
    cal = parse_checked(response.data)
    assert str(cal["X-WR-CALNAME"]) == "Feed Series" and len(cal.walk("VEVENT")) == 2
    assert (
        client.get(
            "/feeds/events/feed-series.ics", headers={"If-None-Match": response.headers["ETag"]}
        ).status_code
        == 304
    )
    download = client.get("/events/feed-series.ics", headers={"If-None-Match": response.headers["ETag"]})
    assert download.status_code == 304


def test_feed_links_fragment(app) -> None:  # type: ignore[no-untyped-def]
    participant, _, _ = _setup()
    with app.test_request_context("/"):
        html = render_template_string('{% include "calendar/_feed_links.html" %}', participant=participant)
    token = participant.feed_token
    assert f'href="webcal://forum.test/feeds/{token}.ics"' in html
    assert f'value="http://forum.test/feeds/{token}.ics"' in html
    assert f"calendar.google.com/calendar/render?cid=webcal%3A%2F%2Fforum.test%2Ffeeds%2F{token}.ics" in html
    assert "outlook.live.com/calendar/0/addfromweb?url=http%3A%2F%2Fforum.test%2Ffeeds%2F" in html
    assert '<label for="feed-url">' in html
