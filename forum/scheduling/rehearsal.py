"""A job's rehearsal: run it as at some instant, show what it did and the mail it wrote, keep nothing.

`flask forum run-job KIND --at ISO` used to store the job's results with the future
instant in them: job_run rows, certificates "issued" on a date that has not come,
mail queued for later. An officer or a tester who wants to see what a job *would* do
gets a rehearsal instead: the job runs on one connection inside an outer transaction
(its own commits only release savepoints, SQLAlchemy's "join an external transaction"
recipe), the mail it queued is read back and rendered, and the outer transaction is
rolled back, so no page or status can later claim that the future already happened.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from forum.core import clock
from forum.core.extensions import db
from forum.models import FanOut, OutboundMessage

#: Jobs a rehearsal cannot hold back: the outbox job talks SMTP, which no rollback undoes.
NOT_REHEARSED = {"outbox": "the outbox job sends mail, which cannot be taken back"}


@dataclass
class RenderedMail:
    recipient: str
    kind: str
    subject: str
    text: str
    attachments: list[str] = field(default_factory=list)


@dataclass
class Rehearsal:
    """What the job wrote before it was rolled back."""

    mails: list[RenderedMail] = field(default_factory=list)
    fanouts: list[str] = field(default_factory=list)  # "kind key" of each list-wide record


def _render(row: OutboundMessage) -> RenderedMail:
    raw = row.full_message or b""
    msg = message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    body = msg.get_body(preferencelist=("plain", "html"))
    text = body.get_content() if body is not None else ""
    names = [str(part.get_filename()) for part in msg.iter_attachments() if part.get_filename()]
    return RenderedMail(row.recipient, row.kind, str(msg.get("Subject", "")), text, names)


@contextmanager
def rehearse(at: datetime) -> Iterator[Rehearsal]:
    """Run the body as at `at` on a transaction that is rolled back; collect its mail first."""
    db.session.commit()  # whatever the caller had stays; the rehearsal starts clean
    result = Rehearsal()
    outer = db.session.registry()
    connection = db.engine.connect()
    connection.begin()  # the outer transaction; the session below joins it with savepoints
    if connection.dialect.name == "sqlite":
        # pysqlite defers BEGIN to the first write; without an explicit one the job's first
        # SAVEPOINT would be the outermost and releasing it would commit for real.
        connection.exec_driver_sql("BEGIN")
    # a plain Session: Flask-SQLAlchemy's own picks the engine by table and would not join
    session = Session(bind=connection, join_transaction_mode="create_savepoint")
    db.session.registry.set(session)  # type: ignore[arg-type]  # the same API, joined to `connection`
    try:
        last_mail = session.scalar(select(func.max(OutboundMessage.id))) or 0
        last_fanout = session.scalar(select(func.max(FanOut.id))) or 0
        with clock.frozen(at):
            yield result
        session.flush()
        rows = session.scalars(
            select(OutboundMessage).where(OutboundMessage.id > last_mail).order_by(OutboundMessage.id)
        )
        result.mails = [_render(row) for row in rows]
        fanouts = session.scalars(select(FanOut).where(FanOut.id > last_fanout).order_by(FanOut.id))
        result.fanouts = [f"{f.kind} {f.key}" for f in fanouts]
    finally:
        session.close()
        connection.rollback()
        connection.close()
        db.session.registry.set(outer)
        outer.expire_all()
