"""Who list mail goes to: one definition of an event's active subscribers."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import load_only, selectinload

from forum.core.extensions import db
from forum.models import Event, Participant, Subscription


def subscribers(
    event: Event,
    *,
    mode: str | None = None,
    include_no_mail: bool = True,
    after_id: int = 0,
    addressing_only: bool = False,
) -> Select[Subscription]:
    """The query every list mail starts from: the event's active subscribers in id order
    (those after `after_id`, for a fan-out step), their participants loaded; only those
    taking `mode` when given, and those who chose "No mail" only when `include_no_mail`.

    `addressing_only`: load just what addressing a copy reads (the ids, status and mode; the
    participant's address, name and language), for a fan-out whose body is the same for
    everyone (a post): ten thousand rows then build a fifth of the attribute values. Any
    other attribute still loads when first read (one query per row: slow, never wrong).
    """
    stmt = select(Subscription).where(
        Subscription.event_id == event.id, Subscription.is_active, Subscription.id > after_id
    )
    if mode is not None:
        stmt = stmt.where(Subscription.mode == mode)
    if not include_no_mail:
        stmt = stmt.where(Subscription.mode != "none")
    participants = selectinload(Subscription.participant)
    if addressing_only:
        stmt = stmt.options(
            load_only(
                Subscription.id,
                Subscription.participant_id,
                Subscription.event_id,
                Subscription.status,
                Subscription.mode,
            )
        )
        participants = participants.load_only(
            Participant.id, Participant.email, Participant.name, Participant.language
        )
    return stmt.options(participants).order_by(Subscription.id)


def active_subscriptions(event: Event, *, include_no_mail: bool) -> list[Subscription]:
    """Active subscribers of an event; those who chose "No mail" only when `include_no_mail`."""
    return list(db.session.scalars(subscribers(event, include_no_mail=include_no_mail)))
