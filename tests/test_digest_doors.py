"""Digest and thread choices by either door: the preferences page (a signed link) and the
JSON API (the same preferences token) make the same change, refuse the same bad input,
and the digest that follows is the same."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from forum.core import clock
from forum.core.extensions import db
from forum.discussion import thread_choices
from forum.mail import links
from forum.scheduling.jobs import run_job
from forum.subscriptions.delivery import delivery_of
from tests.conftest import csrf_from
from tests.support.scheduling import add_post, eastern, make_forum, outbox, subject_of, subscribe, text_of

DAY = eastern(2019, 9, 9, 12)


def _page_url(sub) -> str:  # type: ignore[no-untyped-def]
    return links.preferences_url(sub.participant).removeprefix("http://forum.test")


def _token(sub) -> str:  # type: ignore[no-untyped-def]
    return _page_url(sub).rsplit("/", 1)[1]


def _by_page(client: FlaskClient, sub, fields: dict[str, str], threads_back: list[int] = ()):  # type: ignore[no-untyped-def]
    page = client.get(_page_url(sub))
    data: dict[str, Any] = {
        "csrf_token": csrf_from(page.data),
        "name": sub.participant.name,
        "timezone": sub.participant.timezone or "",
        "save": "Save preferences",
        **{f"{name}_{sub.id}": value for name, value in fields.items()},
    }
    for thread_id in threads_back:
        data[f"thread_{sub.id}_{thread_id}"] = "y"
    return client.post(_page_url(sub), data=data)


def _by_api(client: FlaskClient, sub, body: dict[str, Any]):  # type: ignore[no-untyped-def]
    return client.patch(f"/api/v1/preferences/{_token(sub)}/subscriptions/{sub.id}", json=body)


def test_digest_choices_by_either_door_give_the_same_digest(app, client: FlaskClient):
    event = make_forum(days=2)
    web = subscribe(event, "web@example.org", mode="each", zone="Europe/London")
    api = subscribe(event, "api@example.org", mode="each", zone="Europe/London")
    first = add_post(event, eastern(2019, 9, 10, 11), "Mentoring programs")
    add_post(event, eastern(2019, 9, 10, 12), "Reading lists")
    with clock.frozen(DAY):
        # both mute the first thread, one through the API, one through the link in mail
        assert client.put(
            f"/api/v1/preferences/{_token(api)}/subscriptions/{api.id}/threads/{first.thread_id}",
            json={"choice": "mute"},
        ).status_code == 200
        thread_choices.choose(web, first.thread_id, "mute")
        db.session.commit()
        by_page = _by_page(
            client,
            web,
            {"mode": "digest", "digest_rhythm": "daily", "digest_style": "subjects", "digest_hour": "7",
             "digest_weekday": "0"},
        )
        by_api = _by_api(client, api, {"mode": "digest", "digest_style": "subjects", "digest_hour": 7})
    assert by_page.status_code == 303 and by_api.status_code == 200
    db.session.expire_all()
    assert delivery_of(web) == delivery_of(api) == {
        "mode": "digest", "digest_rhythm": "daily", "digest_style": "subjects", "digest_hour": 7, "digest_weekday": 0,
    }
    body = by_api.get_json()
    assert body["digest_hour"] == 7 and body["threads"] == [
        {"thread_id": first.thread_id, "subject": "Mentoring programs", "choice": "mute"}
    ]
    with clock.frozen(DAY):
        page = client.get(_page_url(web)).get_data(as_text=True)
    assert "Muted: Mentoring programs" in page and '<option selected value="subjects">' in page

    run_job("digests", at=eastern(2019, 9, 11, 2, 5))  # 7:05 AM in London
    mails = [outbox("digest", f"{who}@example.org") for who in ("web", "api")]
    assert [len(m) for m in mails] == [1, 1]
    assert subject_of(mails[0][0]) == subject_of(mails[1][0])
    assert "subjects only" in subject_of(mails[0][0]) and "(1 message)" in subject_of(mails[0][0])
    assert "Reading lists" in text_of(mails[0][0]) and "Mentoring programs" not in text_of(mails[0][0])

    # letting go of the thread, by either door
    with clock.frozen(DAY):
        assert _by_page(
            client, web, {"mode": "digest", "digest_rhythm": "daily", "digest_style": "subjects",
                          "digest_hour": "7", "digest_weekday": "0"}, [first.thread_id]
        ).status_code == 303
        cleared = client.put(
            f"/api/v1/preferences/{_token(api)}/subscriptions/{api.id}/threads/{first.thread_id}",
            json={"choice": None},
        )
    assert cleared.status_code == 200 and cleared.get_json()["threads"] == []
    assert thread_choices.choices_of(web) == [] and thread_choices.choices_of(api) == []


def test_bad_choices_are_refused_alike_and_change_nothing(app, client: FlaskClient):
    event = make_forum(days=2)
    web = subscribe(event, "web@example.org", mode="digest")
    api = subscribe(event, "api@example.org", mode="digest")
    other = make_forum(slug="other")
    foreign = add_post(other, eastern(2019, 9, 10, 11), "Elsewhere")
    before = delivery_of(web)
    with clock.frozen(DAY):
        page = _by_page(client, web, {"mode": "digest", "digest_rhythm": "monthly", "digest_hour": "25"})
        assert page.status_code == 400 and b"Not a valid choice" in page.data
        for bad in ({"digest_rhythm": "monthly"}, {"digest_hour": 25}, {"digest_weekday": 7}, {"digest_style": "x"}):
            answer = _by_api(client, api, bad)
            assert answer.status_code == 422, bad
            assert list(answer.get_json()["errors"]["json"]) == list(bad)
        assert _by_api(client, api, {}).status_code == 422
        assert client.put(
            f"/api/v1/preferences/{_token(api)}/subscriptions/{api.id}/threads/{foreign.thread_id}",
            json={"choice": "mute"},
        ).status_code == 404
        mute_rest = client.put(
            f"/api/v1/preferences/{_token(api)}/subscriptions/{api.id}/threads/{foreign.thread_id}",
            json={"choice": "mute", "rest_mode": "digest"},
        )
        assert mute_rest.status_code == 422 and list(mute_rest.get_json()["errors"]["json"]) == ["rest_mode"]
        another = client.patch(f"/api/v1/preferences/{_token(api)}/subscriptions/{web.id}", json={"mode": "each"})
        assert another.status_code == 404  # someone else's subscription
        bad_token = client.get(f"/api/v1/preferences/{_token(api)[:-3]}xyz/subscriptions")
        assert bad_token.status_code == 401
    db.session.expire_all()
    assert delivery_of(web) == before == delivery_of(api)
