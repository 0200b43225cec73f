"""Who is writing to a forum: a member (subscriber or panelist), a moderator, or someone we know.

Lookups only, shared by the doors (mail, web) through `forum.discussion`; nothing here
changes a row or sends mail.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select, update

from forum.core import timezones
from forum.core.extensions import db
from forum.core.validation import email_key
from forum.models import Event, EventPanelist, Officer, Panelist, Participant, Post, Subscription
from forum.subscriptions.erasure import FORMER_PARTICIPANT, Erasure, register_erasure_step


@dataclass
class Author:
    """A sender the forum knows: an active subscriber or a panelist of the forum."""

    email: str
    name: str
    role: str  # participant / panelist / moderator / presenter
    participant: Participant | None = None
    subscription: Subscription | None = None
    panelist: Panelist | None = None

    @property
    def is_panelist(self) -> bool:
        return self.panelist is not None


def find_author(event: Event, email: str, name: str = "") -> Author | None:
    """The sender as a member of this forum: a panelist link wins over a subscription."""
    key = email_key(email)
    link = db.session.scalar(
        select(EventPanelist)
        .join(Panelist)
        .where(EventPanelist.event_id == event.id, func.lower(Panelist.email) == key)
        .limit(1)
    )
    participant = Participant.by_email(key)
    subscription = None
    if participant is not None:
        subscription = db.session.scalar(
            select(Subscription).where(
                Subscription.event_id == event.id,
                Subscription.participant_id == participant.id,
            )
        )
    if link is not None:
        return Author(
            email=email,
            name=link.panelist.name or name,
            role=link.role if link.role in ("moderator", "presenter") else "panelist",
            participant=participant,
            subscription=subscription if subscription and subscription.is_active else None,
            panelist=link.panelist,
        )
    if subscription is not None and subscription.is_active:
        return Author(
            email=email,
            name=name or participant.name,  # type: ignore[union-attr]
            role="participant",
            participant=participant,
            subscription=subscription,
        )
    return None


def is_moderator(event: Event, email: str) -> bool:
    """Officers, the event's contact, and its panelists with the moderator role."""
    key = email_key(email)
    if not key:
        return False
    officer = Officer.by_email(key)
    if officer is not None and officer.active:
        return True
    if event.contact_email and email_key(event.contact_email) == key:
        return True
    return any(
        link.role == "moderator" and email_key(link.panelist.email or "") == key
        for link in event.panelist_links
    )


def author_zone(event: Event, author: Author) -> str:
    zone = author.participant.timezone if author.participant else None
    return timezones.reader_zone(zone, fallback=event.timezone)


def is_known(email: str) -> bool:
    """Someone we have a record of, so a refusal goes to a person and not to a forged address."""
    if Participant.by_email(email) is not None:
        return True
    return (
        db.session.scalar(select(Panelist.id).where(func.lower(Panelist.email) == email.strip().lower()))
        is not None
    )


@register_erasure_step
def _anonymise_posts(erasure: Erasure) -> None:
    """"Delete my data": their posts keep their text and place in threads but lose the name
    and address; held ones are rejected without mail (nobody is left to tell)."""
    theirs = or_(Post.participant_id == erasure.participant_id, func.lower(Post.author_email) == erasure.old_key)
    db.session.execute(
        update(Post)
        .where(theirs, Post.status == "held")
        .values(status="rejected", rejected_at=erasure.at, reject_reason="The author erased their data."),
        execution_options={"synchronize_session": False},
    )
    db.session.execute(
        update(Post).where(theirs).values(author_name=FORMER_PARTICIPANT, author_email=""),
        execution_options={"synchronize_session": False},
    )
