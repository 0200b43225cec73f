"""International addresses as independent clients read them (issue 25, points 1, 2 and 6).

- No RFC 2047 encoded word inside an addr-spec: an IDN domain is written as its A-label, a
  UTF-8 local part as raw UTF-8 (RFC 6532), which only ever leaves with SMTPUTF8.
- An address compares equal in U-label and A-label form (one normalising function).
- The JSON API takes the addresses the web form takes (one validation for every door).
"""

from __future__ import annotations

from email import message_from_bytes, message_from_string, policy

from flask.testing import FlaskClient
from sqlalchemy import select

from forum.core.extensions import db
from forum.core.validation import email_key
from forum.mail.compose import build_message
from forum.mail.headers import address, address_line
from forum.mail.outbox import enqueue
from forum.mail.sender import send_due
from forum.models import OutboundMessage, Participant
from forum.subscriptions import service
from tests.conftest import csrf_from
from tests.support.api import officer_token
from tests.support.smtp import running_smtp_server, use_test_templates
from tests.support.subscriptions import make_event


def _addr_specs(line: bytes) -> list[str]:
    """The addr-specs an RFC 5322/6532 reader finds in one header line."""
    name, _, value = line.decode("utf-8").partition(":")
    parsed = message_from_bytes(line + b"\r\n", policy=policy.default)
    return [a.addr_spec for a in parsed[name].addresses]


def test_an_idn_domain_is_written_as_its_a_label_never_as_encoded_words(app) -> None:  # type: ignore[no-untyped-def]
    line = address_line("To", address("anna@bücher.example", "Anna Bücher"))
    assert b"<anna@xn--bcher-kva.example>" in line
    assert b"=?" not in line.partition(b"<")[2]  # the display name may be encoded, the address never
    assert _addr_specs(line) == ["anna@xn--bcher-kva.example"]
    bare = address_line("Reply-To", "zoë@bücher.example")
    assert b"=?" not in bare and "zoë@xn--bcher-kva.example".encode() in bare


def test_a_utf8_local_part_goes_out_raw_and_only_with_smtputf8(app) -> None:  # type: ignore[no-untyped-def]
    use_test_templates(app)
    line = address_line("To", address("jörg@bücher.example", "Jörg"))
    assert "<jörg@xn--bcher-kva.example>".encode() in line and b"=?utf-8?q?j" not in line
    with running_smtp_server(pipelining=True, smtputf8=True) as server:
        app.config["MAIL_URL"] = server.url
        enqueue(
            build_message(to="jörg@bücher.example", subject="Hi", template="test_plain", context={"body": "x"}),
            kind="test",
            key="t:utf8",
        )
        db.session.commit()
        send_due()
        [received] = server.received
    head = received.data.partition(b"\r\n\r\n")[0]
    assert "To: jörg@xn--bcher-kva.example".encode() in head
    reread = message_from_string(received.data.decode("utf-8"), policy=policy.default)  # an RFC 6532 reader
    assert reread["To"].addresses[0].username == "jörg"
    row = db.session.scalars(select(OutboundMessage)).one()
    assert row.status == "sent" and row.recipient == "jörg@bücher.example"


def test_a_utf8_local_part_in_any_header_is_refused_without_smtputf8(app) -> None:  # type: ignore[no-untyped-def]
    """The recipient is ASCII but Reply-To is not: the message cannot be written for a relay
    without SMTPUTF8, so it fails for good instead of going out with 8-bit headers."""
    use_test_templates(app)
    with running_smtp_server(pipelining=True) as server:
        app.config["MAIL_URL"] = server.url
        message = build_message(
            to="ann@example.org", subject="Hi", template="test_plain", context={"body": "x"}, reply_to="jörg@example.de"
        )
        enqueue(message, kind="test", key="t:reply-to")
        db.session.commit()
        send_due()
        assert server.received == []
    db.session.expire_all()
    row = db.session.scalars(select(OutboundMessage)).one()
    assert row.status == "failed" and "SMTPUTF8" in (row.last_error or "")


def test_an_address_is_the_same_in_u_label_and_a_label_form(app) -> None:  # type: ignore[no-untyped-def]
    assert email_key("Anna@XN--BCHER-KVA.example") == email_key("anna@Bücher.example") == "anna@bücher.example"
    event = make_event()
    participant = service.get_or_create_participant(service.normalize_email("anna@bücher.example"), "Anna")
    db.session.commit()
    assert Participant.by_email("anna@xn--bcher-kva.example") is participant
    assert service.find_participant("ANNA@xn--bcher-kva.example") is participant
    # Signing up again with the A-label form is the same person, not a second row.
    service.subscribe(event, "anna@xn--bcher-kva.example", conduct_accepted=True)
    db.session.commit()
    assert db.session.scalars(select(Participant)).all() == [participant]


def test_the_api_takes_the_addresses_the_web_form_takes(app, client: FlaskClient) -> None:  # type: ignore[no-untyped-def]
    event = make_event()
    url = f"/api/v1/events/{event.slug}/subscriptions"
    for email in ("anna@bücher.de", "jörg@example.de"):
        api = client.post(url, json={"email": email, "accept_conduct": True})
        assert api.status_code == 202, api.get_json()
        page = client.get(f"/events/{event.slug}/subscribe")
        form = client.post(
            f"/events/{event.slug}/subscribe",
            data={"csrf_token": csrf_from(page.data), "email": email.upper(), "mode": "each", "conduct": "y"},
        )
        assert form.status_code == 200
    for bad in ("not-an-address", "a@b", "anna@bücher..de"):
        api = client.post(url, json={"email": bad, "accept_conduct": True})
        assert api.status_code == 422 and "email" in api.get_json()["errors"]["json"], bad
    # An officer's contact address: what the event form takes, the API takes.
    auth = officer_token()
    resp = client.patch(f"/api/v1/events/{event.slug}", json={"contact_email": "büro@bücher.de"}, headers=auth)
    assert resp.status_code == 200, resp.get_json()
    assert client.patch(f"/api/v1/events/{event.slug}", json={"contact_email": "x@"}, headers=auth).status_code == 422
