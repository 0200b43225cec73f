"""Registrations that need approval: waiting ones get nothing from the event; approving gives
exactly a normal registration (welcome, invites, a seat or the waiting list in approval
order); declining sends one mail; officers decide one by one or in bulk, on the web and
through the API, and two officers approving at once on PostgreSQL seat people in order."""

from __future__ import annotations

import threading
from datetime import datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from forum.core import clock
from forum.core.extensions import db
from forum.models import Event, OutboundMessage, Participant, Subscription
from forum.registration import approval
from forum.subscriptions import service
from forum.webinars import join_links
from tests.conftest import BACKENDS, csrf_from
from tests.support.api import officer_token
from tests.support.calendars import make_event
from tests.support.live import make_officer, post_form, sign_in
from tests.support.subscriptions import link_in, outbox, text_of

NOW = datetime(2025, 1, 10, 15, 0).astimezone()
WALLS = [
    (datetime(2025, 2, 4, 13), datetime(2025, 2, 4, 14)),
    (datetime(2025, 2, 11, 13), datetime(2025, 2, 11, 14)),
]


def series(limit: int | None = None) -> Event:
    with clock.frozen(NOW):
        event = make_event("members-only", WALLS)
        event.seat_limit = limit
        event.needs_approval = True
        db.session.commit()
    return event


def register(event: Event, email: str) -> Subscription:
    """A confirmed address signing up (register once)."""
    with clock.frozen(NOW):
        if Participant.by_email(email) is None:
            db.session.add(Participant(email=email, email_key=email, confirmed_at=clock.now()))
            db.session.flush()
        sub = service.subscribe(event, email, conduct_accepted=True)
        db.session.commit()
    return sub


def kinds(email: str) -> list[str]:
    return sorted(m.kind for m in outbox(recipient=email))


def test_a_waiting_registration_gets_nothing_from_the_event(app: Flask, client: FlaskClient) -> None:
    event = series(limit=5)
    sub = register(event, "ann@x.org")
    assert sub.status == "awaiting"
    assert kinds("ann@x.org") == []  # no welcome, no invites, no waiting-list mail
    # a new address confirms first, then waits too (the confirmation page says so)
    with clock.frozen(NOW):
        page = client.get("/events/members-only")
        client.post(
            "/events/members-only/subscribe", data={"csrf_token": csrf_from(page.data), "email": "bo@x.org"}
        )
        [confirm] = outbox("confirm", "bo@x.org")
        url = link_in(confirm, "/confirm/")
        done = client.post(url, data={"csrf_token": csrf_from(client.get(url).data)}).get_data(as_text=True)
    assert "The organisers approve each registration" in done
    assert kinds("bo@x.org") == ["confirm"]
    # no join link works while waiting
    session = event.sessions[0]
    with clock.frozen(session.starts_at):
        assert join_links.follow(sub, session, record=False).state == "not-active"
    # signing up again changes nothing
    register(event, "ann@x.org")
    assert kinds("ann@x.org") == []
    assert approval.counts(event) == {"awaiting": 2, "approved": 0, "declined": 0, "pending": 0}


def test_approve_gives_a_welcome_with_invites_and_a_seat(app: Flask) -> None:
    event = series(limit=5)
    sub = register(event, "ann@x.org")
    with clock.frozen(NOW):
        approval.approve([sub], "See you there!")
        db.session.commit()
    assert sub.status == "active" and sub.approved_at is not None
    assert kinds("ann@x.org") == ["calendar", "registration-approved", "welcome"]
    [note] = outbox("registration-approved", "ann@x.org")
    assert "See you there!" in text_of(note)
    # approving twice sends nothing more
    approval.approve([sub])
    db.session.commit()
    assert kinds("ann@x.org") == ["calendar", "registration-approved", "welcome"]


def test_decline_sends_one_mail_and_no_seat(app: Flask) -> None:
    event = series(limit=1)
    sub = register(event, "ann@x.org")
    approval.decline([sub], "The cohort is for members only.")
    db.session.commit()
    assert sub.status == "declined"
    [note] = outbox(recipient="ann@x.org")
    assert note.kind == "registration-declined" and "members only" in text_of(note)
    register(event, "ann@x.org")  # trying again changes nothing
    assert len(outbox(recipient="ann@x.org")) == 1
    other = register(event, "bo@x.org")
    approval.approve([other])
    db.session.commit()
    assert other.status == "active"  # the declined one held no seat


