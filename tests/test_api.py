"""JSON API: what clients read (shapes, times, visibility) and the error paths they hit."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from forum.core import clock
from forum.core.extensions import db
from forum.models import Event, Participant
from forum.subscriptions import service as subscriptions
from tests.support.api import make_event, officer_token
from tests.support.subscriptions import outbox

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen():  # type: ignore[no-untyped-def]
    with clock.frozen(NOW):
        yield


def wall(text: str) -> datetime:
    return datetime.fromisoformat(text)


def mentoring():  # type: ignore[no-untyped-def]
    return make_event(
        "mentoring",
        [
            (wall("2030-09-10T10:00"), wall("2030-09-10T18:00")),
            (wall("2030-09-11T10:00"), wall("2030-09-11T18:00")),
        ],
        panelists=[("Jay L. Colbert", "moderator"), ("Jeannette Ho", "panelist")],
    )


# --- OpenAPI ----------------------------------------------------------------------------


def test_openapi_document_is_served_with_the_api_paths_and_schemas(client):
    response = client.get("/api/openapi.json")

    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.")
    for path in (
        "/api/v1/events",
        "/api/v1/events/{slug}",
        "/api/v1/events/{slug}/sessions",
        "/api/v1/events/{slug}/sessions/{session_id}",
        "/api/v1/events/{slug}/publish",
        "/api/v1/events/{slug}/cancel",
        "/api/v1/panelists",
        "/api/v1/panelists/{panelist_id}",
        "/api/v1/events/{slug}/panelists/{panelist_id}",
        "/api/v1/events/{slug}/subscriptions",
    ):
        assert path in spec["paths"], path
    schemas = spec["components"]["schemas"]
    assert {"OfficerEvent", "OfficerSession", "EventIn", "SessionIn", "Panelist", "PanelistIn"} <= set(schemas)
    assert {"SubscriptionIn", "SubscriptionAccepted"} <= set(schemas)
    # wall times carry no offset, so they are not `date-time`s; instants may be null
    wall = schemas["SessionIn"]["properties"]["start_wall"]
    assert (wall["type"], wall["format"]) == ("string", "wall-time") and wall["pattern"].startswith("^")
    assert schemas["OfficerEvent"]["properties"]["published_at"]["nullable"] is True
    assert schemas["EventPatch"]["minProperties"] == 1
    assert "officer token only" in schemas["OfficerEvent"]["properties"]["digest_hour"]["description"]
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert spec["paths"]["/api/v1/events"]["post"]["security"] == [{"bearerAuth": []}]


# --- reading ----------------------------------------------------------------------------


def test_event_shows_instants_with_offsets_wall_times_zone_and_panelists(client):
    mentoring()

    data = client.get("/api/v1/events/mentoring").get_json()

    first = data["sessions"][0]
    assert first["timezone"] == "America/New_York"
    assert first["start_wall"] == "2030-09-10T10:00:00"
    assert first["end_wall"] == "2030-09-10T18:00:00"
    assert first["starts_at"] == "2030-09-10T14:00:00+00:00"
    assert first["ends_at"] == "2030-09-10T22:00:00+00:00"
    assert first["starts_at_local"] == "2030-09-10T10:00:00-04:00"
    assert first["ends_at_local"] == "2030-09-10T18:00:00-04:00"
    assert first["zone_lines"] == [
        "10:00 AM–6:00 PM (Eastern)",
        "9:00 AM–5:00 PM (Central)",
        "8:00 AM–4:00 PM (Mountain)",
        "7:00 AM–3:00 PM (Pacific)",
    ]
    assert first["status"] == "scheduled"
    assert first["sequence"] == 0
    assert "join_url" not in first  # subscribers get it by mail, not the public API
    assert len(data["sessions"]) == 2
    assert [(p["name"], p["role"]) for p in data["panelists"]] == [
        ("Jay L. Colbert", "moderator"),
        ("Jeannette Ho", "panelist"),
    ]
    assert data["panelists"][0]["role_label"] == "Moderator"
    assert "<strong>Jay L. Colbert</strong>" in data["panelists"][0]["bio_html"]
    assert data["first_date"] == "2030-09-10"
    assert data["last_date"] == "2030-09-11"
    assert data["status"] == "published"
    assert data["url"] == "http://localhost/events/mentoring"


def test_list_is_published_events_soonest_first_with_kind_and_when_filters(client):
    make_event("later-series", [(wall("2030-10-01T14:00"), wall("2030-10-01T15:00"))], kind="series")
    mentoring()
    make_event("last-year", [(wall("2029-03-05T10:00"), wall("2029-03-05T18:00"))])
    make_event("older", [(wall("2028-03-05T10:00"), wall("2028-03-05T18:00"))])
    make_event("draft", [(wall("2030-02-01T10:00"), wall("2030-02-01T18:00"))], publish=False)

    def slugs(query: str = "") -> list[str]:
        response = client.get(f"/api/v1/events{query}")
        assert response.status_code == 200
        return [e["slug"] for e in response.get_json()]

    assert slugs() == ["older", "last-year", "mentoring", "later-series"]
    assert slugs("?when=upcoming") == ["mentoring", "later-series"]
    assert slugs("?when=past") == ["last-year", "older"]
    assert slugs("?kind=series") == ["later-series"]
    assert slugs("?kind=eforum&when=upcoming") == ["mentoring"]
    listed = client.get("/api/v1/events?when=upcoming").get_json()[0]
    assert listed["starts_at"] == "2030-09-10T14:00:00+00:00"
    assert listed["kind_label"] == "e-Forum"


def test_drafts_are_visible_only_with_a_token(client):
    make_event("draft", [(wall("2030-02-01T10:00"), wall("2030-02-01T18:00"))], publish=False)
    headers = officer_token()

    assert client.get("/api/v1/events/draft").status_code == 404
    assert [e["slug"] for e in client.get("/api/v1/events").get_json()] == []
    assert client.get("/api/v1/events/draft", headers=headers).get_json()["status"] == "draft"
    assert [e["slug"] for e in client.get("/api/v1/events", headers=headers).get_json()] == ["draft"]
    listed = client.get("/api/v1/events?status=published", headers=headers).get_json()
    assert listed == []


def test_panelist_page_lists_public_events_only(client):
    event = mentoring()
    panelist_id = event.panelist_links[0].panelist_id
    make_event("secret", [(wall("2030-02-01T10:00"), wall("2030-02-01T18:00"))], publish=False)

    data = client.get(f"/api/v1/panelists/{panelist_id}").get_json()

    assert data["name"] == "Jay L. Colbert"
    assert data["events"] == [
        {
            "slug": "mentoring",
            "title": "Mentoring",
            "status": "published",
            "role": "moderator",
            "role_label": "Moderator",
        }
    ]
    assert "email" not in data


# --- errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/v1/events"),
        ("patch", "/api/v1/events/mentoring"),
        ("post", "/api/v1/events/mentoring/sessions"),
        ("post", "/api/v1/events/mentoring/publish"),
        ("post", "/api/v1/panelists"),
        ("put", "/api/v1/events/mentoring/panelists/1"),
    ],
)
def test_writes_without_a_token_are_401_with_a_bearer_challenge(client, method, path):
    mentoring()

    response = getattr(client, method)(path, json={"slug": "x", "title": "X", "name": "X"})

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "token" in response.get_json()["message"]


def test_a_bad_token_is_401_even_on_public_reads(client):
    mentoring()

    for headers in ({"Authorization": "Bearer fo_not-a-token"}, {"Authorization": "Basic abc"}):
        response = client.get("/api/v1/events/mentoring", headers=headers)
        assert response.status_code == 401
        assert "Bearer" in response.headers["WWW-Authenticate"]
        assert response.get_json()["message"]


def test_unknown_things_are_404_with_a_message(client):
    headers = officer_token()
    event = mentoring()

    for path in ("/api/v1/events/nope", "/api/v1/panelists/999"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.get_json()["message"]
    response = client.patch("/api/v1/events/mentoring/sessions/999", json={"title": "x"}, headers=headers)
    assert response.status_code == 404
    response = client.put(f"/api/v1/events/{event.slug}/panelists/999", json={}, headers=headers)
    assert response.status_code == 404
    assert client.patch("/api/v1/events/nope", json={"title": "New"}, headers=headers).status_code == 404


def test_invalid_event_input_is_422_with_a_message_per_field(client):
    headers = officer_token()

    response = client.post(
        "/api/v1/events",
        json={
            "slug": "Not A Slug",
            "kind": "party",
            "timezone": "Mars/Olympus",
            "contact_email": "nobody",
            "conduct_url": "javascript:alert(1)",
        },
        headers=headers,
    )

    assert response.status_code == 422
    errors = response.get_json()["errors"]["json"]
    assert set(errors) == {"slug", "kind", "title", "timezone", "contact_email", "conduct_url"}
    assert "lower-case" in errors["slug"][0]
    assert "Mars/Olympus" in errors["timezone"][0]
    assert "nobody" in errors["contact_email"][0]


def test_duplicate_slug_is_409(client):
    headers = officer_token()
    mentoring()
    make_event("other", [(wall("2030-02-01T10:00"), wall("2030-02-01T18:00"))])

    response = client.post("/api/v1/events", json={"slug": "mentoring", "title": "Again"}, headers=headers)
    assert response.status_code == 409
    assert "taken" in response.get_json()["errors"]["json"]["slug"][0]

    response = client.patch("/api/v1/events/other", json={"slug": "mentoring"}, headers=headers)
    assert response.status_code == 409
    assert client.get("/api/v1/events/other").status_code == 200


# --- writing ----------------------------------------------------------------------------


def test_create_an_event_with_sessions_and_panelists_then_read_it_publicly(app, client):
    assert app.config.get("WTF_CSRF_ENABLED", True)  # on, yet the token-authenticated API needs none
    headers = officer_token()

    response = client.post(
        "/api/v1/events",
        json={
            "slug": "re-envisioning",
            "kind": "series",
            "title": "Re-envisioning Technical Services",
            "description": "Skills, *training* and leadership.",
            "learning_outcomes": ["Identify skills", "Plan training"],
            "timezone": "America/Chicago",
            "contact_name": "Megan Dougherty",
            "contact_phone": "1-800-545-2433, ext. 5038",
        },
        headers=headers,
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["status"] == "draft"

    response = client.post(
        "/api/v1/events/re-envisioning/sessions",
        json={
            "title": "Case studies",
            "start_wall": "2030-03-05T13:00",
            "end_wall": "2030-03-05T14:00",
            "join_url": "https://meet.example.org/abc",
        },
        headers=headers,
    )
    assert response.status_code == 201, response.get_json()
    session = response.get_json()
    assert session["timezone"] == "America/Chicago"  # the event's zone by default
    assert session["starts_at"] == "2030-03-05T19:00:00+00:00"
    assert session["starts_at_local"] == "2030-03-05T13:00:00-06:00"
    assert session["join_url"] == "https://meet.example.org/abc"
    assert session["notes"] == []

    response = client.post(
        "/api/v1/panelists",
        json={"name": "Cory Tucker", "bio": "Surveyed **skills**.", "links": ["https://example.org/ct"]},
        headers=headers,
    )
    assert response.status_code == 201
    panelist_id = response.get_json()["id"]
    response = client.put(
        f"/api/v1/events/re-envisioning/panelists/{panelist_id}", json={"role": "presenter"}, headers=headers
    )
    assert response.status_code == 200
    assert [(p["name"], p["role"]) for p in response.get_json()["panelists"]] == [
        ("Cory Tucker", "presenter")
    ]

    assert client.get("/api/v1/events/re-envisioning").status_code == 404  # still a draft
    response = client.post("/api/v1/events/re-envisioning/publish", headers=headers)
    assert response.status_code == 200
    assert response.get_json()["status"] == "published"

    public = client.get("/api/v1/events/re-envisioning").get_json()
    assert public["title"] == "Re-envisioning Technical Services"
    assert public["learning_outcomes"] == ["Identify skills", "Plan training"]
    assert "<em>training</em>" in public["description_html"]
    assert public["contact_phone"] == "1-800-545-2433, ext. 5038"
    assert public["sessions"][0]["title"] == "Case studies"
    # the event's home zone (Chicago) first, then the display zones
    assert public["sessions"][0]["zone_lines"][:2] == ["1:00 PM–2:00 PM (Central)", "2:00 PM–3:00 PM (Eastern)"]
    assert public["panelists"][0]["links"] == ["https://example.org/ct"]
    assert [e["slug"] for e in client.get("/api/v1/events").get_json()] == ["re-envisioning"]
    panelist = client.get(f"/api/v1/panelists/{panelist_id}").get_json()
    assert panelist["events"][0]["role"] == "presenter"


def add_mentoring_session(client, start_wall: str, end_wall: str):  # type: ignore[no-untyped-def]
    """POST a session to the mentoring e-forum with an officer's token."""
    headers = officer_token()
    mentoring()
    return client.post(
        "/api/v1/events/mentoring/sessions", json={"start_wall": start_wall, "end_wall": end_wall}, headers=headers
    )


