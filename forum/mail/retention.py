"""Retention: forget the text of mail that was delivered long ago, keep its record.

Every outbox row holds its RFC 5322 bytes (a fan-out's copies: their header blocks
and own lines, the body shared once in `OutboundBody`). Once a message has been SENT more than MAIL_KEEP_DAYS ago nobody needs
its text, but its row still matters: the idempotency key stops a rerun from sending
it twice, and recipient/kind/status/sent_at feed delivery statistics. So only the
bytes are cleared (``message = NULL``; a shared body goes once no row that refers to
it keeps its text). Failed rows keep theirs: an officer may want
to see what was refused. Queued/retrying rows are untouched (they are not sent yet).

The work goes in small batches, each its own short transaction, walking the primary
key upwards so that no batch rescans rows already cleared and no single huge UPDATE
holds locks (or writes a giant WAL burst) on PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, select, update

from forum.core import clock
from forum.core.extensions import db
from forum.models import OutboundBody, OutboundMessage, table_of

#: Rows cleared per transaction.
BATCH_SIZE = 500

_outbox = table_of(OutboundMessage)
_bodies = table_of(OutboundBody)


def cutoff(at: datetime | None = None) -> datetime:
    """Mail sent before this instant has its text cleared."""
    return (at or clock.now()) - timedelta(days=current_app.config["MAIL_KEEP_DAYS"])


def clear_old_messages(at: datetime | None = None, batch_size: int = BATCH_SIZE) -> int:
    """Clear the bytes of messages sent before `cutoff(at)`, batch by batch; returns how many.

    Commits the caller's session first and after every batch, so it is safe to stop
    (or crash) half-way: the next run carries on where this one stopped.
    """
    before = cutoff(at)
    db.session.commit()
    cleared, last_id = 0, 0
    while True:
        ids = list(
            db.session.scalars(
                select(_outbox.c.id)
                .where(
                    _outbox.c.id > last_id,
                    _outbox.c.status == "sent",
                    _outbox.c.sent_at < before,
                    _outbox.c.message.is_not(None),
                )
                .order_by(_outbox.c.id)
                .limit(batch_size)
            )
        )
        if not ids:
            drop_unused_bodies()
            return cleared
        try:
            db.session.execute(
                update(_outbox)
                .where(_outbox.c.id.in_(ids), _outbox.c.status == "sent")
                .values(message=None, body_id=None)
            )
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
        cleared += len(ids)
        last_id = ids[-1]


def drop_unused_bodies() -> int:
    """Delete shared bodies no row still needs (every row using it cleared or erased); how many.

    A body stays while any row that refers to it keeps its text: unsent rows (they will
    be assembled from it), and sent or failed rows within MAIL_KEEP_DAYS.
    """
    needed = select(_outbox.c.id).where(_outbox.c.body_id == _bodies.c.id, _outbox.c.message.is_not(None))
    try:
        result = db.session.execute(delete(_bodies).where(~needed.exists()))
        dropped = getattr(result, "rowcount", 0)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return int(dropped or 0)
