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

import email
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from email import policy
from email.message import Message
from email.parser import HeaderParser

from flask import current_app
from sqlalchemy import or_, select, update

from forum.common.signals import bounce_counted
from forum.core import clock
from forum.core.extensions import db
from forum.models import Subscription, table_of

_subscriptions = table_of(Subscription)

#: Report parts that carry per-recipient delivery fields (RFC 3464; RFC 6533 for SMTPUTF8).
STATUS_TYPES = ("message/delivery-status", "message/global-delivery-status")


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


@dataclass(frozen=True)
class RecipientStatus:
    """One per-recipient block of a delivery report."""

    recipient: str
    action: str  # failed / delayed / delivered / relayed / expanded
    status: str  # e.g. 5.1.1

    @property
    def is_hard(self) -> bool:
        """Failed for good: `Action: failed` with a permanent (5.x.x) status."""
        return self.action == "failed" and self.status.startswith("5")


def _blocks(part: Message) -> list[Message]:
    """The header blocks of a delivery-status part (per-message first, then per-recipient)."""
    payload = part.get_payload()
    if isinstance(payload, list):
        blocks = [block for block in payload if isinstance(block, Message)]
        if part.get_content_type() == "message/delivery-status":
            return blocks  # the email package splits these into blocks itself
        text = "".join(block.as_string() for block in blocks)  # parsed as one embedded message
    else:
        data = part.get_payload(decode=True)
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else str(payload or "")
    text = text.replace("\r\n", "\n")
    return [HeaderParser().parsestr(chunk) for chunk in text.split("\n\n") if chunk.strip()]


def _field(block: Message, name: str) -> str:
    value = block.get(name)
    return " ".join(str(value).split()).lower() if value is not None else ""


def delivery_statuses(raw: bytes) -> list[RecipientStatus] | None:
    """The per-recipient results of a DSN, or None when `raw` is not a delivery report."""
    try:
        msg = email.message_from_bytes(raw, policy=policy.compat32)
    except Exception:  # noqa: BLE001 - anything unreadable is simply not a report
        return None
    if msg.get_content_type() != "multipart/report":
        return None
    report_type = msg.get_param("report-type")
    if not isinstance(report_type, str) or report_type.lower() not in (
        "delivery-status",
        "global-delivery-status",
    ):
        return None  # RFC 2231-encoded (tuple) or missing parameters are not DSNs we know
    statuses: list[RecipientStatus] = []
    for part in msg.walk():
        if part.get_content_type() not in STATUS_TYPES:
            continue
        for block in _blocks(part):
            action = _field(block, "Action")
            if not action:
                continue  # the per-message block (Reporting-MTA, Arrival-Date ...)
            recipient = _field(block, "Final-Recipient") or _field(block, "Original-Recipient")
            status = _field(block, "Status").split(" ")[0]
            statuses.append(RecipientStatus(recipient.partition(";")[2].strip(), action, status))
    return statuses


@dataclass(frozen=True)
class BounceResult:
    """What a message to a bounce address did: `counted` is True only for a hard bounce."""

    counted: bool
    reason: str


def handle(subscription_id: int, event_id: int, raw: bytes) -> BounceResult:
    """Count a hard bounce against the subscription; ignore delays and anything not a DSN.

    The signed address (checked by discussion.resolve) identifies the subscriber, so the
    report's own recipient is not trusted or needed (forwarding often changes it).
    """
    statuses = delivery_statuses(raw)
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
