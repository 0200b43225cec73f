"""Where mail goes: MAIL_URL parsed into an SMTP connection or the dev mailbox.

* ``smtp://user:pass@host:port`` - STARTTLS when the server offers it (a password is
  only sent over TLS); ``?starttls=required`` refuses to send in clear, ``?starttls=off``
  never upgrades.
* ``smtps://user:pass@host:port`` - implicit TLS (port 465 by default).
* ``dev://`` (the default) - each message is written as an ``.eml`` file to
  DEV_MAILBOX_DIR and shown at /dev/mail.

Other options: ``?timeout=SECONDS``, ``?helo=NAME``, ``?cafile=PATH`` (a private CA; the
standard SSL_CERT_FILE environment variable works too). Server certificates and host
names are always verified.
Only `sender.py` uses a transport; nothing else talks SMTP.

International addresses: a non-ASCII domain is sent as its IDNA form (punycode); a
non-ASCII local part goes out with the SMTPUTF8 extension when the relay offers it and
fails for good otherwise (sign-up refuses such addresses unless the relay offered it:
`forum.mail.relay`).  When DKIM is configured, `envelope.finalize` signs each message's final
bytes just before they are written (`forum.mail.dkim`).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app, has_app_context

from forum.mail import dkim, relay
from forum.mail.envelope import DeliveryError, Envelope, Outcome, Transport, finalize
from forum.mail.smtp_client import STARTTLS_MODES, SMTPSettings, SMTPTransport


class MailURLError(ValueError):
    """MAIL_URL cannot be used; the message says which part is wrong."""


@dataclass(frozen=True)
class DevSettings:
    directory: str


def parse_mail_url(url: str, *, dev_dir: str, helo: str | None = None) -> SMTPSettings | DevSettings:
    """MAIL_URL -> settings, or MailURLError with a one-line reason."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme == "dev":
        return DevSettings(directory=unquote(parts.path) if parts.path not in ("", "/") else dev_dir)
    if scheme not in ("smtp", "smtps"):
        raise MailURLError(f"MAIL_URL must start with smtp://, smtps:// or dev:// (got {scheme or url!r})")
    if not parts.hostname:
        raise MailURLError("MAIL_URL has no host (smtp://user:pass@host:port)")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    unknown = set(query) - {"starttls", "timeout", "helo", "cafile"}
    if unknown:
        raise MailURLError(f"MAIL_URL has unknown option(s): {', '.join(sorted(unknown))}")
    starttls = query.get("starttls", "auto").lower()
    if starttls not in STARTTLS_MODES:
        raise MailURLError(f"MAIL_URL starttls must be one of {', '.join(STARTTLS_MODES)}")
    if scheme == "smtps" and "starttls" in query:
        raise MailURLError("MAIL_URL: smtps:// is already TLS; drop ?starttls")
    try:
        port = parts.port or (465 if scheme == "smtps" else 25)
        timeout = float(query.get("timeout", "30"))
    except ValueError as exc:
        raise MailURLError(f"MAIL_URL: {exc}") from exc
    return SMTPSettings(
        host=parts.hostname,
        port=port,
        implicit_tls=scheme == "smtps",
        starttls="off" if scheme == "smtps" else starttls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        timeout=timeout,
        helo=query.get("helo") or helo,
        cafile=query.get("cafile"),
    )


@dataclass
class DevMailbox:
    """Development transport: one .eml file per message, written atomically.

    Trace headers a real mailbox would add (Delivered-To, Return-Path) plus the
    outbox kind are prepended so /dev/mail can list them.
    """

    directory: str
    sign: Callable[[bytes], bytes] | None = None

    def send(self, envelope: Envelope) -> None:
        folder = Path(self.directory)
        folder.mkdir(parents=True, exist_ok=True)
        trace = (
            f"Delivered-To: {envelope.recipient}\r\n"
            f"Return-Path: <{envelope.sender}>\r\n"
            f"X-Forum-Kind: {envelope.kind or 'mail'}\r\n"
        ).encode("ascii", "replace")
        name = f"{time.time_ns():020d}-{envelope.id}.eml"
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".eml")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(trace + finalize(envelope.data, self.sign))
            os.replace(tmp, folder / name)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def send_many(self, envelopes: Iterable[Envelope]) -> Iterator[Outcome]:
        for env in envelopes:
            try:
                self.send(env)
            except DeliveryError as error:
                yield env, error
            else:
                yield env, None

    def close(self) -> None:
        pass


def make_transport(url: str, *, dev_dir: str, helo: str | None = None) -> Transport:
    """A transport for MAIL_URL (raises MailURLError for an unusable URL).

    Inside an app context it also takes the app's DKIM signer (`forum.mail.dkim`) and
    records the relay's SMTPUTF8 capability after each EHLO (`forum.mail.relay`).
    """
    settings = parse_mail_url(url, dev_dir=dev_dir, helo=helo)
    sign, on_ehlo = _app_hooks(url)
    if isinstance(settings, DevSettings):
        return DevMailbox(settings.directory, sign=sign)
    return SMTPTransport(settings, sign=sign, on_ehlo=on_ehlo)


def _app_hooks(url: str) -> tuple[Callable[[bytes], bytes] | None, Callable[[bool], None] | None]:
    if not has_app_context():
        return None, None
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    settings = tuple(str(app.config.get(k) or "") for k in ("DKIM_SELECTOR", "DKIM_KEY_FILE", "DKIM_DOMAIN"))
    cached = app.extensions.get("forum_dkim")
    if cached is None or cached[0] != settings:  # the key is read and checked once, not per batch
        try:
            cached = (settings, dkim.signer_from_config(app.config))
        except dkim.DKIMConfigError as exc:
            raise MailURLError(str(exc)) from exc
        app.extensions["forum_dkim"] = cached
    return cached[1], relay.recorder(app, url)