def test_a_spring_forward_time_is_422_with_the_message_on_the_field(client):
    response = add_mentoring_session(client, "2030-03-10T02:30", "2030-03-10T04:00")

    assert response.status_code == 422
    errors = response.get_json()["errors"]["json"]
    assert list(errors) == ["start_wall"]
    assert "does not exist in America/New_York" in errors["start_wall"][0]
    assert "spring forward" in errors["start_wall"][0]
    assert len(client.get("/api/v1/events/mentoring").get_json()["sessions"]) == 2


def test_an_ambiguous_fall_back_time_is_accepted_with_a_note(client):
    response = add_mentoring_session(client, "2030-11-03T01:30", "2030-11-03T03:00")

    assert response.status_code == 201
    data = response.get_json()
    assert data["starts_at"] == "2030-11-03T05:30:00+00:00"  # the first 1:30, still EDT
    assert len(data["notes"]) == 1
    assert "happens twice" in data["notes"][0]


def test_session_input_errors_name_their_field(client):
    headers = officer_token()
    mentoring()
    url = "/api/v1/events/mentoring/sessions"

    response = client.post(
        url, json={"start_wall": "2030-05-01T10:00", "end_wall": "2030-05-01T09:00"}, headers=headers
    )
    assert response.status_code == 422
    assert "end after it starts" in response.get_json()["errors"]["json"]["end_wall"][0]

    response = client.post(
        url, json={"start_wall": "2030-05-01T10:00-04:00", "end_wall": "tomorrow"}, headers=headers
    )
    errors = response.get_json()["errors"]["json"]
    assert "without an offset" in errors["start_wall"][0]
    assert "YYYY-MM-DD" in errors["end_wall"][0]

    response = client.post(url, json={}, headers=headers)
    assert set(response.get_json()["errors"]["json"]) == {"start_wall", "end_wall"}


