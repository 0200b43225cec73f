"""Personal join links: the platform URL is private; `/join/<token>` lets registrants in."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from forum.calendars import calendar, invites
from forum.core import clock
from forum.core.extensions import db
from forum.core.tokens import make_stable_token
from forum.models import Attendance, Event, Participant, Subscription
from forum.scheduling.scheduler import run_job
from forum.subscriptions import service
from forum.web.helpers import in_zone
from forum.webinars import join_links, recordings
from tests.support.calendars import make_event, parse_checked, subscribe
from tests.support.subscriptions import outbox, text_of

JOIN = "https://us02web.zoom.us/j/81234567890?pwd=SeCrEtPwD"
SECRET = "81234567890"  # what must never show publicly
NOW = datetime(2025, 1, 10, 15, 0).astimezone()  # before the series
WALLS = [
    (datetime(2025, 2, 4, 13), datetime(2025, 2, 4, 14)),
    (datetime(2025, 2, 11, 13), datetime(2025, 2, 11, 14)),
]


def unfold(data: bytes) -> bytes:
    """iCalendar folds lines at 75 octets; a URL may be split across two."""
    return data.replace(b"\r\n ", b"")


def series(slug: str = "tech-services") -> Event:
    with clock.frozen(NOW):
        return make_event(slug, WALLS, join_url=JOIN)


def public_urls(app: Flask, event: Event) -> list[str]:
    """Every GET route a stranger can reach, filled in for this event: nothing under /manage,
    /dev or a signed token."""
    values = {
        "slug": event.slug,
        "session_id": event.sessions[0].id,
        "panelist_id": event.panelist_links[0].panelist_id,
    }
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or rule.endpoint == "static":
            continue
        if rule.rule.startswith(("/manage", "/dev", "/api/openapi")) or not set(rule.arguments) <= set(
            values
        ):
            continue
        urls.append(rule.build({k: values[k] for k in rule.arguments})[1])
    return urls


def test_no_public_route_carries_the_join_url(app: Flask, client: FlaskClient) -> None:
    event = series()
    eforum = make_event("forum-days", WALLS, kind="eforum")  # archive, e-forum pages too
    with clock.frozen(NOW):
        subscribe(event, "ana@example.org")
    urls = public_urls(app, event) + public_urls(app, eforum)
    needed = {
        "/",
        "/events/tech-services",
        "/events/tech-services.ics",
        "/feeds/events/tech-services.ics",
        "/api/v1/events",
        "/api/v1/events/tech-services",
        "/events/forum-days/archive",
    }
    assert needed <= set(urls), needed - set(urls)
    assert any("/sessions/" in u and u.endswith(".ics") for u in urls)
    assert any(u.startswith("/panelists/") for u in urls)
    for url in urls:
        with clock.frozen(NOW):
            response = client.get(url)
        assert response.status_code < 500, url
        body = response.get_data(as_text=True)
        assert SECRET not in body and "zoom.us" not in body, url
    # the public file still says where: the platform's name, and the event page as URL
    (vevent, _) = parse_checked(client.get("/events/tech-services.ics").data).walk("VEVENT")
    assert (
        str(vevent["LOCATION"]) == "Zoom" and str(vevent["URL"]) == "http://forum.test/events/tech-services"
    )


def test_registrant_mail_and_personal_feed_carry_their_own_link(app: Flask, client: FlaskClient) -> None:
    event = series()
    with clock.frozen(NOW):
        ana = Participant(email="ana@example.org", email_key="ana@example.org", confirmed_at=clock.now())
        db.session.add(ana)
        db.session.commit()
        sub = service.subscribe(event, "ana@example.org", conduct_accepted=True)
        db.session.commit()
    mails = outbox("welcome") + outbox("calendar")
    assert len(mails) == 2
    for row in mails:
        assert SECRET not in row.message.decode("utf-8", "replace")
    invite_text = text_of(outbox("calendar")[0])
    welcome_text = text_of(outbox("welcome")[0])
    assert "Your personal join links" in welcome_text and welcome_text.count("http://forum.test/join/") == 2
    assert "your personal link: http://forum.test/join/" in invite_text
    with clock.frozen(NOW):
        feed = unfold(client.get(f"/feeds/{ana.feed_token}.ics").data).decode()
    assert SECRET not in feed
    assert feed.count("/join/") == 2  # one personal link per session
    # the invite calendar names the person's link, never the platform's
    with clock.frozen(NOW):
        data = unfold(invites.invite_calendar(event.sessions[0], sub))
    assert b"/join/" in data and SECRET.encode() not in data


def _ana() -> tuple[Event, Subscription]:
    """A series, and Ana's registration for it (made at NOW)."""
    event = series()
    with clock.frozen(NOW):
        return event, subscribe(event, "ana@example.org")


