"""The SMTP client: one connection to the relay, reused, with pipelining when offered.

Commands are issued so a refusal is attributed to the right step (MAIL, RCPT, DATA); a
connection found dead before a message was accepted is reopened and the message sent
again at once. STARTTLS when offered, or required (`SMTPSettings.starttls`); server
certificates and host names are always verified.
"""

from __future__ import annotations

import contextlib
import smtplib
import socket
import ssl
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from forum.mail.envelope import DeliveryError, Envelope, Outcome, finalize, needs_smtputf8, smtp_address

STARTTLS_MODES = ("auto", "required", "off")


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
        needed = needs_smtputf8(env)
        if needed and not utf8:
            raise DeliveryError(
                "a header holds an address that is not ASCII before the @ and the relay does not "
                "offer SMTPUTF8",
                permanent=True,
            )
        params = " SMTPUTF8" if needed else ""
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
