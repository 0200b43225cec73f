"""Enqueue mail inside the caller's transaction; the sender (sender.py) delivers it later.

Nothing in a request talks SMTP: a change and the mail it causes commit together or
not at all, and the idempotency key makes a retried job enqueue nothing twice.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import getaddresses

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import OutboundMessage


def enqueue(
    message: EmailMessage,
    *,
    kind: str,
    key: str,
    event_id: int | None = None,
    subscription_id: int | None = None,
    envelope_from: str | None = None,
) -> OutboundMessage | None:
    """Queue one message for its single `To` recipient; returns None if `key` was queued before.

    Runs in the caller's transaction (a SAVEPOINT guards the unique key), so the caller
    commits the change and its mail together.
    """
    if db.session.scalar(select(OutboundMessage.id).where(OutboundMessage.idempotency_key == key)):
        return None
    recipients = [addr for _, addr in getaddresses(message.get_all("To", [])) if addr]
    if len(recipients) != 1:
        raise ValueError(f"an outbound message has exactly one recipient, got {recipients!r}")
    if envelope_from is None:
        envelope_from = next((a for _, a in getaddresses([str(message["From"])]) if a), "")
    row = OutboundMessage(
        idempotency_key=key,
        kind=kind,
        recipient=recipients[0],
        envelope_from=envelope_from,
        message=message.as_bytes(),
        event_id=event_id,
        subscription_id=subscription_id,
    )
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        return None  # a concurrent transaction queued the same key first
    return row
