"""Preferences, one-click unsubscribe, expired and tampered links, rate limits."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from forum.core import clock
from forum.core.extensions import db
from forum.mail import links
from forum.models import Event, Participant, Session, Subscription
from forum.subscriptions import service
from tests.conftest import csrf_from
from tests.support.limits import rate_limited_app
from tests.support.subscriptions import link_in, make_event, outbox

T0 = datetime(2030, 3, 1, 12, 0, tzinfo=UTC)


def active_subscription(email: str = "jay@example.org", slug: str = "mentoring") -> Subscription:
    event = make_event(slug=slug, title=slug.title())
    sub = service.subscribe(event, email, conduct_accepted=True)
    service.confirm(sub)
    db.session.commit()
    return sub


def test_one_click_unsubscribe_without_cookies(app: Flask) -> None:
    sub = active_subscription()
    url = links.unsubscribe_url(sub).removeprefix("http://forum.test")
    fresh = app.test_client(use_cookies=False)
    resp = fresh.post(
        url,
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert resp.status_code == 200
    db.session.expire_all()
    assert sub.status == "unsubscribed" and sub.unsubscribed_at is not None
    # Idempotent: a second one-click (mail providers retry) is fine and keeps the first time.
    first = sub.unsubscribed_at
    assert fresh.post(url, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    db.session.expire_all()
    assert sub.unsubscribed_at == first


def test_unsubscribe_post_without_one_click_body_needs_csrf(app: Flask) -> None:
    sub = active_subscription()
    url = links.unsubscribe_url(sub).removeprefix("http://forum.test")
    bare = app.test_client(use_cookies=False)
    for data in ({}, {"List-Unsubscribe": "One-Click", "extra": "1"}, {"anything": "else"}):
        resp = bare.post(url, data=data)
        assert resp.status_code == 400
        assert b"Please try again" in resp.data
    db.session.expire_all()
    assert sub.status == "active"


def test_unsubscribe_button_and_rejoin(app: Flask, client: FlaskClient) -> None:
    sub = active_subscription()
    url = links.unsubscribe_url(sub).removeprefix("http://forum.test")
    page = client.get(url)
    assert page.status_code == 200 and b"Leave Mentoring" in page.data
    db.session.expire_all()
    assert sub.status == "active"  # GET changes nothing
    done = client.post(url, data={"csrf_token": csrf_from(page.data)})
    assert done.status_code == 200 and b"You have left" in done.data
    db.session.expire_all()
    assert sub.status == "unsubscribed"
    again = client.post(url + "/rejoin", data={"csrf_token": csrf_from(done.data)})
    assert again.status_code == 303
    db.session.expire_all()
    assert sub.status == "active"
    assert len(outbox("welcome")) == 2  # a fresh welcome for the re-join


def test_preferences_change_mode_zone_name_and_leave(app: Flask, client: FlaskClient) -> None:
    sub = active_subscription()
    other = service.subscribe(
        make_event(slug="webinars", title="Webinars"), "jay@example.org", conduct_accepted=True
    )
    db.session.commit()
    participant = sub.participant
    url = links.preferences_url(participant).removeprefix("http://forum.test")
    page = client.get(url)
    assert page.status_code == 200
    html = page.data.decode()
    assert "America/Los Angeles" in html and "Delivery for Mentoring" in html
    resp = client.post(
        url,
        data={
            "csrf_token": csrf_from(html),
            "name": "Jay L. Colbert",
            "timezone": "America/Denver",
            f"mode_{sub.id}": "digest",
            f"mode_{other.id}": "each",
            f"leave_{other.id}": "y",
            "save": "Save preferences",
        },
    )
    assert resp.status_code == 303
    db.session.expire_all()
    assert participant.name == "Jay L. Colbert" and participant.timezone == "America/Denver"
    assert sub.mode == "digest" and other.status == "unsubscribed"

    page = client.get(url)
    assert b"Your preferences are saved" in page.data
    bad = client.post(url, data={"csrf_token": csrf_from(page.data), "timezone": "Mars/Olympus", "name": "X"})
    assert bad.status_code == 400 and b"Not a valid choice" in bad.data

    html = page.get_data(as_text=True)
    save_at, leave_at = html.index('name="save"'), html.index('name="leave_all"')
    assert leave_at > html.index("Leave every event</h2>") > save_at
    assert "</form>" in html[save_at:leave_at]  # its own form, away from Save
    resp = client.post(url, data={"csrf_token": csrf_from(page.data), "leave_all": "Leave every event"})
    assert resp.status_code == 303
    db.session.expire_all()
    assert sub.status == "unsubscribed"
    flashed = client.get(url).get_data(as_text=True)
    assert "You have left 1 event." in flashed  # and what mail still comes, if any


def test_preferences_offer_the_zone_the_browser_told_us_until_one_is_saved(app: Flask, client: FlaskClient) -> None:
    sub = active_subscription()
    participant = sub.participant
    participant.timezone = None
    db.session.commit()
    url = links.preferences_url(participant).removeprefix("http://forum.test")
    client.set_cookie("tz", "Asia/Tokyo")
    html = client.get(url).get_data(as_text=True)
    assert '<option selected value="Asia/Tokyo">' in html or 'value="Asia/Tokyo" selected' in html
    assert "Your browser is set to this zone" in html and 'data-zone-default="if-unset"' in html
    participant.timezone = "America/Denver"
    db.session.commit()
    html = client.get(url).get_data(as_text=True)
    assert "Your browser is set to this zone" in html  # the note is there for the script, hidden
    assert 'id="timezone-browser-note" hidden' in html


def test_tampered_links_get_a_clear_400(app: Flask, client: FlaskClient) -> None:
    sub = active_subscription()
    for url in (links.preferences_url(sub.participant), links.unsubscribe_url(sub), links.confirm_url(sub)):
        path = url.removeprefix("http://forum.test")
        resp = client.get(path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB"))
        assert resp.status_code == 400
        assert b"This link is not valid" in resp.data
    # A token for one purpose does not open another.
    token = links.unsubscribe_url(sub).rsplit("/", 1)[1]
    assert client.get(f"/preferences/{token}").status_code == 400


def test_expired_preferences_link_offers_fresh_link(app: Flask, client: FlaskClient) -> None:
    with clock.frozen(T0):
        sub = active_subscription()
        url = links.preferences_url(sub.participant).removeprefix("http://forum.test")
    later = T0 + timedelta(days=app.config["TOKEN_MAX_AGE_DAYS"] + 1)
    with clock.frozen(later):
        page = client.get(url)
        assert page.status_code == 410
        assert b"This link has expired" in page.data and b"Mail me a new link" in page.data
        token = csrf_from(page.data)
        known = client.post("/preferences/new-link", data={"csrf_token": token, "email": "JAY@example.org"})
        unknown = client.post("/preferences/new-link", data={"csrf_token": token, "email": "who@example.org"})
        assert known.status_code == unknown.status_code == 200
        assert known.data == unknown.data
        [mail] = outbox("fresh-link")
        assert mail.recipient == "jay@example.org"
        fresh = client.get(link_in(mail, "/preferences/"))
        assert fresh.status_code == 200 and b"Your subscriptions" in fresh.data


def test_expired_confirmation_link(app: Flask, client: FlaskClient) -> None:
    event = make_event()
    with clock.frozen(T0):
        service.subscribe(event, "late@example.org", conduct_accepted=True)
        db.session.commit()
    [mail] = outbox("confirm")
    url = link_in(mail, "/confirm/")
    with clock.frozen(T0 + timedelta(hours=app.config["CONFIRM_MAX_AGE_HOURS"], minutes=1)):
        resp = client.get(url)
        assert resp.status_code == 410
        assert b"This link has expired" in resp.data
        assert b"/events/mentoring/subscribe" in resp.data
        resp = client.post(url, data={})
        assert resp.status_code in (400, 410)
    assert db.session.scalar(select(Subscription.status)) == "pending"
    assert db.session.scalar(select(Participant.confirmed_at)) is None


@pytest.fixture
def limited_app(tmp_path) -> Iterator[Flask]:  # type: ignore[no-untyped-def]
    """An app on SQLite with rate limiting on (the shared fixtures turn it off)."""
    limits = {"SUBSCRIBE_RATE_LIMIT": "3 per minute", "FRESH_LINK_RATE_LIMIT": "2 per minute"}
    with rate_limited_app(tmp_path, **limits) as application, application.app_context():
        yield application


def test_rate_limits_answer_429(limited_app: Flask) -> None:
    make_event()
    client = limited_app.test_client()
    env = {"REMOTE_ADDR": "198.51.100.7"}
    page = client.get("/events/mentoring/subscribe", environ_base=env)
    data = {"csrf_token": csrf_from(page.data), "email": "x@example.org", "conduct": "y", "mode": "each"}
    codes = [
        client.post("/events/mentoring/subscribe", data=data, environ_base=env).status_code for _ in range(3)
    ]
    assert codes == [200, 200, 200]
    blocked = client.post("/events/mentoring/subscribe", data=data, environ_base=env)
    assert blocked.status_code == 429 and b"Please wait a moment" in blocked.data
    # The JSON API shares the budget and answers in JSON.
    api = client.post(
        "/api/v1/events/mentoring/subscriptions",
        json={"email": "x@example.org", "accept_conduct": True},
        environ_base=env,
    )
    assert api.status_code == 429 and "wait" in api.get_json()["message"]
    # Another client is not affected.
    other = client.post(
        "/api/v1/events/mentoring/subscriptions",
        json={"email": "y@example.org", "accept_conduct": True},
        environ_base={"REMOTE_ADDR": "198.51.100.8"},
    )
    assert other.status_code == 202
    for _ in range(2):
        client.post(
            "/preferences/new-link",
            data={"csrf_token": data["csrf_token"], "email": "x@example.org"},
            environ_base=env,
        )
    resp = client.post(
        "/preferences/new-link",
        data={"csrf_token": data["csrf_token"], "email": "x@example.org"},
        environ_base=env,
    )
    assert resp.status_code == 429


def test_series_welcome_is_an_invite_and_invites_on_request(app: Flask, client: FlaskClient) -> None:
    series = make_event(slug="series", title="Webinar Series", kind="series")
    sub = service.subscribe(series, "attendee@example.org", conduct_accepted=True)
    service.confirm(sub)
    db.session.commit()
    [welcome] = outbox("welcome")
    assert b"text/calendar" in welcome.message and b"METHOD:REQUEST" in welcome.message

    eforum = service.subscribe(make_event(), "attendee@example.org", conduct_accepted=True)
    db.session.commit()
    assert eforum.status == "active"  # register once
    assert b"text/calendar" not in outbox("welcome")[1].message
    url = links.preferences_url(sub.participant).removeprefix("http://forum.test")
    page = client.get(url)
    assert b"Mail me a calendar invite for Mentoring" in page.data
    resp = client.post(f"{url}/invite/{eforum.id}", data={"csrf_token": csrf_from(page.data)})
    assert resp.status_code == 303
    assert b"calendar invite for Mentoring" in client.get(url).data
    mails = outbox()
    assert len(mails) == 4  # confirm, series welcome, e-forum welcome, requested invite
    assert b"METHOD:REQUEST" in mails[-1].full_message and mails[-1].subscription_id == eforum.id


def test_preferences_page_offers_the_calendar_feed_and_web_posting(app, client) -> None:  # type: ignore[no-untyped-def]
    """A subscriber finds their private feed and their e-forum posting link in one place."""
    event = Event(slug="ts-forum", kind="eforum", title="Mentoring in TS", status="published")
    session = Session(event=event)
    session.set_times(datetime(2030, 9, 10, 10), datetime(2030, 9, 10, 18), "America/New_York")
    person = Participant(email="pat@example.org", email_key="pat@example.org")
    db.session.add_all(
        [event, session, person, Subscription(participant=person, event=event, status="active")]
    )
    db.session.commit()
    page = client.get(links.preferences_url(person).removeprefix("http://forum.test")).get_data(as_text=True)
    assert f"/feeds/{person.feed_token}.ics" in page
    assert "webcal://" in page
    assert "/post/" in page and "ts-forum@lists.forum.test" in page
