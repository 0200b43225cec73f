"""Who list mail goes to: one definition of an event's active subscribers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import selectinload

from forum.core.extensions import db
from forum.models import Event, Participant, Subscription


def subscribers(
    event: Event,
    *,
    mode: str | None = None,
    include_no_mail: bool = True,
    after_id: int = 0,
) -> Select[Subscription]:
    """The query every list mail starts from: the event's active subscribers in id order
    (those after `after_id`, for a fan-out step), their participants loaded; only those
    taking `mode` when given, and those who chose "No mail" only when `include_no_mail`.
    (A post's fan-out reads the same people as plain rows: `addressees`.)
    """
    stmt = select(Subscription).where(*_active(event, after_id))
    if mode is not None:
        stmt = stmt.where(Subscription.mode == mode)
    if not include_no_mail:
        stmt = stmt.where(Subscription.mode != "none")
    return stmt.options(selectinload(Subscription.participant)).order_by(Subscription.id)


def _active(event: Event, after_id: int) -> tuple[ColumnElement[bool] | Any, ...]:
    """Who is on the list: both queries above and below start from this, so they never differ."""
    # `is_active` is a hybrid property: a SQL expression at class level, typed as its accessor
    return (Subscription.event_id == event.id, Subscription.is_active, Subscription.id > after_id)


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
        .where(*_active(event, after_id), *where)
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
