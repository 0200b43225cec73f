"""The outbox sender against a real SMTP server (aiosmtpd): retries, bounces, leases,
bulk enqueue, and two senders side by side on PostgreSQL."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select

from forum.core import clock
from forum.core.extensions import db
from forum.mail.compose import ListOptions, build_message, list_message
from forum.mail.outbox import Outgoing, enqueue, enqueue_many
from forum.mail.sender import SendReport, app_transport, claim, deliver, send_due
from forum.models import OutboundMessage, Subscription
from tests.conftest import BACKENDS
from tests.support.smtp import make_subscribers, running_smtp_server


@pytest.fixture(params=["lockstep", "pipelining"])
def smtp_server(request):  # type: ignore[no-untyped-def]
    """Each sender test runs against a server with and without PIPELINING (RFC 2920)."""
    with running_smtp_server(pipelining=request.param == "pipelining") as server:
        yield server


def note(to: str):  # type: ignore[no-untyped-def]
    return build_message(to=to, subject=f"Note for {to}", template="test_plain", context={"body": "hi"})


def queue(*recipients: str, kind: str = "test") -> None:
    for rcpt in recipients:
        enqueue(note(rcpt), kind=kind, key=f"{kind}:{rcpt}")
    db.session.commit()


def row_for(rcpt: str) -> OutboundMessage:
    db.session.expire_all()
    return db.session.scalars(select(OutboundMessage).where(OutboundMessage.recipient == rcpt)).one()


def later(seconds: float):  # type: ignore[no-untyped-def]
    return clock.frozen(clock.now() + timedelta(seconds=seconds))


def test_temporary_failure_is_retried_with_backoff_and_delivered_once(mail_app, smtp_server):  # type: ignore[no-untyped-def]
    smtp_server.script("a@example.org", "451", "452")
    queue("a@example.org", "b@example.org")

    report = send_due()
    assert (report.sent, report.retry, report.failed) == (1, 1, 0)
    row = row_for("a@example.org")
    assert row.status == "retry" and row.attempts == 1 and "451" in row.last_error
    assert row.next_attempt_at - clock.now() == pytest.approx(timedelta(seconds=60), abs=timedelta(seconds=5))

    assert send_due().processed == 0  # not due yet
    with later(61):
        assert send_due().retry == 1  # second 4xx: the wait doubles
        row = row_for("a@example.org")
        assert row.attempts == 2
        assert row.next_attempt_at - clock.now() == pytest.approx(
            timedelta(seconds=120), abs=timedelta(seconds=5)
        )
    with later(61 + 121):
        assert send_due().sent == 1
    assert len(smtp_server.to("a@example.org")) == 1
    assert len(smtp_server.to("b@example.org")) == 1
    row = row_for("a@example.org")
    assert row.status == "sent" and row.attempts == 3 and row.last_error is None
    with later(3600):
        assert send_due().processed == 0  # nothing is ever sent twice


def test_dropped_connection_reconnects_and_retries_only_that_message(mail_app, smtp_server):  # type: ignore[no-untyped-def]
    mail_app.config["MAIL_CONNECTIONS"] = 1  # what one connection does (several: below)
    smtp_server.script("b@example.org", "drop")
    queue("a@example.org", "b@example.org", "c@example.org")
    report = send_due()
    assert (report.sent, report.retry) == (2, 1)
    assert smtp_server.handler.connections == 2  # one reused connection, one reconnect
    assert "connection lost" in row_for("b@example.org").last_error
    with later(120):
        assert send_due().sent == 1
    counts = Counter(r.rcpt_tos[0] for r in smtp_server.received)
    assert counts == {"a@example.org": 1, "b@example.org": 1, "c@example.org": 1}


def test_gives_up_after_max_attempts_without_counting_a_bounce(mail_app, smtp_server):  # type: ignore[no-untyped-def]
    mail_app.config["MAIL_MAX_ATTEMPTS"] = 2
    event, (sub,) = make_subscribers(1)
    smtp_server.script("p0@example.org", "451", "451")
    enqueue(note("p0@example.org"), kind="test", key="k", subscription_id=sub.id)
    db.session.commit()
    assert send_due().retry == 1
    with later(3600):
        assert send_due().failed == 1
    assert row_for("p0@example.org").status == "failed"
    assert db.session.get(Subscription, sub.id).hard_bounces == 0
    assert smtp_server.received == []


def test_permanent_failure_fails_counts_and_disables_at_the_limit(mail_app, smtp_server):  # type: ignore[no-untyped-def]
    mail_app.config["BOUNCE_LIMIT"] = 2
    event, (sub, other) = make_subscribers(2)
    smtp_server.script("p0@example.org", "550", "550")
    start = clock.now()
    for n in (1, 2):
        # One hard bounce is scored per subscription per day: the second comes a day later.
        with later(86400 * (n - 1)):
            report = _post_round(event, sub, other, n)
        assert (report.sent, report.failed) == (1, 1)
        db.session.expire_all()
        sub_now = db.session.get(Subscription, sub.id)
        assert sub_now.hard_bounces == n
        assert sub_now.status == ("active" if n == 1 else "disabled")
    failed = db.session.scalars(select(OutboundMessage).where(OutboundMessage.status == "failed")).all()
    assert len(failed) == 2 and all("550" in f.last_error for f in failed)
    assert db.session.get(Subscription, other.id).status == "active"
    assert len(smtp_server.to("p1@example.org")) == 2
    with clock.frozen(start + timedelta(days=3)):
        assert send_due().processed == 0  # a 5xx is never retried


def _post_round(event, sub, other, n):  # type: ignore[no-untyped-def]
    """Post n to both subscribers, queued and sent."""
    for subscription in (sub, other):
        msg = list_message(
            event, subscription, ListOptions(subject=f"Post {n}", template="test_note", context={"body": "b"})
        )
        key = f"post:{n}:{subscription.id}"
        enqueue(msg, kind="post", key=key, subscription_id=subscription.id, event_id=event.id)
    db.session.commit()
    return send_due()


def test_sender_killed_after_claim_is_taken_over_after_the_lease(mail_app, smtp_server):  # type: ignore[no-untyped-def]
    queue(*(f"r{i}@example.org" for i in range(5)))
    dead = claim(3, "dead-sender")  # claimed, then the process "died": nothing sent, nothing marked
    assert len(dead.rows) == 3
    report = send_due(worker_id="live")
    assert report.sent == 2  # the leased rows are not touched while the lease runs
    assert len(smtp_server.received) == 2
    with later(mail_app.config["MAIL_LEASE_SECONDS"] + 1):
        assert send_due(worker_id="live").sent == 3
        assert send_due(worker_id="live").processed == 0
    counts = Counter(r.rcpt_tos[0] for r in smtp_server.received)
    assert sorted(counts) == [f"r{i}@example.org" for i in range(5)]
    assert set(counts.values()) == {1}


def test_a_sender_whose_lease_runs_out_stops_and_hands_back(mail_app, smtp_server):  # type: ignore[no-untyped-def]
    queue(*(f"r{i}@example.org" for i in range(4)))
    start = clock.now()
    ticks = iter(range(1000))
    transport = app_transport()
    report = SendReport()
    # Every call to now() moves time on by 100 s: the 300 s lease is nearly spent after two sends.
    with clock.frozen(lambda: start + timedelta(seconds=100 * next(ticks))):
        batch = claim(4, "slow")
        deliver(batch, transport, report)
    transport.close()
    sent = report.sent  # how many fit depends on how often a message reads the clock
    assert 1 <= sent < 4 and report.lease_lost is None
    statuses = [row_for(f"r{i}@example.org").status for i in range(4)]
    assert statuses == ["sent"] * sent + ["queued"] * (4 - sent)
    with later(1000):  # the fake clock above ran 700 s ahead
        assert send_due().sent == 4 - sent  # handed back rows are due at once, for any sender
    counts = Counter(r.rcpt_tos[0] for r in smtp_server.received)
    assert len(counts) == 4 and set(counts.values()) == {1}


def test_enqueue_many_is_bulk_and_idempotent(mail_app, smtp_server):  # type: ignore[no-untyped-def]
    event, subs = make_subscribers(30)

    def fanout():  # type: ignore[no-untyped-def]
        for sub in subs:
            yield Outgoing(
                list_message(
                    event, sub, ListOptions(subject="Post", template="test_note", context={"body": "b"})
                ),
                key=f"post:1:{sub.id}",
                event_id=event.id,
                subscription_id=sub.id,
            )

    assert enqueue_many(fanout(), kind="post", chunk_size=7) == 30
    db.session.commit()
    assert enqueue_many(fanout(), kind="post") == 0  # a rerun queues nothing twice
    db.session.rollback()  # and it is the caller's transaction: rolled back, nothing changes
    assert db.session.scalar(select(func.count()).select_from(OutboundMessage)) == 30
    assert send_due(batch_size=8).sent == 30
    assert sorted(r.rcpt_tos[0] for r in smtp_server.received) == sorted(s.participant.email for s in subs)


def test_enqueue_many_rolls_back_with_the_caller(mail_app):  # type: ignore[no-untyped-def]
    event, subs = make_subscribers(3)
    items = [Outgoing(note(s.participant.email), key=f"x:{s.id}") for s in subs]
    assert enqueue_many(items, kind="post") == 3
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(OutboundMessage)) == 0


def raw_note(rcpt: str) -> bytes:
    return (
        f"From: Forum <forum@lists.forum.test>\r\nTo: <{rcpt}>\r\nSubject: Note\r\n"
        f"Message-ID: <{rcpt}.note@lists.forum.test>\r\n\r\nHello {rcpt}\r\n"
    ).encode()


@pytest.mark.postgresql_only
@pytest.mark.parametrize("backend", [b for b in BACKENDS if b == "postgresql"])
def test_two_senders_on_postgresql_deliver_2000_exactly_once(app, backend):  # type: ignore[no-untyped-def]
    recipients = [f"m{i}@example.org" for i in range(2000)]
    now = clock.now()
    db.session.execute(
        insert(OutboundMessage),
        [
            {
                "idempotency_key": f"bulk:{r}",
                "kind": "post",
                "recipient": r,
                "envelope_from": "forum@lists.forum.test",
                "message": raw_note(r),
                "next_attempt_at": now,
            }
            for r in recipients
        ],
    )
    db.session.commit()
    reports: dict[str, SendReport] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def run(worker: str) -> None:
        with app.app_context():
            try:
                barrier.wait()
                reports[worker] = send_due(worker_id=worker, batch_size=50)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    with running_smtp_server(pipelining=True) as smtp_server:
        app.config["MAIL_URL"] = smtp_server.url
        threads = [threading.Thread(target=run, args=(w,)) for w in ("alpha", "beta")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    assert not errors, errors
    counts = Counter(r.rcpt_tos[0] for r in smtp_server.received)
    assert len(counts) == 2000 and set(counts.values()) == {1}  # none missing, no duplicates
    assert reports["alpha"].sent + reports["beta"].sent == 2000
    assert reports["alpha"].sent > 0 and reports["beta"].sent > 0  # both really worked
    db.session.expire_all()
    statuses = db.session.execute(
        select(OutboundMessage.status, func.count()).group_by(OutboundMessage.status)
    ).all()
    assert dict(statuses) == {"sent": 2000}


def test_several_connections_share_a_run_and_deliver_each_message_once(mail_app, smtp_server):  # type: ignore[no-untyped-def]
    mail_app.config["MAIL_CONNECTIONS"] = 4
    smtp_server.script("r7@example.org", "550")
    queue(*(f"r{i}@example.org" for i in range(120)))
    report = send_due(batch_size=50)
    assert (report.sent, report.failed) == (119, 1)
    assert smtp_server.handler.connections == 4  # each kept open for the whole run
    counts = Counter(r.rcpt_tos[0] for r in smtp_server.received)
    assert len(counts) == 119 and set(counts.values()) == {1}
    assert row_for("r7@example.org").status == "failed"
