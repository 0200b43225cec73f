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
`forum.mail.relay`).  When DKIM is configured, `finalize` signs each message's final
bytes just before they are written (`forum.mail.dkim`).
"""

from __future__ import annotations

import contextlib
import os
import smtplib
import socket
import ssl
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import idna
from flask import current_app, has_app_context

from forum.mail import dkim, relay

STARTTLS_MODES = ("auto", "required", "off")


class MailURLError(ValueError):
    """MAIL_URL cannot be used; the message says which part is wrong."""


class DeliveryError(Exception):
    """One message was not accepted.

    `permanent` (a 5xx reply) means never retry and count a bounce; otherwise (4xx,
    dropped connection, timeout) the message is retried later.
    """

    def __init__(
        self, message: str, *, code: int | None = None, permanent: bool = False, unavailable: bool = False
    ):
        super().__init__(message)
        self.code = code
        self.permanent = permanent
        self.unavailable = unavailable  # no session could be opened: stop trying this run


@dataclass(frozen=True)
class Envelope:
    """What a transport needs to deliver one outbox row."""

    id: int
    sender: str
    recipient: str
    data: bytes  # RFC 5322 bytes with CRLF line ends
    kind: str = ""


#: One settled message: its envelope and None (accepted) or why not.
Outcome = tuple[Envelope, "DeliveryError | None"]


class Transport(Protocol):
    def send(self, envelope: Envelope) -> None:
        """Deliver one message or raise DeliveryError."""

    def send_many(self, envelopes: Iterable[Envelope]) -> Iterator[Outcome]:
        """Deliver in order, yielding each outcome as soon as it is known."""

    def close(self) -> None:
        """Release the connection (if any); the transport may be used again after."""


@dataclass(frozen=True)
class SMTPSettings:
    host: str
    port: int
    implicit_tls: bool = False
    starttls: str = "auto"
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0
    helo: str | None = None
    cafile: str | None = None


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


def smtp_address(address: str, *, smtputf8: bool) -> str:
    """An address as it goes in MAIL FROM / RCPT TO.

    The domain becomes its IDNA (punycode) form, which any relay takes; a non-ASCII
    local part is kept only when the session uses SMTPUTF8, otherwise this raises a
    permanent DeliveryError (it cannot be written in ASCII).
    """
    local, at, domain = address.rpartition("@")
    if not at:
        local, domain = address, ""
    if domain and not domain.isascii():
        try:
            domain = idna.encode(domain, uts46=True).decode("ascii")
        except idna.IDNAError as exc:
            raise DeliveryError(f"address has an invalid domain: {address!r} ({exc})", permanent=True) from exc
    if not local.isascii() and not smtputf8:
        raise DeliveryError(
            f"address is not ASCII before the @ and the relay does not offer SMTPUTF8: {address!r}",
            permanent=True,
        )
    return f"{local}@{domain}" if at else local


def needs_smtputf8(env: Envelope) -> bool:
    return not (env.sender.rpartition("@")[0].isascii() and env.recipient.rpartition("@")[0].isascii())


_STEPS = ("MAIL", "RCPT", "DATA")
_EXPECTED = {"MAIL": (250,), "RCPT": (250, 251), "DATA": (354,)}


#: Marks a message that was not delivered because the connection died before its turn.
_FRESH = DeliveryError("connection lost before the message was sent")


def _dot_stuffed(data: bytes) -> bytes:
    """The DATA payload (RFC 5321 4.5.2): leading dots doubled, ended by CRLF . CRLF."""
    if data.startswith(b"."):
        data = b"." + data
    data = data.replace(b"\n.", b"\n..")
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


def _read_reply(conn: smtplib.SMTP) -> tuple[int, bytes]:
    """One (possibly multi-line) reply: smtplib's getreply without its per-line bookkeeping,
    which shows at thousands of messages a second."""
    if conn.file is None:
        return conn.getreply()
    readline = conn.file.readline
    lines = []
    while True:
        line = readline(8193)
        if not line:
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        lines.append(line[4:].strip(b" \t\r\n"))
        if line[3:4] != b"-":
            break
    try:
        code = int(line[:3])
    except ValueError:
        code = -1
    return code, b"\n".join(lines)


def _close_quietly(conn: smtplib.SMTP | None) -> None:
    """Close a session that failed half-way (login refused, bad certificate) so its socket
    does not linger until garbage collection."""
    if conn is not None:
        with contextlib.suppress(OSError):
            conn.close()


def _reply_text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return " ".join(text.split())[:500]


@dataclass
class SMTPTransport:
    """One SMTP connection, opened on first use and reused for every message after.

    Commands are issued one by one (MAIL, RCPT, DATA) so a refusal is attributed to
    the right step. A connection that turns out dead before anything of a message
    was accepted (an idle timeout between batches) is reopened and the message sent
    at once; a drop in the middle of a message is reported as a temporary failure.
    """

    settings: SMTPSettings
    #: The DKIM signer (or None): applied to each message's bytes as they are written.
    sign: Callable[[bytes], bytes] | None = None
    #: Told after each EHLO whether the relay offers SMTPUTF8 (`forum.mail.relay`).
    on_ehlo: Callable[[bool], None] | None = None
    _conn: smtplib.SMTP | None = field(default=None, init=False, repr=False)
    _used: bool = field(default=False, init=False, repr=False)

    def _commands(self, env: Envelope) -> bytes:
        """MAIL FROM, RCPT TO and DATA for one message (raises DeliveryError when an
        address cannot be written for this relay)."""
        conn = self._conn
        utf8 = bool(conn is not None and conn.does_esmtp and conn.has_extn("smtputf8"))
        sender = smtp_address(env.sender, smtputf8=utf8)
        recipient = smtp_address(env.recipient, smtputf8=utf8)
        params = " SMTPUTF8" if utf8 and needs_smtputf8(env) else ""
        if params and conn is not None and conn.has_extn("8bitmime"):
            params += " BODY=8BITMIME"
        return f"MAIL FROM:<{sender}>{params}\r\nRCPT TO:<{recipient}>\r\nDATA\r\n".encode()

    def _payload(self, env: Envelope) -> bytes:
        return _dot_stuffed(finalize(env.data, self.sign))

    def _tls_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.settings.cafile)

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        helo = s.helo or "localhost"
        conn: smtplib.SMTP | None = None
        try:
            if s.implicit_tls:
                conn = smtplib.SMTP_SSL(
                    s.host, s.port, local_hostname=helo, timeout=s.timeout, context=self._tls_context()
                )
            else:
                conn = smtplib.SMTP(s.host, s.port, local_hostname=helo, timeout=s.timeout)
            assert conn.sock is not None  # connected by the constructor above
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # small pipelined writes
            conn.ehlo()
            encrypted = s.implicit_tls
            if not s.implicit_tls and s.starttls != "off":
                if conn.has_extn("starttls"):
                    conn.starttls(context=self._tls_context())
                    conn.ehlo()
                    encrypted = True
                elif s.starttls == "required":
                    raise DeliveryError(
                        f"{s.host}:{s.port} does not offer STARTTLS (starttls=required)", unavailable=True
                    )
            if s.username:
                if not encrypted and s.starttls != "off":  # a stripped STARTTLS must not leak the password
                    raise DeliveryError(
                        f"{s.host}:{s.port} does not offer STARTTLS: not sending the password in clear"
                        " (?starttls=off allows it)",
                        unavailable=True,
                    )
                conn.login(s.username, s.password or "")
            if self.on_ehlo is not None:
                self.on_ehlo(bool(conn.does_esmtp and conn.has_extn("smtputf8")))
        except smtplib.SMTPAuthenticationError as exc:
            _close_quietly(conn)
            raise DeliveryError(
                f"SMTP login refused: {exc.smtp_code} {_reply_text(exc.smtp_error)}", unavailable=True
            ) from exc
        except (OSError, smtplib.SMTPException) as exc:
            _close_quietly(conn)
            raise DeliveryError(f"cannot connect to {s.host}:{s.port}: {exc}", unavailable=True) from exc
        except BaseException:
            _close_quietly(conn)
            raise
        self._used = False
        return conn

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.close()

    def _command_failed(self, step: str, code: int, reply: bytes) -> DeliveryError:
        if code == 421 or code < 200:
            self._drop()  # the server is closing this session
        elif step != "END":
            try:
                assert self._conn is not None
                self._conn.rset()
            except (OSError, smtplib.SMTPException):
                self._drop()
        return DeliveryError(f"{step}: {code} {_reply_text(reply)}", code=code, permanent=500 <= code < 600)

    def _envelope_replies(self, conn: smtplib.SMTP, env: Envelope, replies: list[tuple[int, bytes]]) -> None:
        """MAIL, RCPT, DATA: in one write when the server offers PIPELINING (RFC 2920).

        Replies are appended to `replies` as they come, so a dropped connection shows
        how far the transaction got.
        """
        commands = self._commands(env).split(b"\r\n")[:3]
        if conn.does_esmtp and conn.has_extn("pipelining"):
            conn.send(b"".join(c + b"\r\n" for c in commands))
            for _ in commands:
                replies.append(conn.getreply())
            return
        for step, command in zip(_STEPS, commands, strict=True):
            conn.send(command + b"\r\n")
            replies.append(conn.getreply())
            if replies[-1][0] not in _EXPECTED[step]:
                return

    def _send_once(self, env: Envelope) -> str:
        """Run one transaction; returns the step reached when the connection died."""
        if self._conn is None:
            self._conn = self._connect()
        conn = self._conn
        step = "MAIL"
        replies: list[tuple[int, bytes]] = []
        try:
            self._envelope_replies(conn, env, replies)
            for step, (code, reply) in zip(_STEPS, replies, strict=False):
                if code not in _EXPECTED[step]:
                    if replies[-1][0] == 354:  # DATA opened despite a refusal: end it empty
                        conn.send(b".\r\n")
                        conn.getreply()
                    raise self._command_failed(step, code, reply)
            step = "END"
            conn.send(self._payload(env))
            code, reply = conn.getreply()
            if code != 250:
                raise self._command_failed(step, code, reply)
        except (OSError, smtplib.SMTPServerDisconnected):
            self._drop()
            return step if step == "END" else _STEPS[min(len(replies), 2)]
        self._used = True
        return ""

    def send(self, envelope: Envelope) -> None:
        reused = self._conn is not None and self._used
        lost_at = self._send_once(envelope)
        if lost_at == "MAIL" and reused:
            lost_at = self._send_once(envelope)  # the kept-open connection had gone stale
        if lost_at:
            raise DeliveryError(f"connection lost during {lost_at}")

    def _try_send(self, env: Envelope) -> DeliveryError | None:
        try:
            self.send(env)
        except DeliveryError as error:
            return error
        return None

    def _pipelining(self) -> bool:
        conn = self._conn
        return conn is not None and bool(conn.does_esmtp) and conn.has_extn("pipelining")

    def send_many(self, envelopes: Iterable[Envelope]) -> Iterator[Outcome]:
        """Deliver in order, yielding each outcome as soon as the server has answered.

        With PIPELINING, one message's content (ended by the dot) goes out in the same
        write as the next message's MAIL, RCPT and DATA (RFC 2920 lets a group end with
        DATA), so a message costs one round trip instead of four. Content is only sent
        after a 354, so a message cut short before that was not delivered: it is tried
        once more, at once, on a fresh connection.
        """
        open_env: Envelope | None = None  # its DATA got 354; its content is not sent yet
        try:
            for env in envelopes:
                if open_env is None:
                    if self._conn is None:
                        try:
                            self._conn = self._connect()
                        except DeliveryError as error:
                            yield env, error
                            continue
                    if not self._pipelining():
                        yield env, self._try_send(env)
                        continue
                outcomes, open_env = self._pipelined_step(open_env, env)
                for done, outcome in outcomes:
                    yield done, (self._try_send(done) if outcome is _FRESH else outcome)
            if open_env is not None:
                env, open_env = open_env, None
                yield env, self._finish(env)
        finally:
            if open_env is not None:
                self._drop()  # stopped with DATA open: closing makes the server discard it

    def _finish(self, env: Envelope) -> DeliveryError | None:
        """Send the content of a message whose DATA was accepted; read the final reply."""
        assert self._conn is not None
        try:
            self._conn.send(self._payload(env))
            code, reply = self._conn.getreply()
        except (OSError, smtplib.SMTPServerDisconnected):
            self._drop()
            return DeliveryError("connection lost during END")
        self._used = True
        return None if code == 250 else self._command_failed("END", code, reply)

    def _pipelined_step(
        self, open_env: Envelope | None, env: Envelope
    ) -> tuple[list[tuple[Envelope, DeliveryError | None]], Envelope | None]:
        """Write `open_env`'s content and `env`'s commands at once; settle what the replies say.

        Returns the outcomes (an outcome of `_FRESH` means: not delivered, try again on a
        new connection) and the envelope now open for content, if any.
        """
        conn = self._conn
        assert conn is not None
        try:
            commands = self._commands(env)
        except DeliveryError as refused:
            finished = [(open_env, self._finish(open_env))] if open_env else []
            return [*finished, (env, refused)], None
        out: list[tuple[Envelope, DeliveryError | None]] = []
        replies: list[tuple[int, bytes]] = []
        ended = open_env is None
        try:
            conn.send((self._payload(open_env) if open_env else b"") + commands)
            if open_env is not None:
                code, reply = _read_reply(conn)
                ended = True
                out.append((open_env, None if code == 250 else self._command_failed("END", code, reply)))
                if self._conn is None:  # the server closed the session (421)
                    return [*out, (env, _FRESH)], None
            for _ in _STEPS:
                replies.append(_read_reply(conn))
        except (OSError, smtplib.SMTPServerDisconnected):
            self._drop()
            if not ended:
                out.append((open_env, DeliveryError("connection lost during END")))  # type: ignore[arg-type]
            lost = DeliveryError(f"connection lost during {_STEPS[len(replies)]}") if replies else _FRESH
            return [*out, (env, lost)], None
        self._used = True
        for step, (code, reply) in zip(_STEPS, replies, strict=True):
            if code not in _EXPECTED[step]:
                if replies[-1][0] == 354:  # DATA opened despite a refusal: end it empty
                    try:
                        conn.send(b".\r\n")
                        _read_reply(conn)
                    except (OSError, smtplib.SMTPServerDisconnected):
                        self._drop()
                return [*out, (env, self._command_failed(step, code, reply))], None
        return out, env

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.quit()
            except (OSError, smtplib.SMTPException):
                conn.close()


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


def finalize(data: bytes, sign: Callable[[bytes], bytes] | None) -> bytes:
    """The bytes that go on the wire: THE one place a message is changed at send time
    (DKIM signing, when configured), after everything else has been applied."""
    return sign(data) if sign is not None else data


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
