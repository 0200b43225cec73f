"""What an event page says beside its button, and when registration stops: seats left or full
(the button then says "Join the waiting list") at the top, and an event whose last session is
over says it has ended, keeps its public recordings and refuses a registration at every door."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from forum.core import clock
from forum.core.extensions import db
from forum.models import Material, OutboundMessage, Subscription
from forum.subscriptions import service
from forum.subscriptions.service import welcome_message
from forum.subscriptions.state import registration_state
from tests.conftest import csrf_from
from tests.support.calendars import make_event
from tests.support.factories import sign_up as join
from tests.support.live import make_officer, sign_in

NOW = datetime(2025, 1, 10, 15, 0).astimezone()
WALLS = [
    (datetime(2025, 2, 4, 13), datetime(2025, 2, 4, 14)),
    (datetime(2025, 2, 11, 13), datetime(2025, 2, 11, 14)),
]
AFTER = datetime(2025, 2, 12, 9, 0).astimezone()


def series(limit: int | None = None, slug: str = "re-envisioning"):  # type: ignore[no-untyped-def]
    with clock.frozen(NOW):
        event = make_event(slug, WALLS)
        event.seat_limit = limit
        db.session.commit()
    return event



def head_of(html: str) -> str:
    """The page's header: what a visitor sees first, above the schedule."""
    start = html.index('<header class="event-head">')
    return html[start : html.index("</header>", start)]


def test_seats_left_then_full_show_at_the_top_beside_the_button(app: Flask, client: FlaskClient) -> None:
    event = series(2)
    with clock.frozen(NOW):
        head = head_of(client.get("/events/re-envisioning").get_data(as_text=True))
    assert "2 of 2 seats left." in head and ">Register</a>" in head
    join(event, "a@x.org")
    join(event, "b@x.org")
    join(event, "c@x.org")  # the waiting list
    with clock.frozen(NOW):
        html = client.get("/events/re-envisioning").get_data(as_text=True)
    head = head_of(html)
    assert ">Join the waiting list</a>" in head and ">Register</a>" not in head
    assert "This series is full." in head and "1 waiting." in head
    form = html[html.index('<section class="subscribe"') :]
    assert 'value="Join the waiting list"' in form and "Registering puts you on the waiting list" in form
    state = registration_state(event, NOW)
    assert (state.kind, state.button, state.waiting) == ("full", "Join the waiting list", 1)


def test_an_ended_event_says_so_keeps_its_recordings_and_has_no_form(app: Flask, client: FlaskClient) -> None:
    event = series()
    first = event.active_sessions[0]
    db.session.add(
        Material(session=first, kind="recording", title="Recording", url="https://video.example/1", public=True)
    )
    db.session.commit()
    with clock.frozen(AFTER):
        html = client.get("/events/re-envisioning").get_data(as_text=True)
        index = client.get("/").get_data(as_text=True)
    assert "This event has ended." in head_of(html)
    assert "/events/re-envisioning/subscribe" not in html and ">Register</a>" not in html
    assert "https://video.example/1" in html and "Recordings and materials" in html
    assert index.index("re-envisioning") > index.index('id="archive"')


def test_registering_after_the_end_is_refused_at_every_door(app: Flask, client: FlaskClient) -> None:
    series()
    with clock.frozen(NOW):
        token = csrf_from(client.get("/events/re-envisioning").data)  # a page left open in a tab
    with clock.frozen(AFTER):
        web = client.post(
            "/events/re-envisioning/subscribe",
            data={"csrf_token": token, "email": "late@example.org", "name": "Late", "conduct": "y"},
        )
        api = client.post(
            "/api/v1/events/re-envisioning/subscriptions",
            json={"email": "late2@example.org", "accept_conduct": True},
        )
    assert web.status_code == 400 and "This event has ended" in web.get_data(as_text=True)
    assert api.status_code == 422
    assert "This event has ended" in str(api.get_json())
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Subscription)) == 0
    assert db.session.scalar(select(func.count()).select_from(OutboundMessage)) == 0


def test_the_page_changes_when_the_event_ends(app: Flask, client: FlaskClient) -> None:
    """A browser's cached copy from before the end is not confirmed (304) afterwards."""
    series()
    with clock.frozen(NOW):
        before = client.get("/events/re-envisioning")
    with clock.frozen(AFTER - timedelta(hours=1)):  # not yet over: the same page
        same = client.get("/events/re-envisioning", headers={"If-None-Match": before.headers["ETag"]})
    assert same.status_code in (200, 304)
    with clock.frozen(AFTER):
        after = client.get("/events/re-envisioning", headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and "This event has ended." in after.get_data(as_text=True)


def test_an_officer_may_offer_the_recordings_to_registrants_after_the_end(app: Flask, client: FlaskClient) -> None:
    event = series()
    db.session.add(
        Material(
            session=event.active_sessions[0], kind="recording", title="Recording", url="https://video.example/1", public=False
        )
    )
    db.session.commit()
    make_officer()
    sign_in(client)
    page = client.get("/manage/events/re-envisioning/recordings").get_data(as_text=True)
    assert "Register for the recordings" in page
    saved = client.post(
        "/manage/events/re-envisioning/recordings/signup", data={"csrf_token": csrf_from(page), "offer": "y"}
    )
    assert saved.status_code == 303
    client.get("/logout")
    with clock.frozen(AFTER):
        html = client.get("/events/re-envisioning").get_data(as_text=True)
        assert "This event has ended." in head_of(html) and ">Register for the recordings</a>" in head_of(html)
        sent = client.post(
            "/events/re-envisioning/subscribe",
            data={"csrf_token": csrf_from(html), "email": "late@example.org", "name": "Late Comer", "conduct": "y"},
        )
    assert sent.status_code == 200, sent.get_data(as_text=True)[:3000]
    (sub,) = db.session.scalars(select(Subscription))
    assert sub.participant.email == "late@example.org"
    kinds = list(db.session.scalars(select(OutboundMessage.kind)))
    assert kinds == ["confirm"]  # then the welcome, which lists the recordings (registrants only)
    with clock.frozen(AFTER):
        service.confirm(sub)  # as the confirm link does
        text = welcome_message(sub).get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "https://video.example/1" in text