def test_patching_a_session_moves_it_and_raises_its_sequence(client):
    headers = officer_token()
    event = mentoring()
    session_id = event.sessions[0].id

    response = client.patch(
        f"/api/v1/events/mentoring/sessions/{session_id}",
        json={"start_wall": "2030-09-10T11:00", "title": "Day one"},
        headers=headers,
    )

    assert response.status_code == 200, response.get_json()
    data = response.get_json()
    assert data["start_wall"] == "2030-09-10T11:00:00"
    assert data["end_wall"] == "2030-09-10T18:00:00"
    assert data["starts_at"] == "2030-09-10T15:00:00+00:00"
    assert data["title"] == "Day one"
    assert data["sequence"] == 1  # one change, one calendar update

    response = client.patch(
        f"/api/v1/events/mentoring/sessions/{session_id}",
        json={"end_wall": "2030-09-10T10:00"},
        headers=headers,
    )
    assert response.status_code == 422
    assert (
        client.get("/api/v1/events/mentoring").get_json()["sessions"][0]["end_wall"] == "2030-09-10T18:00:00"
    )


def test_patching_an_event_and_a_panelist(client):
    headers = officer_token()
    event = mentoring()
    panelist_id = event.panelist_links[1].panelist_id

    response = client.patch(
        "/api/v1/events/mentoring",
        json={"summary": "  Two days of mentoring talk. ", "learning_outcomes": ["Share", "Discuss"]},
        headers=headers,
    )
    assert response.status_code == 200
    assert response.get_json()["summary"] == "Two days of mentoring talk."
    assert response.get_json()["title"] == "Mentoring"  # untouched

    response = client.patch(f"/api/v1/panelists/{panelist_id}", json={"pronouns": "she/her"}, headers=headers)
    assert response.status_code == 200
    assert response.get_json()["pronouns"] == "she/her"
    response = client.patch(f"/api/v1/panelists/{panelist_id}", json={"name": " "}, headers=headers)
    assert response.status_code == 422
    assert response.get_json()["errors"]["json"]["name"]

    response = client.delete(f"/api/v1/events/mentoring/panelists/{panelist_id}", headers=headers)
    assert response.status_code == 204
    assert [p["name"] for p in client.get("/api/v1/events/mentoring").get_json()["panelists"]] == [
        "Jay L. Colbert"
    ]


