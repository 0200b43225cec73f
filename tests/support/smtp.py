"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, a free port, scriptable replies.

`SMTPServer.script(rcpt, "451", None)` makes the next RCPT for `rcpt` get a 451, the
one after succeed; "550" refuses permanently and "drop" closes the connection.
"""

from __future__ import annotations

import socket
import threading
from collections import defaultdict, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller

REPLIES = {
    "451": "451 4.3.0 Try again later",
    "452": "452 4.2.2 Mailbox full",
    "550": "550 5.1.1 No such user",
    "554": "554 5.7.1 Rejected",
}


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=policy.default)  # type: ignore[return-value]


class ScriptedHandler:
    """Records accepted messages; answers RCPT as scripted per recipient."""

    def __init__(self, pipelining: bool = False) -> None:
        self.pipelining = pipelining
        self.received: list[Received] = []
        self.connections = 0
        self._script: dict[str, deque[str | None]] = defaultdict(deque)
        self._lock = threading.Lock()

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # type: ignore[no-untyped-def]
        with self._lock:
            self.connections += 1
        session.host_name = hostname
        sock = server.transport.get_extra_info("socket")
        if sock is not None:  # reply at once (as real MTAs do), not after a delayed ACK
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.pipelining:  # aiosmtpd reads pipelined commands fine; say so (RFC 2920)
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
        with self._lock:
            queue = self._script.get(address.lower())
            action = queue.popleft() if queue else None
        if action == "drop":
            server.transport.close()
            return "421 4.3.2 Closing"
        if action:
            return REPLIES[action]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        with self._lock:
            self.received.append(
                Received(envelope.mail_from, tuple(envelope.rcpt_tos), bytes(envelope.original_content))
            )
        return "250 2.0.0 Accepted"


class FreePortController(Controller):
    """aiosmtpd's Controller bound to port 0; the port the OS picked is read back."""

    def _trigger_server(self) -> None:
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class SMTPServer:
    def __init__(self, pipelining: bool = False, smtputf8: bool = False) -> None:
        self.handler = ScriptedHandler(pipelining)
        self.controller = FreePortController(
            self.handler, hostname="127.0.0.1", port=0, enable_SMTPUTF8=smtputf8
        )

    def start(self) -> SMTPServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    @property
    def port(self) -> int:
        return self.controller.port

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?starttls=off&timeout=5"

    @property
    def received(self) -> list[Received]:
        return list(self.handler.received)

    def script(self, rcpt: str, *actions: str | None) -> None:
        with self.handler._lock:
            self.handler._script[rcpt.lower()].extend(actions)

    def to(self, rcpt: str) -> list[Received]:
        return [r for r in self.received if rcpt in r.rcpt_tos]


@contextmanager
def running_smtp_server(pipelining: bool = False, smtputf8: bool = False) -> Iterator[SMTPServer]:
    """For a test module's fixture: `with running_smtp_server() as server: yield server`."""
    server = SMTPServer(pipelining, smtputf8).start()
    try:
        yield server
    finally:
        server.stop()


# --- app-side helpers for the mail tests ------------------------------------------------

MAIL_TEMPLATES = {
    "mail/test_plain.txt": "{{ body }}\n",
    "mail/test_rich.txt": "{{ body }}\n",
    "mail/test_rich.html": '<p>{{ body }}</p><script>alert("x")</script><p onclick="evil()">Click</p>',
    "mail/test_note.txt": "Hello {{ participant.name or participant.email }},\n\n{{ body }}\n\n"
    "Unsubscribe: {{ unsubscribe_url }}\n",
    "mail/test_note.html": "<p>Hello {{ participant.name }},</p><p>{{ body }}</p>"
    '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p><script>alert(1)</script>',
}


def use_test_templates(app) -> None:  # type: ignore[no-untyped-def]
    """Add the `test_note` mail template beside the real ones, for this app only."""
    from jinja2 import ChoiceLoader, DictLoader

    app.jinja_env.loader = ChoiceLoader([DictLoader(MAIL_TEMPLATES), app.jinja_env.loader])


def make_subscribers(n: int, slug: str = "mentoring", title: str = "Mentoring in Technical Services"):  # type: ignore[no-untyped-def]
    """A published e-forum with `n` active subscribers (bulk-inserted: fast for thousands)."""
    from datetime import datetime

    from sqlalchemy import insert, select

    from forum.core.extensions import db
    from forum.models import Event, Participant, Session, Subscription

    event = Event(slug=slug, title=title, status="published", timezone="America/New_York")
    session = Session(event=event)
    session.set_times(datetime(2030, 9, 10, 10), datetime(2030, 9, 10, 18), "America/New_York")
    db.session.add_all([event, session])
    db.session.flush()
    if n:
        db.session.execute(
            insert(Participant),
            [
                {"email": f"p{i}@example.org", "email_key": f"p{i}@example.org", "name": f"Person {i}"}
                for i in range(n)
            ],
        )
        ids = db.session.scalars(select(Participant.id).order_by(Participant.id)).all()
        db.session.execute(
            insert(Subscription),
            [
                {"participant_id": pid, "event_id": event.id, "status": "active", "mode": "each"}
                for pid in ids
            ],
        )
    db.session.commit()
    subs = db.session.scalars(
        select(Subscription).where(Subscription.event_id == event.id).order_by(Subscription.id)
    ).all()
    return event, list(subs)
