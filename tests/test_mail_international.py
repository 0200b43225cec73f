"""International addresses against a real SMTP server (aiosmtpd): IDN domains go out as
punycode; non-ASCII local parts use SMTPUTF8 when the relay offers it and are refused
at sign-up and import when it does not."""

from __future__ import annotations

import threading

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from forum.core.extensions import db
from forum.mail import relay
from forum.mail.compose import build_message
from forum.mail.outbox import enqueue
from forum.mail.sender import send_due
from forum.models import OutboundMessage, Participant, RelayCapability
from forum.subscriptions import csv_import as subscriber_import
from forum.subscriptions import service
from tests.support.smtp import running_smtp_server, use_test_templates
from tests.support.subscriptions import make_event, outbox, subscribe_form

REFUSAL = "cannot deliver to addresses with accented or non-Latin letters before the @"


def _send_note(to: str) -> OutboundMessage:
    message = build_message(to=to, subject="Hello", template="test_plain", context={"body": "hi"})
    enqueue(message, kind="test", key=f"test:{to}")
    db.session.commit()
    send_due()
    db.session.expire_all()
    return db.session.scalars(select(OutboundMessage).where(OutboundMessage.recipient == to)).one()


def _capability(app) -> RelayCapability | None:  # type: ignore[no-untyped-def]
    db.session.expire_all()
    return db.session.scalars(select(RelayCapability)).one_or_none()


@pytest.mark.parametrize("pipelining", [False, True])
def test_idn_domain_is_accepted_and_delivered_as_punycode(app, pipelining: bool) -> None:  # type: ignore[no-untyped-def]
    use_test_templates(app)
    address = service.normalize_email("user@Bücher.example")
    assert address == "user@bücher.example"  # stored and shown in its own script
    with running_smtp_server(pipelining=pipelining) as server:
        app.config["MAIL_URL"] = server.url
        row = _send_note(address)
        assert row.status == "sent", row.last_error
        [received] = server.received
    assert received.rcpt_tos == ("user@xn--bcher-kva.example",)


def test_utf8_local_part_with_a_relay_that_offers_smtputf8(app) -> None:  # type: ignore[no-untyped-def]
    """The sender sees SMTPUTF8 in EHLO, records it, and sends with it; sign-up (auto)
    then accepts such addresses."""
    use_test_templates(app)
    with running_smtp_server(pipelining=True, smtputf8=True) as server:
        app.config["MAIL_URL"] = server.url
        with pytest.raises(service.SubscriptionError, match=REFUSAL):
            service.normalize_email("jörg@example.de")  # the sender has not met this relay yet
        row = _send_note("zoë@bücher.example")
        assert row.status == "sent", row.last_error
        [received] = server.received
        assert received.rcpt_tos == ("zoë@xn--bcher-kva.example",)
        capability = _capability(app)
        assert capability is not None and capability.smtputf8
        assert capability.relay == f"127.0.0.1:{server.port}"
        assert service.normalize_email("jörg@example.de") == "jörg@example.de"


def test_utf8_local_part_with_a_relay_without_smtputf8(app, client: FlaskClient) -> None:  # type: ignore[no-untyped-def]
    """Mail to such an address fails for good with a clear reason; sign-up and import
    refuse it with a message that says why, and nothing is stored."""
    use_test_templates(app)
    with running_smtp_server(pipelining=True) as server:
        app.config["MAIL_URL"] = server.url
        row = _send_note("zoë@example.de")
        assert row.status == "failed"
        assert "relay does not offer SMTPUTF8" in (row.last_error or "")
        assert server.received == []
        capability = _capability(app)
        assert capability is not None and not capability.smtputf8

        event = make_event()
        response = subscribe_form(client, event, email="jörg@example.de", mode="each", conduct="y")
        assert response.status_code == 400
        assert REFUSAL in response.get_data(as_text=True)
        report = subscriber_import.import_rows(event, ["email", "jörg@example.de", "ana@bücher.example"])
        assert report.added == 1
        [(line, reason)] = report.bad
        assert line == 2 and REFUSAL in reason
        assert db.session.scalars(select(Participant.email)).all() == ["ana@bücher.example"]
        assert outbox("confirm", "jörg@example.de") == []


def test_setting_overrides_what_the_relay_said(app) -> None:  # type: ignore[no-untyped-def]
    app.config["MAIL_SMTPUTF8"] = "off"
    with pytest.raises(service.SubscriptionError, match=REFUSAL):
        service.normalize_email("jörg@example.de")  # even on dev://, which would take it
    app.config["MAIL_SMTPUTF8"] = "on"
    app.config["MAIL_URL"] = "smtp://relay.invalid:25"
    assert service.normalize_email("jörg@example.de") == "jörg@example.de"
    app.config["MAIL_SMTPUTF8"] = "auto"
    with pytest.raises(service.SubscriptionError, match=REFUSAL):
        service.normalize_email("jörg@example.de")  # auto, and this relay was never seen


def test_senders_meeting_the_relay_at_once_record_its_capability_once(app, caplog) -> None:  # type: ignore[no-untyped-def]
    """Several connections of several senders greet the relay in the same instant (the
    multi-host run saw it on every start): each records what the relay offered, none fails."""
    remember = relay.recorder(app, "smtp://relay.test:2525")
    assert remember is not None
    start = threading.Barrier(6)

    def greet(offers: bool) -> None:
        start.wait()
        relay._remembered.clear()  # every connection writes, as separate processes would
        remember(offers)

    with caplog.at_level("WARNING", logger=relay.log.name):
        threads = [threading.Thread(target=greet, args=(n % 2 == 0,)) for n in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not [r for r in caplog.records if "could not record" in r.getMessage()]
    row = _capability(app)
    assert row is not None and row.relay == "relay.test:2525"
