"""Topics: the officer-managed list, and events and pathways filed under topics through the
officer pages and the JSON API alike (one rule in `forum.common.topics.by_slugs`)."""

from __future__ import annotations

from datetime import datetime

from flask.testing import FlaskClient
from sqlalchemy import select

from forum.common import topics
from forum.core.extensions import db
from forum.models import Event, Pathway, Topic
from tests.support.api import officer_token
from tests.support.calendars import make_event
from tests.support.factories import login_officer
from tests.support.live import post_form
from tests.test_door_parity import snapshot, twin_series, web_form

WALLS = [(datetime(2030, 9, 10, 13), datetime(2030, 9, 10, 14))]


def _topics(*names: str) -> list[Topic]:
    made = [topics.save_topic(None, name=name) for name in names]
    db.session.commit()
    return made


def _event_topics(slug: str) -> list[str]:
    db.session.expire_all()
    event = Event.by_slug(slug)
    assert event is not None
    return [t.slug for t in event.topics]


def test_officers_add_rename_and_remove_topics(client: FlaskClient) -> None:
    login_officer(client)
    added = post_form(client, "/manage/topics", {"name": "  Youth   services ", "slug": ""})
    assert added.status_code == 302
    topic = Topic.by_slug("youth-services")
    assert topic is not None and topic.name == "Youth services"
    make_event("storytime", WALLS)
    event = Event.by_slug("storytime")
    assert event is not None
    event.topics = [topic]
    db.session.commit()

    clash = post_form(client, "/manage/topics", {"name": "Youth", "slug": "youth-services"})
    assert clash.status_code == 400 and "already uses the address" in clash.get_data(as_text=True)
    empty = post_form(client, "/manage/topics", {"name": " ", "slug": ""})
    assert empty.status_code == 400 and "Give the topic a name" in empty.get_data(as_text=True)

    renamed = post_form(
        client, "/manage/topics/youth-services", {"name": "Children and teens", "slug": "youth-services"}
    )
    assert renamed.status_code == 302
    listing = client.get("/manage/topics").get_data(as_text=True)
    assert "Children and teens" in listing and "youth-services" in listing  # the address stays
    assert _event_topics("storytime") == ["youth-services"]

    removed = post_form(client, "/manage/topics", {}, action="/manage/topics/youth-services/delete")
    assert removed.status_code == 302
    assert Topic.by_slug("youth-services") is None
    assert _event_topics("storytime") == []  # the event stays, without the topic


def test_topics_are_picked_alike_by_the_event_form_and_the_api(client: FlaskClient) -> None:
    _topics("Cataloging", "Metadata", "Youth services")
    twins = twin_series()
    login_officer(client)
    headers = officer_token()
    form = client.get("/manage/events/by-web/edit").get_data(as_text=True)
    assert 'value="cataloging"' in form and "Youth services" in form  # offered as check boxes

    web = post_form(
        client, "/manage/events/by-web/edit", {**web_form(twins["web"]), "topics": ["metadata", "cataloging"]}
    )
    api = client.patch("/api/v1/events/by-api", json={"topics": ["metadata", "cataloging"]}, headers=headers)

    assert web.status_code == 302 and api.status_code == 200
    assert _event_topics("by-web") == _event_topics("by-api") == ["cataloging", "metadata"]
    assert snapshot(twins["web"]) == snapshot(twins["api"])  # nothing else differs (no mail for topics)
    shown = [(t["slug"], t["name"]) for t in api.get_json()["topics"]]
    assert shown == [("cataloging", "Cataloging"), ("metadata", "Metadata")]
    assert api.get_json()["topics"][0]["feed_url"].endswith("/feeds/topics/cataloging.ics")
    public = client.get("/api/v1/events/by-web").get_json()  # token-less read: topics are public
    assert [t["slug"] for t in public["topics"]] == ["cataloging", "metadata"]

    # an unknown topic is refused alike, and nothing changes
    web_bad = post_form(client, "/manage/events/by-web/edit", {**web_form(twins["web"]), "topics": ["nope"]})
    api_bad = client.patch("/api/v1/events/by-api", json={"topics": ["nope"]}, headers=headers)
    assert web_bad.status_code == 400 and "No such topic: nope" in web_bad.get_data(as_text=True)
    assert api_bad.status_code == 404  # a topic that is not there, like an unknown learning need
    (message,) = api_bad.get_json()["errors"]["json"]["topics"]
    assert message.startswith("No such topic: nope")
    assert _event_topics("by-web") == _event_topics("by-api") == ["cataloging", "metadata"]

    # none ticked / an empty list clears them alike
    post_form(client, "/manage/events/by-web/edit", web_form(twins["web"]))
    client.patch("/api/v1/events/by-api", json={"topics": []}, headers=headers)
    assert _event_topics("by-web") == _event_topics("by-api") == []


def test_a_new_event_takes_topics_through_either_door(client: FlaskClient) -> None:
    _topics("Cataloging")
    login_officer(client)
    headers = officer_token()
    web = post_form(
        client,
        "/manage/events/new",
        {
            "kind": "series",
            "title": "RDA basics",
            "slug": "rda-web",
            "timezone": "America/New_York",
            "moderation": "new",
            "non_member_posts": "hold",
            "digest_hour": "18",
            "reminder_offsets": "",
            "topics": ["cataloging"],
        },
    )
    api = client.post(
        "/api/v1/events",
        json={"kind": "series", "title": "RDA basics", "slug": "rda-api", "topics": ["cataloging"]},
        headers=headers,
    )
    assert web.status_code == 302, web.get_data(as_text=True)[:2000]
    assert api.status_code == 201
    assert _event_topics("rda-web") == _event_topics("rda-api") == ["cataloging"]


def test_pathways_pick_topics_on_the_form_and_in_the_api(client: FlaskClient) -> None:
    _topics("Cataloging", "Leadership")
    login_officer(client)
    headers = officer_token()
    web = post_form(
        client,
        "/manage/pathways/new",
        {"title": "New cataloger", "slug": "new-cataloger-web", "topics": ["leadership", "cataloging"]},
    )
    api = client.post(
        "/api/v1/pathways",
        json={"title": "New cataloger", "slug": "new-cataloger-api", "topics": ["leadership", "cataloging"]},
        headers=headers,
    )
    assert web.status_code == 303 and api.status_code == 201
    db.session.expire_all()
    made = {p.slug: [t.slug for t in p.topics] for p in db.session.scalars(select(Pathway))}
    assert made == {
        "new-cataloger-web": ["cataloging", "leadership"],
        "new-cataloger-api": ["cataloging", "leadership"],
    }
    assert [t["slug"] for t in api.get_json()["topics"]] == ["cataloging", "leadership"]

    bad = client.post(
        "/api/v1/pathways", json={"title": "Other", "slug": "other", "topics": ["nope"]}, headers=headers
    )
    assert bad.status_code == 404 and "topics" in bad.get_json()["errors"]["json"]
    edit = client.get("/manage/pathways/new-cataloger-web/edit").get_data(as_text=True)
    assert 'value="leadership" checked' in edit or ('value="leadership"' in edit and "checked" in edit)
