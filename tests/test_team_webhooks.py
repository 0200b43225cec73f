"""Webhooks out: registrations, attendance and certificates reach a real local receiver that
checks each signature with the Standard Webhooks reference library; retries after 500s, an
endpoint switched off after a day (frozen clock), and no delivery to private addresses."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from forum.common import fanout
from forum.core import clock
from forum.core.extensions import db
from forum.models import OutboundMessage, Participant, Subscription, WebhookEndpoint
from forum.subscriptions.csv_import import import_rows
from forum.team import webhook_post, webhook_send, webhooks
from tests.conftest import csrf_from
from tests.support.api import make_event
from tests.support.ce import register
from tests.support.team import officer_with, sign_in
from tests.support.webhooks import Receiver, deliveries, receiving

DAYS = [(datetime(2030, 9, 10, 10), datetime(2030, 9, 10, 18))]
T0 = clock.now().replace(microsecond=0)


@pytest.fixture(autouse=True)
def _now() -> None:
    """T0 is now, for each test: the receiver verifies signatures with the reference library,
    which refuses a timestamp more than five minutes from the real clock, so a T0 taken when
    the module was imported fails once a long suite has run for five minutes."""
    global T0
    T0 = clock.now().replace(microsecond=0)


@pytest.fixture
def receiver(app: Flask) -> Iterator[Receiver]:
    with receiving(app) as found:
        yield found


def _endpoint(event_id: int | None, url: str, kinds: list[str]) -> WebhookEndpoint:
    event = (
        db.session.get(__import__("forum.models", fromlist=["Event"]).Event, event_id) if event_id else None
    )
    endpoint = webhooks.add_endpoint(event, url, kinds, by_id=None)
    db.session.commit()
    return endpoint


def test_an_officer_adds_a_webhook_and_a_registration_is_delivered_signed(
    app: Flask, client: FlaskClient, receiver: Receiver
) -> None:
    event = make_event("cataloging", DAYS, kind="series")
    sign_in(client, officer_with(event, "owner", "owner@example.org"))
    page = client.get("/manage/events/cataloging/webhooks")
    added = client.post(
        "/manage/events/cataloging/webhooks",
        data={
            "csrf_token": csrf_from(page.get_data(as_text=True)),
            "url": receiver.url,
            "kinds": ["registration.confirmed", "attendance.recorded"],
        },
    )
    assert added.status_code == 303
    endpoint = db.session.scalars(select(WebhookEndpoint)).one()
    receiver.secret = endpoint.secret
    sub = register(event, "ann@example.org", "Ann Reader")  # committed: the delivery is written with it
    [delivery] = deliveries()
    assert receiver.received == []  # nothing is sent with the change
    assert webhook_send.deliver_due() == []
    [got] = receiver.received
    assert got["id"] == delivery.msg_id
    assert got["payload"]["type"] == "registration.confirmed"  # type: ignore[index]
    assert got["payload"]["data"] == {  # type: ignore[index]
        "id": sub.id,
        "status": "active",
        "email": "ann@example.org",
        "name": "Ann Reader",
        "event": "cataloging",
    }
    [delivery] = deliveries()
    assert (delivery.status, delivery.attempts, delivery.last_status) == ("delivered", 1, 200)
    log = client.get(f"/manage/events/cataloging/webhooks/{endpoint.id}").get_data(as_text=True)
    assert "registration.confirmed" in log and "delivered" in log and endpoint.secret in log


def test_retries_after_500s_with_backoff_then_delivers_once(app: Flask, receiver: Receiver) -> None:
    event = make_event("cataloging", DAYS, kind="series")
    receiver.secret = _endpoint(event.id, receiver.url, ["registration.confirmed"]).secret
    receiver.answers = [500, 500]
    with clock.frozen(T0):
        register(event, "ann@example.org")
        webhook_send.deliver_due(T0)
    [delivery] = deliveries()
    assert (delivery.status, delivery.attempts, delivery.last_status) == ("pending", 1, 500)
    assert delivery.next_attempt_at == T0 + timedelta(seconds=30)
    webhook_send.deliver_due(T0 + timedelta(seconds=10))  # not due yet
    assert len(receiver.received) == 1
    webhook_send.deliver_due(T0 + timedelta(seconds=31))
    [delivery] = deliveries()
    assert delivery.attempts == 2 and delivery.next_attempt_at == T0 + timedelta(seconds=91)
    webhook_send.deliver_due(T0 + timedelta(seconds=91))
    [delivery] = deliveries()
    assert delivery.status == "delivered" and delivery.attempts == 3
    assert {r["id"] for r in receiver.received} == {delivery.msg_id}  # one idempotency key throughout


def test_an_endpoint_failing_for_a_day_is_switched_off_and_its_maker_told(
    app: Flask, receiver: Receiver
) -> None:
    event = make_event("cataloging", DAYS, kind="series")
    owner = officer_with(event, "owner", "owner@example.org")
    endpoint = webhooks.add_endpoint(event, receiver.url, ["registration.confirmed"], by_id=owner.id)
    db.session.commit()
    receiver.secret = endpoint.secret
    receiver.answers = [500] * 100
    with clock.frozen(T0):
        register(event, "ann@example.org")
    at = T0
    while at < T0 + timedelta(days=1, hours=2):
        webhook_send.deliver_due(at)
        at += timedelta(minutes=30)
    [delivery] = deliveries()
    assert delivery.status == "failed" and 20 < delivery.attempts < 40  # hourly at most, for a day
    endpoint = db.session.get(WebhookEndpoint, endpoint.id)
    assert endpoint is not None and not endpoint.active and "failed for a day" in endpoint.disabled_reason
    [mail] = db.session.scalars(select(OutboundMessage).where(OutboundMessage.kind == "webhook_off")).all()
    assert "owner@example.org" in mail.recipient
    tries = len(receiver.received)
    register(event, "bob@example.org")
    webhook_send.deliver_due(at + timedelta(hours=1))
    assert len(receiver.received) == tries  # switched off: nothing more is sent


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.5/hooks",
        "http://169.254.169.254/latest/meta-data",
        "http://127.0.0.1:9/x",
        "http://[::1]:9/x",
        "ftp://example.org/x",
    ],
)
def test_no_delivery_to_private_addresses(app: Flask, url: str) -> None:
    answer = webhook_post.post(url, b"{}", {})
    assert answer.status is None and answer.error in (webhook_post.REFUSED, webhook_post.NOT_WEB)


def test_a_redirect_is_not_followed(app: Flask, receiver: Receiver) -> None:
    event = make_event("cataloging", DAYS, kind="series")
    receiver.secret = _endpoint(event.id, receiver.url, ["registration.confirmed"]).secret
    receiver.redirect_to = "http://169.254.169.254/latest/meta-data"
    register(event, "ann@example.org")
    webhook_send.deliver_due()
    [delivery] = deliveries()
    assert (delivery.status, delivery.last_status) == (
        "pending",
        302,
    )  # a failure, retried later, never followed


def test_a_rolled_back_registration_sends_nothing(app: Flask, receiver: Receiver) -> None:
    event = make_event("cataloging", DAYS, kind="series")
    _endpoint(event.id, receiver.url, ["registration.created", "registration.confirmed"])
    person = Participant(email="ann@example.org", email_key="ann@example.org")
    db.session.add(Subscription(participant=person, event_id=event.id, status="active"))
    db.session.flush()
    db.session.rollback()
    assert deliveries() == []


def test_another_event_s_endpoint_hears_nothing(app: Flask, receiver: Receiver) -> None:
    event = make_event("cataloging", DAYS, kind="series")
    other = make_event("metadata", DAYS, kind="series")
    _endpoint(other.id, receiver.url, ["registration.confirmed"])
    register(event, "ann@example.org")
    assert deliveries() == []
    assert json.dumps(webhooks.KIND_LABELS)  # every kind has words for the form


def test_an_import_of_2000_registrations_writes_2000_deliveries_sent_later(
    app: Flask, receiver: Receiver
) -> None:
    event = make_event("cataloging", DAYS, kind="series")
    receiver.secret = _endpoint(event.id, receiver.url, ["registration.confirmed"]).secret
    lines = ["email,name"] + [f"person{i}@example.org,Person {i}" for i in range(2000)]
    report = import_rows(event, lines, confirmed=True, batch_size=500)
    assert report.added == 2000
    # The import wrote one fan-out record per batch, no delivery rows: the sender side writes them.
    assert deliveries() == [] and fanout.pending_count() == 4
    assert receiver.received == []  # the import sent nothing itself
    fanout.expand_pending()
    written = deliveries()
    assert len(written) == 2000 and {d.status for d in written} == {"pending"}
    webhook_send.deliver_due(limit=50)
    assert len(receiver.received) == 50
    assert receiver.received[0]["payload"]["data"]["email"] == "person0@example.org"  # type: ignore[index]
