"""A mail server that is down for hours loses no mail: an outage uses up no attempts,
and only mail queued longer than MAIL_MAX_QUEUE_DAYS is given up on (never as a bounce)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from forum.core import clock
from forum.core.extensions import db
from forum.mail.compose import build_message
from forum.mail.outbox import enqueue
from forum.mail.sender import send_due
from forum.models import OutboundMessage
from tests.support.smtp import running_smtp_server, use_test_templates


def _queue(rcpt: str) -> None:
    message = build_message(to=rcpt, subject="Hello", template="test_plain", context={"body": "x"})
    enqueue(message, kind="note", key=f"outage:{rcpt}")
    db.session.commit()


def _rows() -> list[OutboundMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboundMessage).order_by(OutboundMessage.id)))


def test_mail_waits_out_a_long_outage_and_is_delivered_once(app) -> None:  # type: ignore[no-untyped-def]
    use_test_templates(app)
    with running_smtp_server() as server:
        port = server.port
    down = f"smtp://127.0.0.1:{port}?timeout=2"  # nothing listens there any more
    start = clock.now()
    with clock.frozen(start):
        _queue("a@example.org")
        _queue("b@example.org")
    # Twelve hours of runs, each once the retry delay has passed: far more than MAIL_MAX_ATTEMPTS.
    app.config["MAIL_URL"] = down
    at = start
    for _ in range(12):
        at += timedelta(hours=1)
        with clock.frozen(at):
            report = send_due()
        assert report.sent == 0 and report.unavailable
    assert [(r.status, r.attempts) for r in _rows()] == [("queued", 0), ("queued", 0)]

    with running_smtp_server() as server:  # the server is back
        app.config["MAIL_URL"] = server.url
        with clock.frozen(at + timedelta(hours=1)):
            assert send_due().sent == 2
            assert send_due().sent == 0
        assert sorted(r.rcpt_tos[0] for r in server.received) == ["a@example.org", "b@example.org"]
    assert {r.status for r in _rows()} == {"sent"}


def test_mail_queued_past_the_limit_fails_without_counting_a_bounce(app) -> None:  # type: ignore[no-untyped-def]
    use_test_templates(app)
    with running_smtp_server() as server:
        port = server.port
    start = clock.now()
    with clock.frozen(start):
        _queue("old@example.org")
    app.config["MAIL_URL"] = f"smtp://127.0.0.1:{port}?timeout=2"
    with clock.frozen(start + timedelta(days=app.config["MAIL_MAX_QUEUE_DAYS"], minutes=1)):
        report = send_due()
    assert (report.sent, report.failed) == (0, 1) and report.bounced_subscriptions == set()
    (row,) = _rows()
    assert row.status == "failed" and "cannot connect" in (row.last_error or "")
