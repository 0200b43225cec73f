"""Bounces that come back later: delivery status notifications (RFC 3464) to a VERP address.

A relay accepts every message and reports failures afterwards, by mail to the envelope
sender. Each subscriber's mail returns to its own signed address (links.bounce_address),
so the address says whose delivery failed; the report only says whether it failed for
good. A hard bounce is counted by the same code as a 5xx during our own SMTP
transaction: both end in `count_hard_bounces`, which scores at most one hard bounce
per subscription per day. `reenable` is the officer's way back for a disabled address.
Nothing here ever sends mail: answering a bounce is how mail loops start.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC

from flask import current_app
from sqlalchemy import or_, select, update

from forum.common.signals import bounce_counted
from forum.core import clock
from forum.core.extensions import db
from forum.mail.dsn import RecipientStatus
from forum.mail.inbound import Inbound, Outcome, register_handler
from forum.mail.parse import ParsedMessage, parse_message
from forum.models import Subscription, table_of

log = logging.getLogger(__name__)
_subscriptions = table_of(Subscription)


def count_hard_bounces(subscription_ids: Sequence[int]) -> None:
    """Count a hard bounce against each subscription, at most one per subscription per
    day (UTC); at BOUNCE_LIMIT it is disabled.

    The one place bounces are counted: a 5xx refusal here and a relay's delivery report
    (forum.mail.bounces) both end here, in the caller's transaction.  A new address that
    refuses its welcome, invite and first post in one send run has one bad day, not three
    strikes (Mailman and Sympa score bounces per day the same way).
    """
    if not subscription_ids:
        return
    limit = current_app.config["BOUNCE_LIMIT"]
    today = clock.now().astimezone(UTC).date()
    ids = set(subscription_ids)
    cols = _subscriptions.c
    db.session.execute(
        update(_subscriptions)
        .where(cols.id.in_(ids), or_(cols.last_bounce_on.is_(None), cols.last_bounce_on < today))
        .values(hard_bounces=cols.hard_bounces + 1, last_bounce_on=today)
    )
    # Mail never decides what a bounce means for a subscription: `forum.subscriptions` listens
    # (in this transaction) and disables one at BOUNCE_LIMIT through its one way out.
    for subscription in db.session.scalars(
        select(Subscription).where(
            Subscription.id.in_(ids),
            Subscription.hard_bounces >= limit,
            Subscription.status.in_(("active", "pending", "waitlisted")),
        )
    ).all():
        bounce_counted.send(subscription, hard=True, limit=limit)


def reenable(subscription: Subscription) -> bool:
    """An officer's "re-enable": a subscription disabled by bounces is active again, its
    count cleared (the address was fixed, or the mailbox was only full).  Returns False
    (and changes nothing) for a subscription that is not disabled."""
    if subscription.status != "disabled":
        return False
    subscription.status = "active"
    subscription.hard_bounces = 0
    subscription.last_bounce_on = None
    return True


def delivery_statuses(raw: bytes) -> list[RecipientStatus] | None:
    """The per-recipient results of a DSN, or None when `raw` is not a delivery report."""
    return parse_message(raw).delivery


@dataclass(frozen=True)
class BounceResult:
    """What a message to a bounce address did: `counted` is True only for a hard bounce."""

    counted: bool
    reason: str


def handle(subscription_id: int, event_id: int, parsed: ParsedMessage) -> BounceResult:
    """Count a hard bounce against the subscription; ignore delays and anything not a DSN.

    The signed address (checked by addresses.resolve) identifies the subscriber, so the
    report's own recipient is not trusted or needed (forwarding often changes it).
    """
    statuses = parsed.delivery
    if statuses is None:
        return BounceResult(False, "Not a delivery report (auto-reply?); dropped without reply")
    hard = [s for s in statuses if s.is_hard]
    if not hard:
        seen = ", ".join(f"{s.action} {s.status}".strip() for s in statuses) or "no recipient status"
        return BounceResult(False, f"Not a permanent failure ({seen}); not counted")
    subscription = db.session.get(Subscription, subscription_id)
    if subscription is None or subscription.event_id != event_id:
        return BounceResult(False, "No such subscription; not counted")
    if subscription.last_bounce_on == clock.now().astimezone(UTC).date():
        return BounceResult(False, f"Hard bounce ({hard[0].status}); one was already counted today")
    count_hard_bounces([subscription.id])
    return BounceResult(True, f"Hard bounce counted ({hard[0].status})")


def _bounce_report(message: Inbound) -> Outcome:
    """Mail to a subscriber's VERP bounce address: a DSN may count; nothing is ever answered."""
    target = message.target
    assert target.bounce_subscription_id is not None
    result = handle(target.bounce_subscription_id, message.event.id, message.parsed)
    if not result.counted:
        log.info("bounce address of subscription %s: %s", target.bounce_subscription_id, result.reason)
    return Outcome("bounce" if result.counted else "dropped", result.reason)


register_handler("bounce", _bounce_report)