def _ana_with_her_link():  # type: ignore[no-untyped-def]
    """A series, Ana registered for it, and the path of her personal link to its first session."""
    event, sub = _ana()
    with clock.frozen(NOW):
        url = join_links.join_url(sub, event.sessions[0]).removeprefix("http://forum.test")
    return event, sub, url


def test_link_redirects_a_registrant_and_records_attendance_once(app: Flask, client: FlaskClient) -> None:
    event, sub, url = _ana_with_her_link()
    start = event.sessions[0].starts_at
    with clock.frozen(start - timedelta(minutes=3)):
        assert client.head(url).status_code == 303  # a link checker: no attendance
    with clock.frozen(start - timedelta(minutes=2)):
        first = client.get(url)
    with clock.frozen(start + timedelta(minutes=20)):
        again = client.get(url)
    assert first.status_code == again.status_code == 303
    assert first.headers["Location"] == JOIN
    (row,) = db.session.scalars(select(Attendance)).all()
    assert (row.subscription_id, row.session_id, row.clicks) == (sub.id, event.sessions[0].id, 2)
    assert row.first_seen_at == start - timedelta(minutes=2)
    assert row.last_seen_at == start + timedelta(minutes=20)
    assert row.source_list == ["link"]
    assert first.headers["Referrer-Policy"] == "same-origin"  # never sent to the platform


def test_strangers_and_leavers_get_a_clear_page_and_no_url(app: Flask, client: FlaskClient) -> None:
    event = series()
    other = series("other-series")
    with clock.frozen(NOW):
        sub = subscribe(event, "ana@example.org")
        left = subscribe(event, "bob@example.org")
        url = join_links.join_url(left, event.sessions[0]).removeprefix("http://forum.test")
        service.unsubscribe(left)
        db.session.commit()
        forged = make_stable_token("join", [sub.id, other.sessions[0].id])  # a real registration, wrong event
    during = event.sessions[0].starts_at + timedelta(minutes=1)
    with clock.frozen(during):
        guessed = client.get("/join/" + "x" * 40)
        cancelled = client.get(url)
        crossed = client.get(f"/join/{forged}")
        unknown = client.get(f"/join/{make_stable_token('join', [9999, 9999])}")
    assert guessed.status_code == 400 and "does not work" in guessed.get_data(as_text=True)
    assert cancelled.status_code == 403 and "not active" in cancelled.get_data(as_text=True)
    assert crossed.status_code == unknown.status_code == 404
    for response in (guessed, cancelled, crossed, unknown):
        assert SECRET not in response.get_data(as_text=True) and "Location" not in response.headers
    assert db.session.scalars(select(Attendance)).all() == []


def test_the_door_opens_at_the_configured_minute(app: Flask, client: FlaskClient) -> None:
    event, sub, url = _ana_with_her_link()
    start = event.sessions[0].starts_at
    with clock.frozen(start - timedelta(minutes=15, seconds=1)):
        early = client.get(url)
    with clock.frozen(start - timedelta(minutes=15)):
        open_ = client.get(url)
    assert early.status_code == 200 and open_.status_code == 303
    page = early.get_data(as_text=True)
    assert SECRET not in page and "data-countdown" in page and "opens 15 minutes before" in page
    assert 'src="/static/js/door.js"' in page and "<script>" not in page  # CSP-safe countdown
    # without the script, the opening time says its day and zone (it said "at 9:45 AM")
    opens = in_zone(start - timedelta(minutes=15), event.timezone)
    assert opens.endswith(("EDT", "EST")) and f"at {opens}</strong>" in page
    # the page says which day the session is, above its times ("12:00 PM–1:00 PM … in 36 days")
    day = in_zone(start, event.timezone, "date")
    assert f'<p class="dates">{day}</p>' in page

    event.door_minutes = 5
    db.session.commit()
    with clock.frozen(start - timedelta(minutes=6)):
        assert client.get(url).status_code == 200
    with clock.frozen(start - timedelta(minutes=5)):
        assert client.get(url).status_code == 303
    assert db.session.scalars(select(Attendance)).one().clicks == 2


