"""The rest of the issue's webhook kinds, to a site-wide endpoint the administrator adds on
/manage/webhooks: registration.approved/declined, evaluation.submitted, post.accepted and
pathway.step_completed, each written with its change (a rolled-back approval sends nothing)
and delivered signed to a real local receiver that verifies with the reference library."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from forum.ce import evaluations
from forum.core import clock
from forum.core.extensions import db
from forum.discussion import service as discussion
from forum.models import EvaluationResponse, Participant, WebhookDelivery, WebhookEndpoint
from forum.models.pathways import PathwayFollow
from forum.pathways import follow as following
from forum.registration import approval
from forum.team import webhook_send
from tests.conftest import csrf_from
from tests.support.ce import after_end, register, series
from tests.support.discussion import LIST, OPEN_AT, make_forum, message, subscribe
from tests.support.factories import sign_up
from tests.support.pathways import make_pathway
from tests.support.team import officer_with, sign_in
from tests.support.webhooks import Receiver, deliveries, receiving

KINDS = [
    "registration.approved",
    "registration.declined",
    "evaluation.submitted",
    "post.accepted",
    "pathway.step_completed",
]


@pytest.fixture
def hooks(app: Flask) -> Iterator[Receiver]:
    with receiving(app) as found:
        yield found


def _site_endpoint(client: FlaskClient, url: str) -> WebhookEndpoint:
    """Added through the administrator's site-wide page."""
    sign_in(client, officer_with(None, None, "admin@forum.test", admin=True))
    page = client.get("/manage/webhooks")
    assert page.status_code == 200 and "Site-wide addresses" in page.get_data(as_text=True)
    added = client.post(
        "/manage/webhooks",
        data={"csrf_token": csrf_from(page.get_data(as_text=True)), "url": url, "kinds": KINDS},
    )
    assert added.status_code == 303, added.get_data(as_text=True)[-2000:]
    endpoint = db.session.scalar(select(WebhookEndpoint))
    assert endpoint is not None and endpoint.event_id is None
    assert client.get(added.headers["Location"]).status_code == 200  # its page and delivery log
    return endpoint


def test_the_remaining_kinds_reach_a_site_wide_endpoint(
    app: Flask, client: FlaskClient, hooks: Receiver
) -> None:
    receiver = hooks
    endpoint = _site_endpoint(client, receiver.url)
    receiver.secret = endpoint.secret
    # Approvals: one approved, one declined, one approval rolled back (nothing written).
    event = series("members-only")
    event.needs_approval = True
    db.session.commit()
    a, b, c = (sign_up(event, f"{n}@x.org") for n in "abc")
    approval.approve([a])
    approval.decline([b])
    db.session.commit()
    approval.approve([c])
    db.session.rollback()
    # An evaluation answered.
    evaluation = evaluations.create(event)
    db.session.commit()
    db.session.add(
        EvaluationResponse(evaluation_id=evaluation.id, subscription_id=a.id, submitted_at=clock.now())
    )
    db.session.commit()
    # A post accepted to an e-forum (no moderation: accepted on arrival).
    forum = make_forum()
    subscribe(forum, "ann@example.org", "Ann")
    with clock.frozen(OPEN_AT):
        discussion.receive(message(subject="Hello list"), LIST)
    # A pathway step done.
    pathway = make_pathway()
    person = db.session.scalar(select(Participant).where(Participant.email_key == "a@x.org"))
    item = PathwayFollow(pathway=pathway, participant=person, status="active", position=1)
    db.session.add(item)
    db.session.commit()
    following.mark(item, pathway.steps[0], "done")
    db.session.commit()

    written = [(d.kind, d.status) for d in deliveries()]
    assert sorted(kind for kind, _ in written) == sorted(KINDS)
    # The post arrived under the forum's frozen 2030 clock, so its delivery is due then; the
    # receiver checks signatures against the real clock, so send everything now.
    db.session.execute(update(WebhookDelivery).values(next_attempt_at=clock.now()))
    db.session.commit()
    webhook_send.deliver_due()
    assert sorted(str(r["payload"]["type"]) for r in receiver.received) == sorted(KINDS)  # type: ignore[index]
    by_kind = {r["payload"]["type"]: r["payload"]["data"] for r in receiver.received}  # type: ignore[index]
    assert by_kind["registration.approved"]["id"] == a.id
    assert by_kind["registration.declined"]["id"] == b.id
    assert by_kind["post.accepted"]["subject"] == "Hello list"
    assert by_kind["pathway.step_completed"]["pathway"] == pathway.slug
    assert by_kind["evaluation.submitted"]["registration_id"] == a.id
    assert all(d.status == "delivered" for d in deliveries())


def test_only_the_administrator_manages_site_wide_webhooks(app: Flask, client: FlaskClient) -> None:
    event = series()
    sign_in(client, officer_with(event, "owner", "owner@forum.test"))
    assert client.get("/manage/webhooks").status_code == 403
    assert client.get("/manage/events/cataloging-series/webhooks").status_code == 200
    register(event, "ana@example.org")  # nothing listens: no rows
    assert db.session.scalar(select(WebhookDelivery)) is None
    assert after_end(event, hours=1) > clock.now()
