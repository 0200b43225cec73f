"""Delivery status notifications (RFC 3464, RFC 6533): the per-recipient results of a report.

Read by `forum.mail.parse` from the message it has already parsed, so an inbound message is
parsed once; `forum.mail.bounces` decides what a hard failure counts for.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser

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


def read_report(msg: Message) -> list[RecipientStatus] | None:
    """The per-recipient results of a DSN, or None when `msg` is not a delivery report."""
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