def test_the_waiting_list_fills_in_approval_order(app: Flask) -> None:
    event = series(limit=1)
    a, b, c = (register(event, f"{n}@x.org") for n in "abc")
    approval.approve([c, a, b])
    db.session.commit()
    assert (c.status, a.status, b.status) == ("active", "waitlisted", "waitlisted")
    assert a.waitlisted_at is not None and b.waitlisted_at is not None
    service.unsubscribe(c)
    db.session.commit()
    db.session.expire_all()
    assert (a.status, b.status) == ("active", "waitlisted")


def test_officer_decides_in_bulk_on_the_web(app: Flask, client: FlaskClient) -> None:
    event = series()
    subs = [register(event, f"{n}@x.org") for n in "abc"]
    make_officer()
    sign_in(client)
    url = "/manage/events/members-only/approvals"
    page = client.get(url).get_data(as_text=True)
    assert "a@x.org" in page and "Waiting for approval" in page
    none = post_form(client, url, {"approve": "Approve selected"})
    assert none.status_code == 400 and "Tick at least one" in none.get_data(as_text=True)
    done = post_form(
        client, url, {"sub": [str(subs[0].id), str(subs[1].id)], "message": "Welcome aboard", "approve": "1"}
    )
    assert done.status_code == 303
    db.session.expire_all()
    assert [s.status for s in subs] == ["active", "active", "awaiting"]
    assert all("Welcome aboard" in text_of(m) for m in outbox("registration-approved"))
    declined = post_form(client, url, {"sub": str(subs[2].id), "decline": "1"})
    assert declined.status_code == 303
    db.session.expire_all()
    assert subs[2].status == "declined"


def test_api_decisions_and_counts(app: Flask, client: FlaskClient) -> None:
    event = series()
    a, b = register(event, "a@x.org"), register(event, "b@x.org")
    headers = officer_token()
    url = "/api/v1/events/members-only/registrations"
    listed = client.get(f"{url}?status=awaiting", headers=headers).get_json()
    assert listed["counts"]["awaiting"] == 2 and listed["total"] == 2
    assert client.post(f"{url}/decisions", json={"decision": "approve", "ids": [a.id]}).status_code == 401
    done = client.post(f"{url}/decisions", json={"decision": "approve", "ids": [a.id, 999]}, headers=headers)
    assert done.status_code == 200, done.get_json()
    assert done.get_json() == {
        "decided": [a.id],
        "counts": {"awaiting": 1, "approved": 1, "declined": 0, "pending": 0},
    }
    bad = client.post(f"{url}/decisions", json={"decision": "maybe", "ids": [b.id]}, headers=headers)
    assert bad.status_code == 422
    done = client.post(
        f"{url}/decisions", json={"decision": "decline", "ids": [b.id], "message": "Sorry"}, headers=headers
    )
    assert done.get_json()["counts"]["declined"] == 1


def test_turning_approval_off_lets_everyone_waiting_in(app: Flask) -> None:
    event = series()
    sub = register(event, "a@x.org")
    assert approval.set_needs_approval(event, False) == 1
    db.session.commit()
    assert sub.status == "active"


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b == "postgresql"])
def test_two_officers_approving_at_once_seat_in_approval_order_on_postgresql(
    app: Flask, backend: str
) -> None:
    """Two connections approve different people for the last seat: whoever commits first gets
    it, the other is on the waiting list; nobody gets two welcomes."""
    event = series(limit=1)
    first, second = register(event, "first@x.org"), register(event, "second@x.org")
    ids = {"first@x.org": first.id, "second@x.org": second.id}
    started = threading.Event()
    errors: list[Exception] = []

    def decide(email: str, lead: bool) -> None:
        try:
            with app.app_context():
                if not lead:
                    assert started.wait(10)
                sub = db.session.get(Subscription, ids[email])
                assert sub is not None
                approval.approve([sub])
                if lead:
                    started.set()
                    threading.Event().wait(0.5)  # hold the event lock while the other one waits
                db.session.commit()
                db.session.remove()
        except Exception as exc:  # reported by the assertion below
            errors.append(exc)
            started.set()

    threads = [
        threading.Thread(target=decide, args=("first@x.org", True)),
        threading.Thread(target=decide, args=("second@x.org", False)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    db.session.expire_all()
    rows = {s.participant.email: s.status for s in db.session.scalars(select(Subscription))}
    assert rows == {"first@x.org": "active", "second@x.org": "waitlisted"}
    assert len(outbox("welcome")) == 1 and len(outbox("waitlisted")) == 1
    assert (
        db.session.scalar(
            select(db.func.count(OutboundMessage.id)).where(OutboundMessage.kind == "registration-approved")
        )
        == 2
    )