def test_after_the_end_the_link_points_to_the_recording(app: Flask, client: FlaskClient) -> None:
    event, sub, url = _ana_with_her_link()
    after = event.sessions[0].ends_at + timedelta(minutes=1)
    with clock.frozen(after):
        nothing_yet = client.get(url).get_data(as_text=True)
        recordings.add_material(event.sessions[0], url="https://video.example.org/rec1", public=False)
        db.session.commit()
        page = client.get(url).get_data(as_text=True)
        public = client.get("/events/tech-services").get_data(as_text=True)
    assert "There is no recording yet" in nothing_yet
    assert "https://video.example.org/rec1" in page and SECRET not in page
    assert "video.example.org" not in public  # registrants-only stays off the public page
    # a registrant's own calendar file for the past session carries it; the public one does not
    with clock.frozen(after):
        mine = unfold(calendar.session_file(event.sessions[0], sub))
        theirs = unfold(client.get(f"/events/tech-services/sessions/{event.sessions[0].id}.ics").data)
    assert b"video.example.org/rec1" in mine and b"video.example.org" not in theirs


def test_reminders_carry_each_registrants_own_link(app: Flask) -> None:
    event = series()
    with clock.frozen(NOW):
        ana = subscribe(event, "ana@example.org")
        bob = subscribe(event, "bob@example.org")
    due = event.sessions[0].starts_at - timedelta(hours=1)
    with clock.frozen(due):
        run_job("reminders", at=due)
        links = {s.participant.email: join_links.join_url(s, event.sessions[0]) for s in (ana, bob)}
    for email, link in links.items():
        (row,) = outbox("reminder", email)
        body = row.message.decode("utf-8", "replace")
        assert link in text_of(row) and SECRET not in body
    assert links["ana@example.org"] != links["bob@example.org"]


def test_demo_series_has_seats_a_private_room_and_public_slides(app: Flask, client: FlaskClient) -> None:
    from forum.demo import data as demo

    demo.load()
    page = client.get("/events/re-envisioning-technical-services").get_data(as_text=True)
    ics = client.get("/events/re-envisioning-technical-services.ics").get_data(as_text=True)
    assert "100 of 100 seats left." in page
    assert "Survey slides" in page and demo.SERIES_SLIDES[1] in page
    assert "zoom.us" not in page and "zoom.us" not in ics and "LOCATION:Zoom" in ics


def test_personal_feed_changes_when_a_session_ends_and_its_recording_arrives(
    app: Flask, client: FlaskClient
) -> None:
    event, sub = _ana()
    url = f"/feeds/{sub.participant.feed_token}.ics"
    with clock.frozen(NOW):
        before = client.get(url)
        assert client.get(url).data == before.data  # stable links: the same bytes every time
    after = event.sessions[0].ends_at + timedelta(minutes=1)
    with clock.frozen(after):
        ended = client.get(url, headers={"If-None-Match": before.headers["ETag"]})
        assert ended.status_code == 200 and unfold(ended.data).count(b"/join/") == 1
        recordings.add_material(event.sessions[0], url="https://video.example.org/rec1")
        db.session.commit()
        with_recording = client.get(url, headers={"If-None-Match": ended.headers["ETag"]})
    assert with_recording.status_code == 200
    assert b"video.example.org/rec1" in unfold(with_recording.data)


def test_the_preferences_page_lists_each_join_link_with_its_time_in_the_readers_zone(
    app: Flask, client: FlaskClient
) -> None:
    """The page had only dates next to the links: a registrant could not see when to join."""
    from forum.mail import links

    event, sub = _ana()
    with clock.frozen(NOW):
        sub.participant.timezone = "Europe/Berlin"
        db.session.commit()
        page = client.get(links.preferences_url(sub.participant).removeprefix("http://forum.test"))
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    # 1:00 PM in New York (EST) is 7:00 PM in Berlin (CET)
    assert f"{event.sessions[0].display_title}, Tuesday, 2/4/2025 7:00 PM CET:" in html
    assert f"{event.sessions[1].display_title}, Tuesday, 2/11/2025 7:00 PM CET:" in html
