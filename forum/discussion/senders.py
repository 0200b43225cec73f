"""Who a non-member's mail comes from, as far as moderation cares: spam the MTA marked, and
senders a moderator chose to "always accept".

Both are read before any notice is considered: spam is discarded or held in silence
(answering it is backscatter, and telling moderators about 1,000 of it buries the real
ones), and an accepted sender's post goes straight to the list.
"""

from __future__ import annotations

from sqlalchemy import select

from forum.core.extensions import db
from forum.mail.parse import ParsedMessage
from forum.models import AcceptedSender, Event

SPAM_HOLD_REASON = "Marked as spam by the receiving mail server."


def spam_reason(event: Event, parsed: ParsedMessage) -> str | None:
    """Why the MTA's headers make this message spam for this forum, or None."""
    if parsed.spam_flag:
        return "X-Spam-Flag: YES"
    limit = event.spam_score_limit if event.spam_score_limit is not None else 5.0
    if parsed.spam_score is not None and parsed.spam_score > limit:
        return f"spam score {parsed.spam_score:g} above {limit:g}"
    return None


def is_accepted(event: Event, email: str) -> bool:
    """Whether a moderator chose to always accept this address's posts to this forum."""
    return (
        db.session.scalar(
            select(AcceptedSender.id).where(
                AcceptedSender.event_id == event.id, AcceptedSender.email == email.strip().lower()
            )
        )
        is not None
    )


def always_accept(event: Event, email: str, moderator: str = "") -> bool:
    """Add an address to the forum's accept list; False when it was there already."""
    if is_accepted(event, email):
        return False
    db.session.add(
        AcceptedSender(event_id=event.id, email=email.strip().lower()[:320], added_by=moderator[:320])
    )
    db.session.flush()
    return True


def accepted_senders(event: Event) -> list[AcceptedSender]:
    return list(
        db.session.scalars(
            select(AcceptedSender).where(AcceptedSender.event_id == event.id).order_by(AcceptedSender.email)
        )
    )