def test_cancelling_an_event_cancels_its_sessions_and_keeps_it_readable(client):
    headers = officer_token()
    mentoring()

    response = client.post("/api/v1/events/mentoring/cancel", headers=headers)

    assert response.status_code == 200
    data = client.get("/api/v1/events/mentoring").get_json()
    assert data["status"] == "cancelled"
    assert {s["status"] for s in data["sessions"]} == {"cancelled"}
    assert all(s["sequence"] == 1 for s in data["sessions"])
    assert client.post("/api/v1/events/mentoring/publish", headers=headers).status_code == 409


def test_officers_are_told_when_a_series_crosses_a_dst_change(client):
    headers = officer_token()
    make_event(
        "weekly",
        [(wall(f"2030-03-{day:02d}T14:00"), wall(f"2030-03-{day:02d}T15:00")) for day in (5, 12)],
        kind="series",
    )

    data = client.get("/api/v1/events/weekly", headers=headers).get_json()

    assert [s["start_wall"][11:16] for s in data["sessions"]] == ["14:00", "14:00"]
    assert [s["starts_at"][11:13] for s in data["sessions"]] == ["19", "18"]
    assert len(data["dst_warnings"]) == 1
    assert "daylight-saving" in data["dst_warnings"][0]
    assert "dst_warnings" not in client.get("/api/v1/events/weekly").get_json()


