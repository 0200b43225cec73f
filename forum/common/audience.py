"""Who list mail goes to: one definition of an event's active subscribers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, select
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


@dataclass(slots=True)
class AddressedParticipant:
    """The participant's columns a post's copy reads: its address, name, language and id."""

    id: int
    email: str
    name: str
    language: str | None


@dataclass(slots=True)
class Addressee:
    """A subscription as a post's fan-out reads it: plain values, not an ORM object.

    Loading ten thousand Subscriptions with their Participants (identity map, instrumented
    state, a selectin query) was an eighth of the writer's CPU per copy; these carry the
    attributes `list_messages` and the outbox read for a mail whose body is the same for
    everyone (ids, status, mode; the participant's address, name and language), under
    the same names. Anything else is an AttributeError, never a lazy load.
    """

    id: int
    participant_id: int
    event_id: int
    status: str
    mode: str
    participant: AddressedParticipant


def addressees(
    event: Event, *, where: Iterable[ColumnElement[bool]] = (), after_id: int = 0, limit: int | None = None
) -> list[Addressee]:
    """`subscribers(event, after_id=...)` filtered by `where`, as plain `Addressee` rows, in id order."""
    stmt = (
        select(
            Subscription.id,
            Subscription.participant_id,
            Subscription.event_id,
            Subscription.status,
            Subscription.mode,
            Participant.id,
            Participant.email,
            Participant.name,
            Participant.language,
        )
        .join(Participant, Participant.id == Subscription.participant_id)
        .where(Subscription.event_id == event.id, Subscription.is_active, Subscription.id > after_id, *where)
        .order_by(Subscription.id)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    return [
        Addressee(sid, pid, eid, status, mode, AddressedParticipant(p_id, email, name, language))
        for sid, pid, eid, status, mode, p_id, email, name, language in db.session.execute(stmt)
    ]


def active_subscriptions(event: Event, *, include_no_mail: bool) -> list[Subscription]:
    """Active subscribers of an event; those who chose "No mail" only when `include_no_mail`."""
    return list(db.session.scalars(subscribers(event, include_no_mail=include_no_mail)))
