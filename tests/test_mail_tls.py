"""MAIL_URL's TLS and AUTH against real aiosmtpd servers with trustme certificates:
STARTTLS + AUTH, implicit TLS (smtps://), starttls=required, a wrong password, and
certificates the client must refuse."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import trustme
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import select

from forum.core import clock
from forum.core.extensions import db
from forum.mail.compose import build_message
from forum.mail.outbox import enqueue
from forum.mail.sender import send_due
from forum.models import OutboundMessage, Subscription
from tests.support.smtp import FreePortController, ScriptedHandler, make_subscribers, use_test_templates

USER = "forum-mailer"
PASSWORD = "p@ss:w/rd"  # characters that must be percent-encoded in MAIL_URL


@dataclass(frozen=True)
class SessionFacts:
    """What the server saw of the session a message came in on."""

    encrypted: bool
    login: str | None


class TLSHandler(ScriptedHandler):
    """Records, for each accepted message, whether its session was encrypted and who logged in."""

    def __init__(self) -> None:
        super().__init__()
        self.sessions: list[SessionFacts] = []
        self.auth_attempts: list[str] = []  # logins tried, right or wrong

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        ssl_object = server.transport.get_extra_info("ssl_object")
        login = session.login_data.decode() if session.authenticated and session.login_data else None
        with self._lock:
            self.sessions.append(SessionFacts(ssl_object is not None or session.ssl is not None, login))
        return await super().handle_DATA(server, session, envelope)


def authenticator(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
    """Accepts only USER / PASSWORD (aiosmtpd answers anything else with 535)."""
    server.event_handler.auth_attempts.append(getattr(auth_data, "login", b"").decode())
    ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == USER
    ok = ok and auth_data.password.decode() == PASSWORD
    return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


def server_context(ca: trustme.CA, *names: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*(names or ("127.0.0.1", "localhost"))).configure_cert(context)
    return context


@contextmanager
def smtp_server(**params: Any) -> Iterator[tuple[TLSHandler, int]]:
    """An aiosmtpd server on 127.0.0.1, a free port; `params` go to the Controller."""
    handler = TLSHandler()
    controller = FreePortController(handler, hostname="127.0.0.1", port=0, **params)
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()


def starttls_server(ca: trustme.CA, *names: str, **params: Any):  # type: ignore[no-untyped-def]
    """STARTTLS required before MAIL, AUTH only after STARTTLS."""
    return smtp_server(
        tls_context=server_context(ca, *names),
        require_starttls=True,
        authenticator=authenticator,
        auth_require_tls=True,
        **params,
    )


def mail_url(scheme: str, port: int, password: str = PASSWORD, **options: str) -> str:
    query = "&".join(f"{k}={quote(v, safe='')}" for k, v in {"timeout": "5", **options}.items())
    return f"{scheme}://{USER}:{quote(password, safe='')}@127.0.0.1:{port}?{query}"


def queue(*recipients: str, subscription_id: int | None = None) -> None:
    for rcpt in recipients:
        msg = build_message(
            to=rcpt, subject=f"Note for {rcpt}", template="test_plain", context={"body": "hi"}
        )
        enqueue(msg, kind="test", key=f"tls:{rcpt}", subscription_id=subscription_id)
    db.session.commit()


def statuses() -> dict[str, str]:
    db.session.expire_all()
    return {r.recipient: r.status for r in db.session.scalars(select(OutboundMessage))}


def later(hours: float):  # type: ignore[no-untyped-def]
    """Past any retry delay (they are capped at 6 hours)."""
    return clock.frozen(clock.now() + timedelta(hours=hours))


def send_cli(app) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    result = app.test_cli_runner().invoke(args=["forum", "send"])
    return result.exit_code, result.output


@pytest.fixture
def mail_app(app):  # type: ignore[no-untyped-def]
    use_test_templates(app)
    return app


def test_starttls_and_auth_deliver_encrypted_and_authenticated(mail_app, ca, ca_file):  # type: ignore[no-untyped-def]
    mail_app.config["MAIL_CONNECTIONS"] = 1  # both messages over one connection
    with starttls_server(ca) as (handler, port):
        mail_app.config["MAIL_URL"] = mail_url("smtp", port, cafile=str(ca_file))
        queue("a@example.org", "b@example.org")
        report = send_due()
    assert (report.sent, report.retry, report.failed, report.unavailable) == (2, 0, 0, None)
    assert sorted(r.rcpt_tos[0] for r in handler.received) == ["a@example.org", "b@example.org"]
    assert handler.sessions == [SessionFacts(encrypted=True, login=USER)] * 2
    assert handler.connections == 2  # EHLO before and after STARTTLS, one connection for both
    assert set(statuses().values()) == {"sent"}


def test_smtps_implicit_tls_delivers(mail_app, ca, ca_file):  # type: ignore[no-untyped-def]
    # aiosmtpd's auth_require_tls only knows STARTTLS; this session is TLS from the first byte.
    params = {"ssl_context": server_context(ca), "authenticator": authenticator, "auth_require_tls": False}
    with smtp_server(**params) as (handler, port):
        mail_app.config["MAIL_URL"] = mail_url("smtps", port, cafile=str(ca_file))
        queue("a@example.org")
        report = send_due()
    assert (report.sent, report.unavailable) == (1, None)
    assert handler.sessions == [SessionFacts(encrypted=True, login=USER)]
    assert statuses() == {"a@example.org": "sent"}


def test_ssl_cert_file_trusts_a_private_ca(mail_app, ca, ca_file, monkeypatch):  # type: ignore[no-untyped-def]
    """The standard SSL_CERT_FILE works as well as ?cafile= for a private CA."""
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    with starttls_server(ca) as (handler, port):
        mail_app.config["MAIL_URL"] = mail_url("smtp", port, starttls="required")
        queue("a@example.org")
        assert send_due().sent == 1
    assert handler.sessions == [SessionFacts(encrypted=True, login=USER)]


def test_starttls_required_but_not_offered_sends_nothing(mail_app):  # type: ignore[no-untyped-def]
    with smtp_server() as (handler, port):
        mail_app.config["MAIL_URL"] = f"smtp://127.0.0.1:{port}?starttls=required&timeout=5"
        queue("a@example.org", "b@example.org")
        report = send_due()
        assert report.sent == 0 and "does not offer STARTTLS" in (report.unavailable or "")
        assert "sent" not in statuses().values()
        code, output = send_cli(mail_app)  # the rows are not due again yet: nothing claimed
        assert code == 0 and "sent: 0" in output
        with later(7):
            code, output = send_cli(mail_app)
    assert handler.received == []
    assert "sent" not in statuses().values()
    assert code == 1
    error = [line for line in output.splitlines() if line.startswith("Error:")]
    assert len(error) == 1 and "does not offer STARTTLS (starttls=required)" in error[0]


def test_wrong_password_is_retried_and_never_counted_as_a_bounce(mail_app, ca, ca_file):  # type: ignore[no-untyped-def]
    mail_app.config["BOUNCE_LIMIT"] = 1
    event, subs = make_subscribers(3)
    for sub in subs:
        queue(sub.participant.email, subscription_id=sub.id)
    with starttls_server(ca) as (handler, port):
        mail_app.config["MAIL_URL"] = mail_url("smtp", port, password="wrong", cafile=str(ca_file))
        report = send_due()
        assert report.sent == 0 and "535" in (report.unavailable or "")
        assert "login refused" in report.unavailable
        with later(7):
            code, output = send_cli(mail_app)
        assert code == 1 and "535" in output.splitlines()[-1]
        assert set(statuses().values()) <= {"queued", "retry"}
        db.session.expire_all()
        assert all(
            (s.status, s.hard_bounces) == ("active", 0)
            for s in db.session.scalars(select(Subscription).where(Subscription.event_id == event.id))
        )
        mail_app.config["MAIL_URL"] = mail_url("smtp", port, cafile=str(ca_file))  # fixed
        with later(14):
            assert send_due().sent == 3
    assert handler.received and len(handler.received) == 3
    assert set(statuses().values()) == {"sent"}


def test_auto_starttls_never_sends_the_password_in_clear(mail_app):  # type: ignore[no-untyped-def]
    """No STARTTLS offered (or stripped by an attacker): the login is not attempted."""
    with smtp_server(authenticator=authenticator, auth_require_tls=False) as (handler, port):
        mail_app.config["MAIL_URL"] = mail_url("smtp", port)
        queue("a@example.org")
        report = send_due()
        assert report.sent == 0 and "not sending the password in clear" in (report.unavailable or "")
        assert handler.auth_attempts == [] and handler.received == []
        mail_app.config["MAIL_URL"] = mail_url("smtp", port, starttls="off")  # explicit opt-out
        with later(7):
            assert send_due().sent == 1
    assert handler.sessions == [SessionFacts(encrypted=False, login=USER)]


@pytest.mark.parametrize("scheme", ["smtp", "smtps"])
@pytest.mark.parametrize("trouble", ["unknown CA", "wrong host name"])
def test_an_untrusted_certificate_is_refused(mail_app, ca, ca_file, scheme, trouble):  # type: ignore[no-untyped-def]
    signer, names = (trustme.CA(), ()) if trouble == "unknown CA" else (ca, ("mail.example.org",))
    context = server_context(signer, *names)
    params: dict[str, Any] = (
        {"tls_context": context, "require_starttls": True} if scheme == "smtp" else {"ssl_context": context}
    )
    with smtp_server(**params) as (handler, port):
        mail_app.config["MAIL_URL"] = mail_url(scheme, port, cafile=str(ca_file))
        queue("a@example.org")
        report = send_due()
    assert handler.received == []
    assert report.sent == 0 and "certificate verify failed" in (report.unavailable or "")
    assert statuses() == {"a@example.org": "queued"}  # handed back to wait for a trusted server
    assert handler.auth_attempts == []