# --- list and webinar settings ------------------------------------------------------------


def _register(event, email):  # type: ignore[no-untyped-def]
    """A confirmed address signing up: a seat, or the waiting list when the series is full."""
    db.session.add(Participant(email=email, email_key=email, confirmed_at=clock.now()))
    db.session.flush()
    subscription = subscriptions.subscribe(event, email, conduct_accepted=True)
    db.session.commit()
    return subscription


def test_officers_read_and_change_non_member_posts_and_webinar_settings(client):
    headers = officer_token()
    mentoring()
    officer_view = client.get("/api/v1/events/mentoring", headers=headers).get_json()
    assert (officer_view["non_member_posts"], officer_view["seat_limit"], officer_view["door_minutes"]) == (
        "hold",
        None,
        15,
    )
    public_view = client.get("/api/v1/events/mentoring").get_json()
    assert not {"non_member_posts", "seat_limit", "door_minutes", "moderation"} & set(public_view)

    changed = client.patch(
        "/api/v1/events/mentoring", json={"non_member_posts": "discard", "door_minutes": 30}, headers=headers
    )
    assert changed.status_code == 200
    assert (changed.get_json()["non_member_posts"], changed.get_json()["door_minutes"]) == ("discard", 30)
    stored = Event.by_slug("mentoring")
    assert (stored.non_member_posts, stored.door_minutes) == ("discard", 30)

    for body, field in (
        ({"non_member_posts": "bounce"}, "non_member_posts"),
        ({"seat_limit": 0}, "seat_limit"),
        ({"seat_limit": "40"}, "seat_limit"),
        ({"door_minutes": -1}, "door_minutes"),
        ({"door_minutes": 24 * 60 + 1}, "door_minutes"),
    ):
        refused = client.patch("/api/v1/events/mentoring", json=body, headers=headers)
        assert refused.status_code == 422 and field in refused.get_json()["errors"]["json"], body
    assert Event.by_slug("mentoring").door_minutes == 30  # nothing stored by a refusal

    made = client.post(
        "/api/v1/events",
        json={
            "slug": "cataloging",
            "title": "Cataloging",
            "kind": "series",
            "seat_limit": 40,
            "door_minutes": 5,
            "non_member_posts": "discard",
        },
        headers=headers,
    )
    assert made.status_code == 201
    assert {k: made.get_json()[k] for k in ("seat_limit", "door_minutes", "non_member_posts")} == {
        "seat_limit": 40,
        "door_minutes": 5,
        "non_member_posts": "discard",
    }
    assert made.get_json()["seats"] == {"limit": 40, "taken": 0, "left": 40, "waiting": 0}


def test_raising_the_seat_limit_through_the_api_seats_the_waiting_list(client):
    headers = officer_token()
    series = make_event("series", [(wall("2030-09-10T13:00"), wall("2030-09-10T14:00"))], kind="series")
    series.seat_limit = 1
    db.session.commit()
    _register(series, "first@x.org")
    waiting = _register(series, "second@x.org")
    assert waiting.status == "waitlisted"
    seats = client.get("/api/v1/events/series").get_json()["seats"]
    assert seats == {"limit": 1, "taken": 1, "left": 0, "waiting": 1}

    raised = client.patch("/api/v1/events/series", json={"seat_limit": 2}, headers=headers)
    assert raised.status_code == 200 and raised.get_json()["seat_limit"] == 2
    assert raised.get_json()["seats"] == {"limit": 2, "taken": 2, "left": 0, "waiting": 0}
    db.session.refresh(waiting)
    assert waiting.status == "active"
    assert len(outbox("welcome", "second@x.org")) == 1  # the promoted one is welcomed, with the invite

    unlimited = client.patch("/api/v1/events/series", json={"seat_limit": None}, headers=headers)
    assert unlimited.get_json()["seat_limit"] is None
    assert unlimited.get_json()["seats"] == {"limit": None, "taken": 2, "left": None, "waiting": 0}
