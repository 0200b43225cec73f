"""Who list mail goes to: one definition of an event's active subscribers."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from forum.core.extensions import db
from forum.models import Event, Subscription


def active_subscriptions(event: Event, *, include_no_mail: bool) -> list[Subscription]:
    """Active subscribers of an event; those who chose "No mail" only when `include_no_mail`."""
    stmt = select(Subscription).where(Subscription.event_id == event.id, Subscription.is_active)
    if not include_no_mail:
        stmt = stmt.where(Subscription.mode != "none")
    stmt = stmt.options(joinedload(Subscription.participant)).order_by(Subscription.id)
    return list(db.session.scalars(stmt))
