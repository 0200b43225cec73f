"""Bounces that come back later: delivery status notifications (RFC 3464) to a VERP address.

A relay accepts every message and reports failures afterwards, by mail to the envelope
sender. Each subscriber's mail returns to its own signed address (links.bounce_address),
so the address says whose delivery failed; the report only says whether it failed for
good. A hard bounce is counted by the same code as a 5xx during our own SMTP
transaction (sender.count_hard_bounces). Nothing here ever sends mail: answering a
bounce is how mail loops start.
"""

from __future__ import annotations

import email
from dataclasses import dataclass
from email import policy
from email.message import Message
from email.parser import HeaderParser

from ..extensions import db
from ..models import Subscription
from .sender import count_hard_bounces

#: Report parts that carry per-recipient delivery fields (RFC 3464; RFC 6533 for SMTPUTF8).
STATUS_TYPES = ("message/delivery-status", "message/global-delivery-status")


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
    count_hard_bounces([subscription.id])
    return BounceResult(True, f"Hard bounce counted ({hard[0].status})")
