"""Leaving clears the leaver's calendar (#12.2): a METHOD:CANCEL per upcoming session, whatever
the door, in the same transaction; re-joining sends fresh invites that outrank it."""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from forum.core import clock
from forum.core.extensions import db
from forum.mail import links
from forum.mail.bounces import count_hard_bounces
from forum.mail.lmtp import start_lmtp
from forum.models import OutboundMessage, Subscription
from forum.subscriptions import erasure, service
from tests.conftest import csrf_from
from tests.support.calendars import make_event, parse_checked, subscribe
from tests.support.subscriptions import login_officer
from tests.test_unsubscribe_mailto import _mailto_address, _request

NOW = datetime(2025, 1, 10, 15, 0).astimezone()
WALLS = [
    (datetime(2024, 12, 3, 13), datetime(2024, 12, 3, 14)),  # already over: not cancelled
    (datetime(2025, 2, 4, 13), datetime(2025, 2, 4, 14)),
    (datetime(2025, 2, 11, 13), datetime(2025, 2, 11, 14)),
]


def _path(url: str) -> str:
    return url.removeprefix("http://forum.test")


def by_link(app: Flask, client: FlaskClient, sub: Subscription) -> None:
    page = client.get(_path(links.unsubscribe_url(sub))).get_data(as_text=True)
    client.post(_path(links.unsubscribe_url(sub)), data={"csrf_token": csrf_from(page)})


def by_one_click(app: Flask, client: FlaskClient, sub: Subscription) -> None:
    client.post(_path(links.unsubscribe_url(sub)), data={"List-Unsubscribe": "One-Click"})


def by_mail(app: Flask, client: FlaskClient, sub: Subscription) -> None:
    to = _mailto_address(sub)
    server = start_lmtp(app)
    try:
        with smtplib.LMTP(server.host, server.port) as lmtp:
            assert lmtp.sendmail("someone@example.org", [to], _request(to)) == {}
    finally:
        server.stop()


def by_erasing(app: Flask, client: FlaskClient, sub: Subscription) -> None:
    erasure.erase_participant(sub.participant)
    db.session.commit()


def by_bounces(app: Flask, client: FlaskClient, sub: Subscription) -> None:
    for day in range(app.config["BOUNCE_LIMIT"]):  # one hard bounce counts per day
        with clock.frozen(NOW + timedelta(days=day)):
            count_hard_bounces([sub.id])
    db.session.commit()


def by_officer(app: Flask, client: FlaskClient, sub: Subscription) -> None:
    login_officer(client)
    page = client.get(f"/manage/events/{sub.event.slug}/subscribers").get_data(as_text=True)
    client.post(
        f"/manage/events/{sub.event.slug}/subscribers/{sub.id}/remove", data={"csrf_token": csrf_from(page)}
    )


@pytest.mark.parametrize("door", [by_link, by_one_click, by_mail, by_erasing, by_bounces, by_officer])
def test_every_way_out_cancels_the_upcoming_sessions(
    app: Flask, client: FlaskClient, door: Callable[[Flask, FlaskClient, Subscription], None]
) -> None:
    with clock.frozen(NOW):
        event = make_event("fall-series", WALLS)
        sub = subscribe(event, "ana@example.org", name="Ana")
        stay = subscribe(event, "bob@example.org")
        held = {s.uid: s.sequence for s in event.sessions}
        door(app, client, sub)
    db.session.expire_all()
    assert db.session.get(Subscription, sub.id).status in ("unsubscribed", "disabled")
    rows = db.session.scalars(
        select(OutboundMessage).where(OutboundMessage.kind == "calendar-leave").order_by(OutboundMessage.id)
    ).all()
    assert [r.subscription_id for r in rows] == [sub.id, sub.id]  # the two upcoming sessions, only to them
    assert all(r.status == "queued" and r.recipient == "ana@example.org" for r in rows)
    upcoming = event.sessions[1:]
    for row, session in zip(rows, upcoming, strict=True):
        msg: EmailMessage = message_from_bytes(row.message, policy=policy.default)  # type: ignore[assignment]
        (part,) = [p for p in msg.walk() if p.get_content_type() == "text/calendar"]
        assert part.get_param("method") == "CANCEL"
        cal = parse_checked(part.get_content().encode())
        (vevent,) = cal.walk("VEVENT")
        assert cal["METHOD"] == "CANCEL" and str(vevent["STATUS"]) == "CANCELLED"
        assert str(vevent["UID"]) == f"{session.uid}@lists.forum.test"
        assert vevent["SEQUENCE"] > held[session.uid]  # outranks what their calendar holds
        assert str(vevent["ATTENDEE"]) == "mailto:ana@example.org"
    assert db.session.get(Subscription, stay.id).status == "active"


def test_rejoining_sends_fresh_invites(app: Flask, client: FlaskClient) -> None:
    with clock.frozen(NOW):
        event = make_event("fall-series", WALLS)
        sub = subscribe(event, "ana@example.org")
        sub.participant.confirmed_at = clock.now()
        service.unsubscribe(sub)
        db.session.commit()
    with clock.frozen(NOW + timedelta(days=1)):
        service.resubscribe(sub)
        db.session.commit()
    cancels = db.session.scalars(
        select(OutboundMessage).where(OutboundMessage.kind == "calendar-leave")
    ).all()
    invites = db.session.scalars(
        select(OutboundMessage)
        .where(OutboundMessage.kind.in_(("welcome", "calendar")))
        .order_by(OutboundMessage.id)
    ).all()
    assert len(cancels) == 2 and len(invites) == 2  # welcome (first invite) + the other session
    sequences = []
    for row in invites:
        msg = message_from_bytes(row.message, policy=policy.default)
        (part,) = [p for p in msg.walk() if p.get_content_type() == "text/calendar"]
        assert part.get_param("method") == "REQUEST"
        (vevent,) = parse_checked(part.get_content().encode()).walk("VEVENT")
        sequences.append(vevent["SEQUENCE"])
    assert sequences == [2, 2]  # above the CANCEL's 1


def test_the_page_after_leaving_says_what_mail_still_comes(app: Flask, client: FlaskClient) -> None:
    """Not "no more mail" followed by one "Removed from your calendar" per session: the page
    says before and after the click how many of those come, and the count is the outbox's."""
    with clock.frozen(NOW):
        event = make_event("fall-series", WALLS)
        sub = subscribe(event, "ana@example.org", name="Ana")
        url = _path(links.unsubscribe_url(sub))
        before = client.get(url).get_data(as_text=True)
        after = client.post(url, data={"csrf_token": csrf_from(before)}).get_data(as_text=True)
        again = client.get(url).get_data(as_text=True)  # the link opened later says the same
    assert "We will remove its 2 sessions from your calendar with one message per session" in before
    said = "We are removing 2 sessions from your calendar: you will get one message per session (2 in all)"
    assert said in after and said in again and "No more mail will come" not in after
    cancels = db.session.scalars(select(OutboundMessage).where(OutboundMessage.kind == "calendar-leave")).all()
    assert len(cancels) == 2


def test_leaving_an_eforum_without_invites_still_says_no_more_mail(app: Flask, client: FlaskClient) -> None:
    with clock.frozen(NOW):
        event = make_event("fall-forum", WALLS, kind="eforum")
        sub = subscribe(event, "ana@example.org")
        url = _path(links.unsubscribe_url(sub))
        before = client.get(url).get_data(as_text=True)
        after = client.post(url, data={"csrf_token": csrf_from(before)}).get_data(as_text=True)
    assert "You will get no more mail from it." in before
    assert "You have left" in after and "No more mail will come from it." in after
