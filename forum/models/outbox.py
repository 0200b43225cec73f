"""The transactional outbox: every mail the app sends is first a row here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DDL, JSON, ForeignKey, Index, Integer, LargeBinary, String, Text, event, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from forum.core import clock
from forum.core.extensions import Model
from forum.models.base import Keyed, TZDateTime, belongs_to

# "cancelled": never to be sent (its recipient erased their data); not a delivery failure.
OUTBOX_STATUSES = ("queued", "sending", "sent", "retry", "failed", "cancelled")
#: The states a message can still leave from: due new/retry rows, and `sending` rows whose
#: lease may lapse. The sender claims these, erasure cancels them, the delivery chart
#: counts them as waiting.
UNSENT_STATUSES = ("queued", "retry", "sending")
#: The partial index's condition: `UNSENT_STATUSES` written out (the sender's claim writes them
#: as literals too, so the planners can match the two).
UNSENT_SQL = "status IN ('queued', 'retry', 'sending')"


class OutboundBody(Keyed, Model):
    """What many outbox rows share: one rendered body of a fan-out, stored once.

    `data` holds the body's shared bytes (MIME headers, every line without a
    recipient's link, the part boundaries), concatenated; `cuts` the offsets in `data`
    where each recipient's own pieces go (comma-separated). A row assembles its message
    as its header block, then `data` cut at `cuts` with its own pieces in between
    (`assemble`). No recipient's address or links are in here (forum.mail.list_copies'
    group views refuse to render them into a shared body).
    """

    __tablename__ = "outbound_body"

    data: Mapped[bytes] = mapped_column(LargeBinary)
    cuts: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=clock.now)


def assemble(message: bytes, splits: str | None, body: bytes | None, cuts: str | None) -> bytes:
    """A row's whole message from its own bytes and its shared body (see OutboundBody).

    `message` is the row's header block followed by its own pieces, whose lengths
    `splits` lists; without a body the row's `message` is the whole message already.
    """
    if body is None:
        return message
    lengths = [int(n) for n in splits.split(",")] if splits else []
    offsets = [int(n) for n in cuts.split(",")] if cuts else []
    if len(lengths) != len(offsets):
        raise ValueError("an outbox row does not fit its shared body")
    pos = len(message) - sum(lengths)
    out = [message[:pos]]
    start = 0
    for offset, length in zip(offsets, lengths, strict=True):
        out += [body[start:offset], message[pos : pos + length]]
        start, pos = offset, pos + length
    out.append(body[start:])
    return b"".join(out)


class OutboundMessage(Keyed, Model):
    __tablename__ = "outbound_message"
    __table_args__ = (
        Index("ix_outbound_message_due", "status", "next_attempt_at"),
        # The sender's claim: the next due unsent rows in (next_attempt_at, id) order. Only
        # unsent rows are in it, so a claim reads its LIMIT rows whatever the number of sent
        # ones; without it PostgreSQL sorted the whole table per claim (100,000 rows: 170-400 ms
        # a claim, 200 claims), which made sending slower as the outbox grew.
        Index(
            "ix_outbound_message_unsent",
            "next_attempt_at",
            "id",
            postgresql_where=text(UNSENT_SQL),
            sqlite_where=text(UNSENT_SQL),
        ),
    )

    # One logical message, one key: enqueueing the same key twice is a no-op.
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    recipient: Mapped[str] = mapped_column(String(320))
    envelope_from: Mapped[str] = mapped_column(String(320))
    # The rendered RFC 5322 bytes, or (with `body_id`) this recipient's header block and own
    # pieces of a shared body; None once the retention job cleared a sent message's text.
    message: Mapped[bytes | None] = mapped_column(LargeBinary)
    body_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbound_body.id", ondelete="SET NULL"), index=True
    )
    # Lengths of the own pieces at the end of `message` (comma-separated), with `body_id`.
    splits: Mapped[str | None] = mapped_column(Text)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("event.id", ondelete="SET NULL"), index=True)
    subscription_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscription.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(TZDateTime(), default=clock.now)
    lease_until: Mapped[datetime | None] = mapped_column(TZDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=clock.now)
    sent_at: Mapped[datetime | None] = mapped_column(TZDateTime())

    body: Mapped[OutboundBody | None] = relationship(lazy="select")

    @property
    def full_message(self) -> bytes | None:
        """The whole message the sender puts on the wire (None once retention cleared it)."""
        if self.message is None:
            return None
        body = self.body
        return assemble(self.message, self.splits, body.data if body else None, body.cuts if body else None)


# PostgreSQL compresses large values with pglz by default; lz4 (PostgreSQL 14+) queues a
# 10,000-copy digest about 5x faster at nearly the same size on disk. An optimisation
# only: a server built without lz4 (or older than 14) keeps the default.
LZ4_MESSAGES = DDL(
    """DO $$ BEGIN
  EXECUTE 'ALTER TABLE outbound_message ALTER COLUMN message SET COMPRESSION lz4';
EXCEPTION WHEN OTHERS THEN NULL;
END $$"""
)
event.listen(OutboundMessage.__table__, "after_create", LZ4_MESSAGES.execute_if(dialect="postgresql"))
LZ4_BODIES = DDL(
    """DO $$ BEGIN
  EXECUTE 'ALTER TABLE outbound_body ALTER COLUMN data SET COMPRESSION lz4';
EXCEPTION WHEN OTHERS THEN NULL;
END $$"""
)
event.listen(OutboundBody.__table__, "after_create", LZ4_BODIES.execute_if(dialect="postgresql"))


class FanOut(Keyed, Model):
    """One change that mails a whole list, recorded in the transaction of the change.

    Accepting a post, or changing or cancelling a session, commits the change and this
    one row, so the request (or LMTP delivery) answers at once; the scheduler's outbox job
    then writes the per-recipient outbox rows (`forum.common.fanout.expand_pending`) and sets
    `done_at` in the same transaction. Those rows carry the usual per-recipient
    idempotency keys (`<key>:<subscription id>`), so an expansion cut short by a crash is
    simply run again: nobody is missed and nobody gets two copies.
    """

    __tablename__ = "fan_out"
    __table_args__ = (Index("ix_fan_out_pending", "done_at", "id"),)

    kind: Mapped[str] = mapped_column(String(32))
    # The outbox key prefix of the copies (e.g. "post:12"); one fan-out per key.
    key: Mapped[str] = mapped_column(String(255), unique=True)
    event_id: Mapped[int | None] = belongs_to("event")
    # What is sent: a post, a session (calendar update/cancel), an announcement.
    target_id: Mapped[int | None] = mapped_column(Integer)
    # What the change was when recorded (e.g. the session's SEQUENCE): a later change supersedes it.
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=clock.now)
    done_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str] = mapped_column(String(200), default="")
