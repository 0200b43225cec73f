"""DKIM: list mail signed at send time, received by a real SMTP server (aiosmtpd) and
verified with dkimpy against the public key, as a receiving provider would."""

from __future__ import annotations

import base64
from email import message_from_bytes, policy
from pathlib import Path

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from forum.core.extensions import db
from forum.mail.compose import ListOptions, list_message
from forum.mail.outbox import enqueue
from forum.mail.sender import app_transport, send_due
from forum.mail.transport import MailURLError
from tests.support.smtp import make_subscribers, running_smtp_server, use_test_templates


@pytest.fixture(scope="module")
def key_pair(tmp_path_factory) -> tuple[Path, bytes]:  # type: ignore[no-untyped-def]
    """A 2048-bit RSA key file and its DNS TXT record (`v=DKIM1; k=rsa; p=...`)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path_factory.mktemp("dkim") / "dkim.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,  # what `openssl genrsa` writes (README)
            serialization.NoEncryption(),
        )
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return path, b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


def _dns(record: bytes, lookups: list[bytes]):  # type: ignore[no-untyped-def]
    def txt(name: bytes, timeout: int = 5) -> bytes | None:
        lookups.append(name)
        return record if name == b"mail2026._domainkey.lists.forum.test." else None

    return txt


def _queue_post(event, subscription) -> None:  # type: ignore[no-untyped-def]
    message = list_message(
        event,
        subscription,
        ListOptions(
            subject="Mentoring — first week",
            template="test_note",
            context={"body": "Welcome, everyone. Café at 10."},
        ),
    )
    enqueue(
        message,
        kind="post",
        key=f"post:{subscription.id}",
        subscription_id=subscription.id,
        event_id=event.id,
    )
    db.session.commit()


def _signing_with(app, key_pair) -> bytes:  # type: ignore[no-untyped-def]
    """DKIM configured with `key_pair` and one post queued; the DNS record to verify against."""
    path, record = key_pair
    use_test_templates(app)
    app.config.update(DKIM_SELECTOR="mail2026", DKIM_KEY_FILE=str(path), DKIM_DOMAIN="lists.forum.test")
    event, (subscription,) = make_subscribers(1)
    _queue_post(event, subscription)
    return record


def test_signed_list_mail_verifies_against_the_published_key(app, key_pair) -> None:  # type: ignore[no-untyped-def]
    record = _signing_with(app, key_pair)
    with running_smtp_server(pipelining=True) as server:
        app.config["MAIL_URL"] = server.url
        assert send_due().sent == 1
        [received] = server.received
    data = received.data
    lookups: list[bytes] = []
    assert dkim.verify(data, dnsfunc=_dns(record, lookups)) is True
    assert lookups == [b"mail2026._domainkey.lists.forum.test."]
    message = message_from_bytes(data, policy=policy.default)
    signature = str(message["DKIM-Signature"])
    tags = {k.strip(): v.strip() for k, _, v in (p.partition("=") for p in signature.split(";"))}
    assert tags["d"] == "lists.forum.test" and tags["s"] == "mail2026" and tags["a"] == "rsa-sha256"
    signed = {h.strip().lower() for h in "".join(tags["h"].split()).split(":")}
    assert {"from", "to", "subject", "date", "message-id", "list-id"} <= signed
    assert {"list-unsubscribe", "list-unsubscribe-post"} <= signed  # RFC 8058 one-click
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # A changed unsubscribe link or an added one-click header no longer verifies.
    forged = data.replace(b"List-Unsubscribe-Post: List-Unsubscribe=One-Click", b"List-Unsubscribe-Post: x")
    assert forged != data and dkim.verify(forged, dnsfunc=_dns(record, [])) is False
    assert dkim.verify(data.replace(b"Caf", b"Kaf"), dnsfunc=_dns(record, [])) is False


def test_without_settings_nothing_is_signed_and_half_settings_are_refused(app, key_pair) -> None:  # type: ignore[no-untyped-def]
    use_test_templates(app)
    event, (subscription,) = make_subscribers(1)
    _queue_post(event, subscription)
    with running_smtp_server() as server:
        app.config["MAIL_URL"] = server.url
        assert send_due().sent == 1
        assert b"DKIM-Signature" not in server.received[0].data
    app.config["DKIM_SELECTOR"] = "mail2026"
    with pytest.raises(MailURLError, match="DKIM_SELECTOR and DKIM_KEY_FILE"):
        app_transport()
    bad = key_pair[0].with_name("not-a-key.pem")
    bad.write_text("hello\n")
    app.config["DKIM_KEY_FILE"] = str(bad)
    with pytest.raises(MailURLError, match="not a usable private key"):
        app_transport()


def test_dev_mailbox_shows_the_signed_message(app, key_pair) -> None:  # type: ignore[no-untyped-def]
    record = _signing_with(app, key_pair)
    assert send_due().sent == 1
    [stored] = list(Path(app.config["DEV_MAILBOX_DIR"]).glob("*.eml"))
    trace, _, data = stored.read_bytes().partition(b"X-Forum-Kind: post\r\n")
    assert data.startswith(b"DKIM-Signature:")
    assert dkim.verify(data, dnsfunc=_dns(record, [])) is True
