"""“Delete my address and my data”: forgetting a participant at their own request.

Apart from subscriptions.py because it has its own rules about what stays (counts,
idempotency keys, the place of posts in threads) and what goes (address, name, zone, text
of mail). The areas above that keep a person's data register a step of their own
(`register_erasure_step`): the discussion anonymises posts, CE deletes certificates,
pathways stop; so this module never imports them.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, update

from forum.calendars import leaving
from forum.core import clock
from forum.core.extensions import db
from forum.models import OutboundMessage, Participant
from forum.models.outbox import UNSENT_STATUSES
from forum.subscriptions.service import unsubscribe

#: What an erased participant and their archived posts are called from now on.
FORMER_PARTICIPANT = "Former participant"
#: email_key prefix of an erased participant: it has no "@", so no typed address can match it.
ERASED_KEY_PREFIX = "erased:"


@dataclass(frozen=True)
class Erasure:
    """Whom an erasure step forgets: the rows still hold the old address until all steps ran."""

    participant_id: int
    old_key: str  # the address as it was, lower-cased (Participant.email_key)
    subscription_ids: list[int]
    at: datetime


#: The other areas' steps, in registration order; each runs in the erasure's transaction.
ERASURE_STEPS: list[Callable[[Erasure], None]] = []


def register_erasure_step(step: Callable[[Erasure], None]) -> Callable[[Erasure], None]:
    """Add an area's part of "delete my data" (once; usable as a decorator)."""
    if step not in ERASURE_STEPS:
        ERASURE_STEPS.append(step)
    return step


def is_erased(participant: Participant) -> bool:
    """True once erase_participant() has run: old signed links then show the "removed" page."""
    return participant.email_key.startswith(ERASED_KEY_PREFIX)


def erase_participant(participant: Participant) -> None:
    """Forget a person at their own request, in the caller's transaction.

    Their subscriptions end (kept as "unsubscribed" rows so officers' counts and the
    outbox's idempotency keys stay as they were), mail not yet sent to them is cancelled,
    their address, name, zone and feed link are replaced by a placeholder whose key can
    never equal a real address (so the address can join again from scratch), and their
    archived posts stay (replies refer to them) under "Former participant". Held posts
    are rejected without mail: there is nobody left to tell. Idempotent.
    """
    if is_erased(participant):
        return
    old_key = participant.email_key
    now = clock.now()
    sub_ids = [s.id for s in participant.subscriptions]
    for subscription in participant.subscriptions:
        unsubscribe(subscription)
    db.session.flush()
    _cancel_unsent_mail(old_key, sub_ids)
    erasure = Erasure(participant.id, old_key, sub_ids, now)
    for step in ERASURE_STEPS:
        step(erasure)
    db.session.expire_all()
    participant.email = ""
    participant.email_key = f"{ERASED_KEY_PREFIX}{participant.id}:{secrets.token_hex(8)}"
    participant.name = FORMER_PARTICIPANT
    participant.timezone = None
    participant.confirmed_at = None
    participant.feed_token = secrets.token_urlsafe(24)
    db.session.flush()


def _cancel_unsent_mail(old_key: str, sub_ids: list[int]) -> None:
    """Unsent rows to the address never leave (except the calendar CANCELs that leaving just
    queued: without them the sessions stay in their calendar); every row to them (sent
    ones too) loses the address and the text, and keeps only its key and status."""
    to_them = func.lower(OutboundMessage.recipient) == old_key
    if sub_ids:
        to_them = or_(to_them, OutboundMessage.subscription_id.in_(sub_ids))
    db.session.execute(
        update(OutboundMessage)
        .where(
            to_them,
            OutboundMessage.status.in_(UNSENT_STATUSES),
            # the last mail they get: it clears our sessions from their calendar
            OutboundMessage.kind != leaving.MAIL_KIND,
        )
        .values(
            status="cancelled",
            recipient="",
            message=None,
            last_error="Cancelled: the recipient erased their data.",
        ),
        execution_options={"synchronize_session": False},
    )
    db.session.execute(
        update(OutboundMessage)
        .where(to_them, OutboundMessage.status.in_(("sent", "failed")))
        .values(recipient="", envelope_from="", message=None, last_error=None),
        execution_options={"synchronize_session": False},
    )
