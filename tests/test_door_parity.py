"""One rule for every door: the same change made through the officer web form and through
the JSON API leaves the same rows and sends the same mail.

Each test builds two identical published series (same title, sessions and subscribers;
only their addresses differ), changes one through the officer pages and the other through
`/api/v1`, then compares what a person would notice: the event and its sessions as stored,
who holds a seat, and the mail that goes out (kind, recipient, subject).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from forum.core.extensions import db
from forum.events.service import EVENT_FIELDS
from forum.models import Event, FanOut, OutboundMessage, Subscription
from tests.support.api import officer_token
from tests.support.calendars import make_event, subscribe
from tests.support.factories import login_officer, parsed
from tests.support.fanouts import write_fan_outs
from tests.support.live import post_form

TITLE = "Mentoring in Technical Services"
WALLS = [
    (datetime(2030, 9, 10, 13), datetime(2030, 9, 10, 14)),
    (datetime(2030, 9, 17, 13), datetime(2030, 9, 17, 14)),
]
PEOPLE = ["ana@example.org", "ben@example.org"]
DOORS = ("web", "api")


def twin_series(**fields: Any) -> dict[str, Event]:
    """One published series per door, alike in everything but the address."""
    made = {}
    for door in DOORS:
        event = make_event(f"by-{door}", WALLS, contact=("Pat Contact", "pat@example.org"))
        event.title = TITLE
        for name, value in fields.items():
            setattr(event, name, value)
        db.session.commit()
        made[door] = event
    return made


def subscribed_twins(client: FlaskClient) -> tuple[dict[str, Event], dict[str, str]]:
    """The twin series with PEOPLE subscribed to both, an officer signed in on the web, and
    the headers of an officer's API token."""
    twins = twin_series()
    for event in twins.values():
        for email in PEOPLE:
            subscribe(event, email)
    login_officer(client)
    return twins, officer_token()


def snapshot(event: Event) -> dict[str, Any]:
    """What a person would notice of an event: its stored state and the mail it sent."""
    write_fan_outs()
    db.session.expire_all()
    event = db.session.get(Event, event.id)
    assert event is not None
    subs = db.session.scalars(select(Subscription).where(Subscription.event_id == event.id))
    mail = db.session.scalars(select(OutboundMessage).where(OutboundMessage.event_id == event.id))
    fan_outs = db.session.scalars(select(FanOut).where(FanOut.event_id == event.id).order_by(FanOut.id))
    return {
        "event": {name: getattr(event, name) for name in (*EVENT_FIELDS, "status", "seat_limit")},
        "sessions": sorted(
            (s.position, s.title, s.start_wall, s.end_wall, s.timezone, s.status, s.sequence)
            for s in event.sessions
        ),
        "subscriptions": sorted((s.participant.email, s.status) for s in subs),
        "fan_outs": [(f.kind, f.params) for f in fan_outs],
        "mail": sorted((m.kind, m.recipient, str(parsed(m)["Subject"])) for m in mail),
    }


def web_form(event: Event) -> dict[str, str]:
    """The officer's event form as the edit page fills it in."""
    data = {}
    for name in EVENT_FIELDS:
        value = getattr(event, name)
        if isinstance(value, bool):
            if value:
                data[name] = "y"
        else:
            data[name] = "" if value is None else str(value)
    data["slug"] = event.slug
    return data


