"""Reading the audit log: an event's entries, filtered, newest first (pages and API share it)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from forum.core.extensions import db
from forum.models import AuditEntry

LIMIT = 500


def entries(
    event_id: int | None,
    *,
    action: str = "",
    actor: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = LIMIT,
) -> list[AuditEntry]:
    """Newest first. `action` matches a whole action ("session.moved") or its kind ("session");
    `actor` is part of the actor's label (an email address)."""
    query = select(AuditEntry).where(AuditEntry.event_id == event_id)
    if action:
        query = query.where(
            (AuditEntry.action == action)
            | (AuditEntry.action.startswith(action.rstrip(".") + ".", autoescape=True))
        )
    if actor:
        query = query.where(func.lower(AuditEntry.actor).contains(actor.strip().lower(), autoescape=True))
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if until is not None:
        query = query.where(AuditEntry.at < until)
    return list(db.session.scalars(query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)))


def actions_in(event_id: int | None) -> list[str]:
    """The actions this event's log holds (the filter's choices)."""
    return list(
        db.session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.event_id == event_id)
            .distinct()
            .order_by(AuditEntry.action)
        )
    )
