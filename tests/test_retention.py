"""Retention: the daily job clears the text of long-sent mail and keeps its record."""

from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import Result
from flask import Flask
from sqlalchemy import select, update

from forum.core import clock
from forum.core.extensions import db
from forum.mail.compose import build_message
from forum.mail.outbox import enqueue
from forum.mail.sender import send_due
from forum.models import OutboundMessage
from forum.scheduling.jobs import run_job
from tests.support.smtp import running_smtp_server, use_test_templates

DAY = timedelta(days=1)


@pytest.fixture
def smtp(app: Flask):  # type: ignore[no-untyped-def]
    use_test_templates(app)
    with running_smtp_server() as server:
        app.config["MAIL_URL"] = server.url
        yield server


def note(rcpt: str):  # type: ignore[no-untyped-def]
    return build_message(to=rcpt, subject=f"Note for {rcpt}", template="test_plain", context={"body": "hi"})


def queue(rcpt: str) -> None:
    enqueue(note(rcpt), kind="test", key=f"test:{rcpt}")
    db.session.commit()


def row(rcpt: str) -> OutboundMessage:
    db.session.expire_all()
    return db.session.scalars(select(OutboundMessage).where(OutboundMessage.recipient == rcpt)).one()


def test_job_clears_old_sent_text_and_keeps_recent_failed_and_queued(app: Flask, smtp) -> None:  # type: ignore[no-untyped-def]
    start = clock.now()
    smtp.script("failed@example.org", "550")
    with clock.frozen(start - 20 * DAY):
        queue("old@example.org")
        queue("failed@example.org")
        send_due()
    with clock.frozen(start - 13 * DAY):
        queue("recent@example.org")
        send_due()
    with clock.frozen(start - 20 * DAY):
        queue("waiting@example.org")  # never sent: still queued, 20 days on
    old_sent_at = row("old@example.org").sent_at

    report = run_job("retention", at=start)

    old = row("old@example.org")
    assert old.message is None
    assert (old.status, old.kind, old.idempotency_key, old.sent_at) == (
        "sent",
        "test",
        "test:old@example.org",
        old_sent_at,
    )
    assert row("recent@example.org").message  # sent 13 days ago: within MAIL_KEEP_DAYS (14)
    failed = row("failed@example.org")
    assert failed.status == "failed" and b"Note for failed@example.org" in failed.message
    assert row("waiting@example.org").message
    assert any("cleared the text of 1 message" in line for line in report.lines)
    assert run_job("retention", at=start).lines == []  # nothing left to clear

    app.config["MAIL_KEEP_DAYS"] = 10
    run_job("retention", at=start)
    assert row("recent@example.org").message is None


def test_idempotency_survives_cleared_text(app: Flask, smtp) -> None:  # type: ignore[no-untyped-def]
    with clock.frozen(clock.now() - 30 * DAY):
        queue("a@example.org")
        assert send_due().sent == 1
    run_job("retention")
    assert row("a@example.org").message is None

    assert enqueue(note("a@example.org"), kind="test", key="test:a@example.org") is None
    db.session.commit()
    assert send_due().processed == 0
    assert len(smtp.to("a@example.org")) == 1  # nothing was sent again


def test_sender_never_takes_a_row_without_text(app: Flask, smtp) -> None:  # type: ignore[no-untyped-def]
    with clock.frozen(clock.now() - 30 * DAY):
        queue("a@example.org")
        send_due()
    queue("b@example.org")
    run_job("retention")
    # Someone puts the cleared row back in the queue by hand: it must not be sent empty.
    db.session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.recipient == "a@example.org")
        .values(status="retry", next_attempt_at=clock.now() - DAY)
    )
    db.session.commit()
    report = send_due()
    assert (report.sent, report.failed) == (1, 0)
    assert len(smtp.to("a@example.org")) == 1 and len(smtp.to("b@example.org")) == 1
    assert row("a@example.org").status == "retry"


def test_batches_clear_everything(app: Flask, smtp) -> None:  # type: ignore[no-untyped-def]
    from forum.mail.retention import clear_old_messages

    with clock.frozen(clock.now() - 30 * DAY):
        for n in range(7):
            queue(f"p{n}@example.org")
        send_due()
    assert clear_old_messages(batch_size=3) == 7
    db.session.expire_all()
    assert db.session.scalars(select(OutboundMessage.message)).all() == [None] * 7


def test_cli_runs_retention_with_at(app: Flask, smtp) -> None:  # type: ignore[no-untyped-def]
    with clock.frozen(clock.now() - 16 * DAY):
        queue("a@example.org")
        send_due()
    runner = app.test_cli_runner()
    at = (clock.now() - 1 * DAY).isoformat()  # a catch-up as at yesterday: 15 days after sending
    result: Result = runner.invoke(args=["forum", "run-job", "retention", "--at", at])
    assert result.exit_code == 0, result.output
    assert "cleared the text of 1 message" in result.output
    assert row("a@example.org").message is None
    bad = runner.invoke(args=["forum", "run-job", "retention", "--target", "x"])
    assert bad.exit_code != 0 and "has no target" in bad.output
