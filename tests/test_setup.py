"""Setting events up quickly: deleting a never-published draft, cancelled drafts staying
private, a series of sessions in one step, duplicating an event across a DST change,
sessions that cross midnight, and dates in the past asking for confirmation."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest
from flask.testing import FlaskClient

from forum.core import clock
from forum.core.extensions import db
from forum.core.timezones import TimeInputError
from forum.events import panelists
from forum.events import service as events
from forum.models import Event, EventPanelist, Panelist, Session
from tests.support.factories import weekly
from tests.support.live import make_event, post_form


def frozen_now():  # type: ignore[no-untyped-def]
    from datetime import UTC

    return clock.frozen(datetime(2027, 1, 5, 12, 0, tzinfo=UTC))


# --- drafts -----------------------------------------------------------------------------


def test_deleting_a_draft_removes_sessions_and_links_but_keeps_panelists(signed_in: FlaskClient) -> None:
    draft = make_event(
        "draft-one",
        weekly(datetime(2027, 3, 2, 14)),
        kind="series",
        publish=False,
        panelists=(("Jay Colbert", "panelist"),),
    )
    page = signed_in.get("/manage/events/draft-one")
    assert "Delete draft" in page.get_data(as_text=True)
    response = post_form(signed_in, "/manage/events/draft-one/delete", {})
    assert response.status_code == 302 and response.headers["Location"].endswith("/manage/")
    db.session.expire_all()
    assert Event.by_slug("draft-one") is None
    assert db.session.query(Session).count() == 0
    assert db.session.query(EventPanelist).count() == 0
    assert [p.name for p in db.session.query(Panelist)] == ["Jay Colbert"]
    assert draft is not None


def test_a_published_event_cannot_be_deleted(signed_in: FlaskClient) -> None:
    make_event("live", [(datetime(2027, 3, 2, 14), datetime(2027, 3, 2, 15))])
    response = post_form(signed_in, "/manage/events/live", {}, action="/manage/events/live/delete")
    assert response.status_code == 302
    assert Event.by_slug("live") is not None
    assert "cancel it instead" in signed_in.get("/manage/events/live").get_data(as_text=True)
    with pytest.raises(ValueError):
        events.delete_draft(Event.by_slug("live"))  # type: ignore[arg-type]


def test_a_cancelled_draft_never_becomes_public(signed_in: FlaskClient) -> None:
    make_event("secret-draft", [(datetime(2099, 3, 2, 14), datetime(2099, 3, 2, 15))], publish=False)
    make_event("was-live", [(datetime(2099, 3, 2, 14), datetime(2099, 3, 2, 15))])
    for slug in ("secret-draft", "was-live"):
        assert post_form(signed_in, f"/manage/events/{slug}/cancel", {}).status_code == 302
        assert Event.by_slug(slug).status == "cancelled"  # type: ignore[union-attr]
    anonymous = signed_in.application.test_client()
    home = anonymous.get("/").get_data(as_text=True)
    assert "Secret Draft" not in home and "Was Live" in home
    assert anonymous.get("/events/secret-draft").status_code == 404
    assert anonymous.get("/events/was-live").status_code == 200
    api = anonymous.get("/api/v1/events").get_json()
    assert all(e["slug"] != "secret-draft" for e in api)
    assert anonymous.get("/api/v1/events/secret-draft").status_code == 404
    assert anonymous.get("/api/v1/events/was-live").status_code == 200
    assert anonymous.get("/events/secret-draft.ics").status_code == 404


# --- a series in one step ----------------------------------------------------------------


def test_weekly_series_of_six_in_one_step_keeps_the_form(signed_in: FlaskClient) -> None:
    make_event("webinars", [], kind="series", zone="Europe/London", publish=False)
    with frozen_now():
        response = post_form(
            signed_in,
            "/manage/events/webinars/sessions",
            {
                "series-title_pattern": "Session {n}",
                "series-first_date": "2027-03-02",
                "series-start_time": "14:00",
                "series-end_time": "15:00",
                "series-timezone": "Europe/London",
                "series-repeat": "weekly",
                "series-count": "6",
                "series-join_url": "https://zoom.example/j/123",
            },
            action="/manage/events/webinars/sessions/series",
        )
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
        event = Event.by_slug("webinars")
        assert event is not None
        sessions = sorted(event.sessions, key=lambda s: s.starts_at)
        assert [s.title for s in sessions] == [f"Session {n}" for n in range(1, 7)]
        assert [s.start_wall for s in sessions] == [datetime(2027, 3, d, 14) for d in (2, 9, 16, 23, 30)] + [
            datetime(2027, 4, 6, 14)
        ]
        # London moves to summer time on 28 March: local hours stay 14:00, UTC moves
        assert sessions[3].starts_at.hour == 14 and sessions[4].starts_at.hour == 13
        assert {s.join_url for s in sessions} == {"https://zoom.example/j/123"}
        page = signed_in.get("/manage/events/webinars/sessions").get_data(as_text=True)
    assert 'value="Session {n}"' in page
    assert 'value="https://zoom.example/j/123"' in page
    assert 'value="14:00"' in page and 'value="15:00"' in page



def test_series_form_keeps_the_number_of_sessions_last_added(signed_in: FlaskClient) -> None:
    make_event("four", [], kind="series", publish=False)
    series = {
        "series-first_date": "2027-03-02",
        "series-start_time": "14:00",
        "series-end_time": "15:00",
        "series-timezone": "America/New_York",
        "series-repeat": "weekly",
        "series-count": "4",
    }
    with frozen_now():
        response = post_form(signed_in, "/manage/events/four/sessions", series, action="/manage/events/four/sessions/series")
        assert response.status_code == 302
        page = signed_in.get("/manage/events/four/sessions").get_data(as_text=True)
    assert len(Event.by_slug("four").sessions) == 4  # type: ignore[union-attr]
    assert 'name="series-count"' in page and 'value="4"' in page and 'value="6"' not in page


def test_a_session_later_today_is_added_without_asking_and_an_earlier_one_says_today(
    signed_in: FlaskClient,
) -> None:
    make_event("today", [], kind="series", publish=False)
    # 12:00 UTC is 7:00 AM in New York
    later = {"date": "2027-01-05", "start_time": "15:00", "end_time": "16:00", "timezone": "America/New_York"}
    earlier = {**later, "start_time": "06:00", "end_time": "06:30"}
    with frozen_now():
        added = post_form(signed_in, "/manage/events/today/sessions", later)
        refused = post_form(signed_in, "/manage/events/today/sessions", earlier)
    assert added.status_code == 302
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "6:00 AM today has already gone by" in html and "This date is in the past" not in html
    assert len(Event.by_slug("today").sessions) == 1  # type: ignore[union-attr]


def test_the_session_title_hint_fits_the_kind_of_event(signed_in: FlaskClient) -> None:
    make_event("web-series", [], kind="series", publish=False)
    make_event("e-days", [], kind="eforum", publish=False)
    webinar = signed_in.get("/manage/events/web-series/sessions").get_data(as_text=True)
    eforum = signed_in.get("/manage/events/e-days/sessions").get_data(as_text=True)
    assert "Optional for an e-forum day" not in webinar and "Shown on the event page" in webinar
    assert "Optional for an e-forum day" in eforum


def test_monthly_series_keeps_the_weekday_of_the_month() -> None:
    # 2nd Tuesday of March 2027 is the 9th
    assert events.series_dates(date(2027, 3, 9), "monthly", 4) == [
        date(2027, 3, 9),
        date(2027, 4, 13),
        date(2027, 5, 11),
        date(2027, 6, 8),
    ]
    # the last (5th) Tuesday stays the last one
    assert events.series_dates(date(2027, 3, 30), "monthly", 2) == [date(2027, 3, 30), date(2027, 4, 27)]
    assert events.series_dates(date(2027, 3, 2), "biweekly", 3) == [
        date(2027, 3, 2),
        date(2027, 3, 16),
        date(2027, 3, 30),
    ]


def test_a_series_with_a_date_in_a_dst_gap_adds_nothing(app) -> None:  # type: ignore[no-untyped-def]
    event = make_event("gap", [], kind="series", publish=False)
    with pytest.raises(TimeInputError, match="does not exist"):
        events.add_session_series(
            event, date(2027, 3, 7), time(2, 30), time(3, 30), "America/New_York", repeat="weekly", count=3
        )
    assert event.sessions == []


# --- midnight and the past ---------------------------------------------------------------


def test_a_session_can_cross_midnight(signed_in: FlaskClient) -> None:
    make_event("late", [], kind="series", publish=False)
    with frozen_now():
        response = post_form(
            signed_in,
            "/manage/events/late/sessions",
            {
                "date": "2027-03-02",
                "start_time": "23:00",
                "end_time": "01:00",
                "timezone": "America/New_York",
            },
        )
    assert response.status_code == 302, response.get_data(as_text=True)[:1500]
    (session,) = Event.by_slug("late").sessions  # type: ignore[union-attr]
    assert session.start_wall == datetime(2027, 3, 2, 23)
    assert session.end_wall == datetime(2027, 3, 3, 1)
    page = signed_in.get("/manage/events/late/sessions").get_data(as_text=True)
    assert "(next day)" in page


def test_a_date_in_the_past_asks_for_confirmation(signed_in: FlaskClient) -> None:
    make_event("old", [], kind="series", publish=False)
    data = {"date": "2026-12-01", "start_time": "10:00", "end_time": "11:00", "timezone": "America/New_York"}
    with frozen_now():
        first = post_form(signed_in, "/manage/events/old/sessions", data)
        assert first.status_code == 400
        html = first.get_data(as_text=True)
        assert "This date is in the past" in html and 'name="confirm_past"' in html
        assert Event.by_slug("old").sessions == []  # type: ignore[union-attr]
        second = post_form(signed_in, "/manage/events/old/sessions", {**data, "confirm_past": "y"})
    assert second.status_code == 302
    assert len(Event.by_slug("old").sessions) == 1  # type: ignore[union-attr]


# --- duplicate -------------------------------------------------------------------------


def test_duplicate_keeps_local_times_across_a_dst_change(signed_in: FlaskClient) -> None:
    original = make_event(
        "winter-series",
        [
            (datetime(2027, 1, 12, 14), datetime(2027, 1, 12, 15)),  # EST (UTC-5)
            (datetime(2027, 1, 19, 14), datetime(2027, 1, 19, 15)),
            (datetime(2027, 1, 26, 14), datetime(2027, 1, 26, 15)),
        ],
        kind="series",
        panelists=(("Jeannette Ho", "moderator"), ("Nicole Smeltekop", "panelist")),
        learning_outcomes="Share experiences\nBrainstorm ideas",
        conduct_url="https://example.org/conduct",
    )
    original.seat_limit, original.door_minutes, original.non_member_posts = 40, 10, "discard"
    db.session.commit()
    response = post_form(
        signed_in,
        "/manage/events/winter-series/duplicate",
        {"title": "Spring series", "slug": "", "first_date": "2027-03-09"},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:1500]
    copy = Event.by_slug("spring-series")
    assert copy is not None and copy.status == "draft" and copy.published_at is None
    assert copy.learning_outcomes == original.learning_outcomes
    assert copy.conduct_url == original.conduct_url and copy.kind == "series"
    # the settings an officer chose come along too (seats, the door, non-member mail)
    assert (copy.seat_limit, copy.door_minutes, copy.non_member_posts) == (40, 10, "discard")
    assert [(link.panelist.name, link.role) for link in copy.panelist_links] == [
        ("Jeannette Ho", "moderator"),
        ("Nicole Smeltekop", "panelist"),
    ]
    sessions = sorted(copy.sessions, key=lambda s: s.starts_at)
    # 3/9 and 3/16 straddle the US change on 3/14/2027: local 2 PM both times
    assert [s.start_wall for s in sessions] == [
        datetime(2027, 3, 9, 14),
        datetime(2027, 3, 16, 14),
        datetime(2027, 3, 23, 14),
    ]
    assert [s.starts_at.hour for s in sessions] == [19, 18, 18]  # UTC follows the clock change
    assert {s.uid for s in sessions}.isdisjoint({s.uid for s in original.sessions})
    assert db.session.query(Panelist).count() == 2  # the same people, not copies


# --- titles over the limit are refused, not cut ------------------------------------------


def test_a_title_over_the_limit_is_refused_with_a_message(signed_in: FlaskClient) -> None:
    long_title = "Mentoring" * 30  # 270 characters, no spaces
    page = signed_in.get("/manage/events/new").get_data(as_text=True)
    assert 'maxlength="200"' not in page.split('id="title"')[1].split(">")[0]  # the browser must not cut it
    response = post_form(
        signed_in,
        "/manage/events/new",
        {
            "kind": "eforum",
            "title": long_title,
            "timezone": "America/New_York",
            "moderation": "new",
            "digest_hour": "18",
            "reminder_offsets": "",
        },
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "The title is 200 characters at most" in html
    assert f'value="{long_title}"' in html  # what was typed is kept whole
    assert db.session.query(Event).count() == 0


def test_the_api_refuses_a_title_over_the_limit(client: FlaskClient) -> None:
    from tests.support.api import officer_token

    response = client.post(
        "/api/v1/events", json={"slug": "long", "title": "x" * 201}, headers=officer_token()
    )
    assert response.status_code == 422
    assert "title" in response.get_json()["errors"]["json"]
    assert db.session.query(Event).count() == 0


# --- panelists of one session -------------------------------------------------------------


def test_a_panelist_can_be_attached_to_one_session(signed_in: FlaskClient) -> None:
    event = make_event(
        "series-people",
        weekly(datetime(2099, 3, 2, 14)),
        kind="series",
        panelists=(("Cory Tucker", "presenter"), ("Jacob Nadal", "presenter")),
    )
    first, second = sorted(event.sessions, key=lambda s: s.starts_at)
    cory, jacob = (link.panelist for link in event.panelist_links)
    url = f"/manage/events/series-people/sessions/{second.id}"
    page = signed_in.get(url).get_data(as_text=True)
    assert "Panelists in this session" in page and f'value="{jacob.id}"' in page
    response = post_form(
        signed_in,
        url,
        {
            "title": "Leadership",
            "date": "2099-03-09",
            "start_time": "14:00",
            "end_time": "15:00",
            "timezone": "America/New_York",
            "panelist_ids": str(jacob.id),
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:1500]
    db.session.expire_all()
    assert [p.name for p in second.panelists] == ["Jacob Nadal"] and first.panelists == []
    public = signed_in.application.test_client().get("/events/series-people").get_data(as_text=True)
    block = public[public.index("Leadership") :]
    assert f'With <a href="/panelists/{jacob.id}">Jacob Nadal</a>' in block[:3000]
    copy = events.duplicate_event(event, title="Copy", slug="copy-people", first_day=date(2099, 4, 6))
    db.session.commit()
    assert [p.name for s in sorted(copy.sessions, key=lambda s: s.starts_at) for p in s.panelists] == [
        "Jacob Nadal"
    ]
    # taking Jacob off the event takes him off its sessions too
    link = next(link for link in event.panelist_links if link.panelist_id == jacob.id)
    panelists.detach_panelist(link)
    db.session.commit()
    assert second.panelists == [] and cory is not None