def test_renaming_a_published_event_sends_calendar_updates_by_either_door(client: FlaskClient) -> None:
    twins, headers = subscribed_twins(client)

    web = post_form(
        client, "/manage/events/by-web/edit", {**web_form(twins["web"]), "title": "Mentoring, Renamed"}
    )
    api = client.patch("/api/v1/events/by-api", json={"title": "Mentoring, Renamed"}, headers=headers)

    assert web.status_code == 302 and api.status_code == 200
    by_web, by_api = snapshot(twins["web"]), snapshot(twins["api"])
    assert by_web == by_api
    assert by_api["event"]["title"] == "Mentoring, Renamed"
    assert [s[-1] for s in by_api["sessions"]] == [1, 1]  # every session's SEQUENCE rose once
    assert [kind for kind, _ in by_api["fan_outs"]] == ["calendar-update", "calendar-update"]
    assert all(
        params["changes"] == [{"what": "title", "was": TITLE, "now": "Mentoring, Renamed"}]
        for _, params in by_api["fan_outs"]
    )
    assert {(kind, to) for kind, to, _ in by_api["mail"]} == {("calendar", email) for email in PEOPLE}


def test_the_address_of_a_published_event_cannot_change_by_either_door(client: FlaskClient) -> None:
    twins = twin_series()
    login_officer(client)
    headers = officer_token()
    before = {door: snapshot(event) for door, event in twins.items()}

    web = post_form(client, "/manage/events/by-web/edit", {**web_form(twins["web"]), "slug": "moved-web"})
    api = client.patch("/api/v1/events/by-api", json={"slug": "moved-api"}, headers=headers)

    assert web.status_code == 400
    assert "The address cannot change after publishing" in web.get_data(as_text=True)
    assert api.status_code == 422
    (message,) = api.get_json()["errors"]["json"]["slug"]
    assert message.startswith("The address cannot change after publishing")
    assert {door: snapshot(event) for door, event in twins.items()} == before  # nothing stored
    assert Event.by_slug("moved-web") is None and Event.by_slug("moved-api") is None
    assert client.get("/api/v1/events/by-api").status_code == 200


def test_raising_the_seat_limit_seats_the_waiting_list_by_either_door(client: FlaskClient) -> None:
    twins = twin_series(seat_limit=1)
    for event in twins.values():
        subscribe(event, "first@example.org")
        for n, email in enumerate(PEOPLE):
            waiting = subscribe(event, email, status="waitlisted")
            waiting.waitlisted_at = datetime(2030, 8, 1, 12, n, tzinfo=UTC)
        db.session.commit()
    login_officer(client)
    headers = officer_token()

    web = post_form(
        client,
        "/manage/events/by-web/seats",
        {"seat_limit": "3", "door_minutes": str(twins["web"].door_minutes)},
    )
    api = client.patch("/api/v1/events/by-api", json={"seat_limit": 3}, headers=headers)

    assert web.status_code == 303 and api.status_code == 200
    by_web, by_api = snapshot(twins["web"]), snapshot(twins["api"])
    assert by_web == by_api
    assert by_api["event"]["seat_limit"] == 3
    assert set(by_api["subscriptions"]) == {(e, "active") for e in ["first@example.org", *PEOPLE]}
    assert {kind for kind, to, _ in by_api["mail"] if to in PEOPLE} == {"welcome", "calendar"}


def test_cancelling_a_session_sends_cancels_by_either_door(client: FlaskClient) -> None:
    twins, headers = subscribed_twins(client)
    second = {door: sorted(event.sessions, key=lambda s: s.position)[1].id for door, event in twins.items()}

    page = f"/manage/events/by-web/sessions/{second['web']}/cancel"
    web = post_form(client, page, {})
    api = client.post(f"/api/v1/events/by-api/sessions/{second['api']}/cancel", headers=headers)

    assert web.status_code == 302 and api.status_code == 200
    by_web, by_api = snapshot(twins["web"]), snapshot(twins["api"])
    assert by_web == by_api
    assert [s[-2:] for s in by_api["sessions"]] == [("scheduled", 0), ("cancelled", 1)]
    assert [kind for kind, _ in by_api["fan_outs"]] == ["calendar-cancel"]
    assert {(kind, to) for kind, to, _ in by_api["mail"]} == {("calendar", e) for e in PEOPLE}
    assert all(subject.startswith("Cancelled") for _, _, subject in by_api["mail"])


