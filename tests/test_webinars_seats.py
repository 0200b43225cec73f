"""Seat limits and the waiting list: fill, wait, leave -> promotion, raise the limit, races."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text

from forum.core import clock
from forum.core.extensions import db
from forum.mail import links
from forum.models import Event, Participant, Subscription
from forum.subscriptions import service
from forum.webinars import seats
from tests.conftest import BACKENDS, csrf_from
from tests.support.calendars import make_event
from tests.support.factories import sign_up as register
from tests.support.races import race
from tests.support.subscriptions import login_officer, outbox, text_of

NOW = datetime(2025, 1, 10, 15, 0).astimezone()
WALLS = [
    (datetime(2025, 2, 4, 13), datetime(2025, 2, 4, 14)),
    (datetime(2025, 2, 11, 13), datetime(2025, 2, 11, 14)),
]


def full_series(limit: int | None) -> Event:
    with clock.frozen(NOW):
        event = make_event("re-envisioning", WALLS)
        event.seat_limit = limit
        db.session.commit()
    return event



def statuses(event: Event) -> dict[str, str]:
    db.session.expire_all()
    return {
        s.participant.email: s.status
        for s in db.session.scalars(select(Subscription).where(Subscription.event_id == event.id))
    }


def test_fill_then_wait_with_position_and_mail_but_no_invite(app: Flask, client: FlaskClient) -> None:
    event = full_series(2)
    for n, email in enumerate(["a@x.org", "b@x.org", "c@x.org", "d@x.org"]):
        register(event, email, NOW + timedelta(minutes=n))
    assert statuses(event) == {
        "a@x.org": "active",
        "b@x.org": "active",
        "c@x.org": "waitlisted",
        "d@x.org": "waitlisted",
    }
    counts = seats.counts(event)
    assert (counts.taken, counts.left, counts.waiting, counts.full) == (2, 0, 2, True)
    assert outbox("welcome", "c@x.org") == [] and outbox("calendar", "c@x.org") == []
    (mail,) = outbox("waitlisted", "d@x.org")
    assert "number 2 in line" in text_of(mail)
    # signing up again while waiting keeps the place and sends nothing new
    register(event, "d@x.org", NOW + timedelta(hours=1))
    assert len(outbox("waitlisted", "d@x.org")) == 1
    d = db.session.scalars(select(Subscription).join(Participant).where(Participant.email == "d@x.org")).one()
    assert seats.waitlist_position(d) == 2
    with clock.frozen(NOW):
        page = client.get(links.preferences_url(d.participant).removeprefix("http://forum.test"))
        public = client.get("/events/re-envisioning").get_data(as_text=True)
    assert "number 2</strong> on the waiting list" in page.get_data(as_text=True)
    assert "This series is full." in public
    api = client.get("/api/v1/events/re-envisioning").get_json()
    assert api["seats"] == {"limit": 2, "taken": 2, "left": 0, "waiting": 2}


def test_leaving_promotes_the_next_in_line_with_welcome_and_invites(app: Flask) -> None:
    event = full_series(1)
    a = register(event, "a@x.org")
    register(event, "b@x.org", NOW + timedelta(minutes=1))
    register(event, "c@x.org", NOW + timedelta(minutes=2))
    with clock.frozen(NOW + timedelta(days=1)):
        service.unsubscribe(a)
        db.session.commit()
    assert statuses(event) == {"a@x.org": "unsubscribed", "b@x.org": "active", "c@x.org": "waitlisted"}
    (welcome,) = outbox("welcome", "b@x.org")
    assert "text/calendar" in welcome.message.decode()  # the welcome carries the first invite
    assert len(outbox("calendar", "b@x.org")) == 1  # and the second session's invite
    assert len(outbox("calendar-leave", "a@x.org")) == 2  # the leaver's calendar is cleared
    assert (
        seats.waitlist_position(
            db.session.scalars(select(Subscription).where(Subscription.status == "waitlisted")).one()
        )
        == 1
    )


def test_raising_the_limit_promotes_in_order(app: Flask, client: FlaskClient) -> None:
    event = full_series(1)
    for n, email in enumerate(["a@x.org", "b@x.org", "c@x.org", "d@x.org"]):
        register(event, email, NOW + timedelta(minutes=n))
    login_officer(client)
    with clock.frozen(NOW + timedelta(hours=1)):
        page = client.get("/manage/events/re-envisioning/seats").get_data(as_text=True)
        assert "b@x.org" in page and "c@x.org" in page
        assert "1 of 1 seats taken, 0 left, 3 waiting." in page  # the chart's text alternative
        assert page.count('<rect x="') == 2  # taken, and the queue beyond the limit (none left)
        response = client.post(
            "/manage/events/re-envisioning/seats",
            data={"csrf_token": csrf_from(page), "seat_limit": "3", "door_minutes": "15"},
        )
    assert response.status_code == 303
    assert statuses(event) == {
        "a@x.org": "active",
        "b@x.org": "active",
        "c@x.org": "active",
        "d@x.org": "waitlisted",
    }
    assert len(outbox("welcome", "b@x.org")) == len(outbox("welcome", "c@x.org")) == 1
    with clock.frozen(NOW + timedelta(hours=1)):
        bad = client.post(
            "/manage/events/re-envisioning/seats",
            data={"csrf_token": csrf_from(page), "seat_limit": "-4", "door_minutes": "15"},
        )
    assert bad.status_code == 400 and "at least 1" in bad.get_data(as_text=True)
    assert db.session.get(Event, event.id).seat_limit == 3

    # an officer gives d a seat by hand, over the limit
    d = db.session.scalars(select(Subscription).where(Subscription.status == "waitlisted")).one()
    with clock.frozen(NOW + timedelta(hours=2)):
        page = client.get("/manage/events/re-envisioning/seats").get_data(as_text=True)
        client.post(
            f"/manage/events/re-envisioning/seats/{d.id}/promote", data={"csrf_token": csrf_from(page)}
        )
    assert statuses(event)["d@x.org"] == "active" and len(outbox("welcome", "d@x.org")) == 1


def test_removed_from_the_waiting_list_by_an_officer(app: Flask, client: FlaskClient) -> None:
    event = full_series(1)
    register(event, "a@x.org")
    b = register(event, "b@x.org", NOW + timedelta(minutes=1))
    login_officer(client)
    with clock.frozen(NOW):
        page = client.get("/manage/events/re-envisioning/seats").get_data(as_text=True)
        client.post(
            f"/manage/events/re-envisioning/seats/{b.id}/remove", data={"csrf_token": csrf_from(page)}
        )
    assert statuses(event)["b@x.org"] == "unsubscribed"
    assert outbox("calendar-leave", "b@x.org") == []  # nothing was in their calendar


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b == "postgresql"])
def test_two_people_taking_the_last_seat_at_once_on_postgresql(app: Flask, backend: str) -> None:
    """Two real connections: the first holds the event lock until it commits; the second,
    blocked on that lock meanwhile, then sees the seat taken and waits."""
    event = full_series(1)
    with clock.frozen(NOW):
        for email in ("first@x.org", "second@x.org"):
            db.session.add(Participant(email=email, email_key=email, confirmed_at=clock.now()))
        db.session.commit()
    event_id = event.id
    first_done = threading.Event()
    results: dict[str, str] = {}
    pids: list[int] = []  # the second connection's backend

    def take(email: str, hold: bool) -> None:
        with app.app_context(), clock.frozen(NOW):
            ev = db.session.get(Event, event_id)
            assert ev is not None
            if not hold:
                assert first_done.wait(10)  # start once the first one holds the lock
                pids.append(db.session.execute(text("SELECT pg_backend_pid()")).scalar_one())
            sub = service.subscribe(ev, email, conduct_accepted=True)
            if hold:
                first_done.set()
                _wait_for_a_lock_waiter(pids)
            db.session.commit()
            results[email] = sub.status
            db.session.remove()

    race(take, "first@x.org", "second@x.org", first_done)
    assert results == {"first@x.org": "active", "second@x.org": "waitlisted"}
    assert sorted(statuses(db.session.get(Event, event_id)).values()) == ["active", "waitlisted"]
    assert len(outbox("welcome")) == 1 and len(outbox("waitlisted")) == 1


def test_an_import_into_a_capped_series_fills_the_seats_then_the_waiting_list(app: Flask) -> None:
    from forum.subscriptions.csv_import import import_rows

    event = full_series(2)
    register(event, "a@x.org")
    with clock.frozen(NOW):
        for email in ("b@x.org", "c@x.org", "d@x.org"):  # known, confirmed addresses
            db.session.add(Participant(email=email, email_key=email, confirmed_at=clock.now()))
        db.session.commit()
        report = import_rows(event, ["email", "b@x.org", "c@x.org", "d@x.org", "new@x.org"], batch_size=2)
    assert report.added == 4
    assert statuses(event) == {
        "a@x.org": "active",
        "b@x.org": "active",
        "c@x.org": "waitlisted",
        "d@x.org": "waitlisted",
        "new@x.org": "pending",  # confirms first, then gets a seat or a place in line
    }
    c, d = (
        db.session.scalars(select(Subscription).join(Participant).where(Participant.email == e)).one()
        for e in ("c@x.org", "d@x.org")
    )
    assert (seats.waitlist_position(c), seats.waitlist_position(d)) == (1, 2)
    assert len(outbox("waitlisted", "d@x.org")) == 1 and outbox("welcome", "d@x.org") == []


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b == "postgresql"])
def test_two_people_leaving_at_once_promote_two_different_people_on_postgresql(
    app: Flask, backend: str
) -> None:
    event = full_series(2)
    for n, email in enumerate(["a@x.org", "b@x.org", "c@x.org", "d@x.org", "e@x.org"]):
        register(event, email, NOW + timedelta(minutes=n))
    ids = {s.participant.email: s.id for s in db.session.scalars(select(Subscription))}
    first_done = threading.Event()
    pids: list[int] = []  # the second connection's backend

    def leave(email: str, hold: bool) -> None:
        with app.app_context(), clock.frozen(NOW + timedelta(days=1)):
            if not hold:
                assert first_done.wait(10)
                pids.append(db.session.execute(text("SELECT pg_backend_pid()")).scalar_one())
            sub = db.session.get(Subscription, ids[email])
            assert sub is not None
            service.unsubscribe(sub)
            if hold:
                first_done.set()
                _wait_for_a_lock_waiter(pids)
            db.session.commit()
            db.session.remove()

    race(leave, "a@x.org", "b@x.org", first_done)
    assert statuses(event) == {
        "a@x.org": "unsubscribed",
        "b@x.org": "unsubscribed",
        "c@x.org": "active",
        "d@x.org": "active",
        "e@x.org": "waitlisted",
    }
    assert [len(outbox("welcome", e)) for e in ("c@x.org", "d@x.org", "e@x.org")] == [1, 1, 0]
    sequences = {s.sequence for s in db.session.get(Event, event.id).sessions}
    assert sequences == {2}  # each leaver's CANCEL raised it once: no lost update


def _wait_for_a_lock_waiter(pids: list[int]) -> None:
    """Poll until the other connection (its backend pid in `pids`) waits for one of our locks."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if pids:
            with db.engine.connect() as conn:
                waiting = conn.execute(
                    text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"), {"pid": pids[0]}
                ).scalar()
            if waiting == "Lock":
                return
        time.sleep(0.05)
    raise AssertionError("the second transaction never waited for a lock")
