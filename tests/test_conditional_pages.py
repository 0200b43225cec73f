"""Public pages carry ETag and Last-Modified, and a browser revalidating an unchanged page
gets a 304 with no body; any change to what the page shows (an edit, a new session, the
visitor's zone, a new half-hour for the form's CSRF token) gives a fresh 200."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Flask
from flask.testing import FlaskClient

from forum.core import clock
from forum.core.extensions import db
from forum.models import Event
from tests.support.api import make_event

DAY = [(datetime(2030, 9, 10, 10), datetime(2030, 9, 10, 18))]


def revalidate(client: FlaskClient, url: str, first) -> int:  # type: ignore[no-untyped-def]
    return client.get(url, headers={"If-None-Match": first.headers["ETag"]}).status_code


def test_public_pages_answer_304_until_something_changes(app: Flask, client: FlaskClient) -> None:
    event = make_event("mentoring", DAY, panelists=[("Ana Reyes", "moderator")])
    panelist_id = event.panelist_links[0].panelist_id
    urls = ["/", "/events/mentoring", f"/panelists/{panelist_id}", "/events/mentoring.ics"]
    first = {url: client.get(url) for url in urls}
    for url, response in first.items():
        assert response.status_code == 200, url
        assert response.headers["ETag"] and response.headers["Last-Modified"], url
        again = client.get(url, headers={"If-None-Match": response.headers["ETag"]})
        assert again.status_code == 304 and again.data == b"", url
        assert again.headers["ETag"] == response.headers["ETag"], url
    assert first["/events/mentoring"].headers["Cache-Control"] == "private, no-cache"
    # the browser's copy still holds a CSRF token Flask-WTF accepts: same session, same secret
    assert b"csrf_token" in first["/events/mentoring"].data

    with clock.frozen(clock.now() + timedelta(minutes=1)):
        db.session.get(Event, event.id).title = "Mentoring, revised"  # type: ignore[union-attr]
        db.session.commit()
        for url in urls:
            assert revalidate(client, url, first[url]) == 200, url


def test_the_zone_and_the_csrf_window_are_part_of_the_page(app: Flask, client: FlaskClient) -> None:
    make_event("mentoring", DAY)
    with clock.frozen(datetime(2030, 1, 1, 12, 0, tzinfo=clock.UTC)):
        page = client.get("/events/mentoring")
        assert revalidate(client, "/events/mentoring", page) == 304
        assert revalidate(client, "/events/mentoring?tz=Europe/Berlin", page) == 200
    with clock.frozen(datetime(2030, 1, 1, 12, 31, tzinfo=clock.UTC)):
        assert revalidate(client, "/events/mentoring", page) == 200
    other_browser = app.test_client()
    assert revalidate(other_browser, "/events/mentoring", page) == 200


def test_an_event_that_ends_moves_on_the_index(app: Flask, client: FlaskClient) -> None:
    make_event("mentoring", DAY)
    with clock.frozen(datetime(2030, 9, 10, 12, tzinfo=clock.UTC)):
        index = client.get("/")
        assert revalidate(client, "/", index) == 304
    with clock.frozen(datetime(2030, 9, 10, 23, 5, tzinfo=clock.UTC)):  # the session is over
        assert revalidate(client, "/", index) == 200