def test_a_cancelled_event_takes_no_new_session_by_either_door(client: FlaskClient) -> None:
    twins = twin_series(status="cancelled")
    login_officer(client)
    headers = officer_token()
    before = {door: snapshot(event) for door, event in twins.items()}

    web = post_form(
        client,
        "/manage/events/by-web/sessions",
        {"date": "2030-09-24", "start_time": "13:00", "end_time": "14:00", "timezone": "America/New_York"},
    )
    api = client.post(
        "/api/v1/events/by-api/sessions",
        json={"start_wall": "2030-09-24T13:00", "end_wall": "2030-09-24T14:00"},
        headers=headers,
    )

    assert web.status_code == 302
    assert "it takes no new sessions" in client.get(web.location).get_data(as_text=True)
    assert api.status_code == 409
    assert "it takes no new sessions" in api.get_json()["errors"]["json"]["status"][0]
    assert {door: snapshot(event) for door, event in twins.items()} == before


def test_an_event_without_sessions_is_not_published_by_either_door(client: FlaskClient) -> None:
    for door in DOORS:
        make_event(f"by-{door}", [], publish=False)
    login_officer(client)
    headers = officer_token()

    web = post_form(client, "/manage/events/by-web", {}, action="/manage/events/by-web/publish")
    api = client.post("/api/v1/events/by-api/publish", headers=headers)

    assert "Add at least one session before publishing" in client.get(web.location).get_data(as_text=True)
    assert api.status_code == 409
    assert api.get_json()["errors"]["json"]["sessions"][0].startswith("Add at least one session")
    assert {Event.by_slug(f"by-{door}").status for door in DOORS} == {"draft"}  # type: ignore[union-attr]


def test_spam_settings_and_search_language_by_either_door(client: FlaskClient) -> None:
    """The spam score limit, the first-post hold and the archive's search language: set alike
    through the event form and the API, refused alike when out of range, private to officers."""
    twins = twin_series()
    login_officer(client)
    headers = officer_token()
    change = {"spam_score_limit": 7.5, "search_language": "french", "moderation": "new", "non_member_posts": "discard"}

    web = post_form(
        client, "/manage/events/by-web/edit", {**web_form(twins["web"]), **{k: str(v) for k, v in change.items()}}
    )
    api = client.patch("/api/v1/events/by-api", json=change, headers=headers)

    assert web.status_code == 302 and api.status_code == 200
    by_web, by_api = snapshot(twins["web"]), snapshot(twins["api"])
    assert by_web == by_api
    assert {k: by_api["event"][k] for k in change} == change
    shown = client.get("/api/v1/events/by-api", headers=headers).get_json()
    assert shown["spam_score_limit"] == 7.5 and shown["search_language"] == "french"
    form_page = client.get("/manage/events/by-web/edit").get_data(as_text=True)
    assert 'name="spam_score_limit"' in form_page and '<option selected value="french">' in form_page

    client.post("/logout")
    public = client.get("/api/v1/events/by-api").get_json()
    assert "spam_score_limit" not in public and "search_language" not in public

    login_officer(client)
    before = {door: snapshot(event) for door, event in twins.items()}
    bad_web = post_form(
        client,
        "/manage/events/by-web/edit",
        {**web_form(twins["web"]), "spam_score_limit": "500", "search_language": "klingon"},
    )
    bad_score = client.patch("/api/v1/events/by-api", json={"spam_score_limit": 500}, headers=headers)
    bad_language = client.patch("/api/v1/events/by-api", json={"search_language": "klingon"}, headers=headers)
    assert bad_web.status_code == 400
    page = bad_web.get_data(as_text=True)
    assert "Use a score from 0 to 100." in page and "Not a valid choice" in page
    assert bad_score.status_code == 422 and "spam_score_limit" in bad_score.get_json()["errors"]["json"]
    assert bad_language.status_code == 422 and "search_language" in bad_language.get_json()["errors"]["json"]
    assert {door: snapshot(event) for door, event in twins.items()} == before
