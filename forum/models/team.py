"""Officers as a team: roles per event, the audit log, webhook endpoints and deliveries.

The rules live in `forum/team/` (roles, audit, webhooks); these are only the rows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from forum.core import clock
from forum.core.extensions import Model
from forum.models.base import Keyed, Timestamps, TZDateTime, belongs_to
from forum.models.events import Event
from forum.models.officers import Officer

#: Per-event roles, strongest first (forum/team/roles.py says what each may do).
EVENT_ROLES = ("owner", "organiser", "moderator", "ce_reviewer", "viewer")


class EventRole(Keyed, Timestamps, Model):
    """One officer's role on one event (at most one role per officer and event)."""

    __tablename__ = "event_role"
    __table_args__ = (UniqueConstraint("officer_id", "event_id", name="uq_event_role_officer_event"),)

    officer_id: Mapped[int] = belongs_to("officer")
    event_id: Mapped[int] = belongs_to("event")
    role: Mapped[str] = mapped_column(String(20))
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("officer.id", ondelete="SET NULL"))

    officer: Mapped[Officer] = relationship(foreign_keys=[officer_id])
    event: Mapped[Event] = relationship()


#: Roles on any other object an officer may be given (a pathway, a mentoring programme):
#: the generic scope (forum/team/scopes.py says what each may do, per kind of object).
OBJECT_ROLES = ("owner", "organiser", "viewer")


class ObjectRole(Keyed, Timestamps, Model):
    """One officer's role on one object of a registered kind (`object_type`, `object_id`).

    No foreign key to the object on purpose: one table serves every kind (pathways today,
    mentoring programmes next); the kind's area removes the rows when it deletes the object
    (`scopes.forget`)."""

    __tablename__ = "object_role"
    __table_args__ = (
        UniqueConstraint("officer_id", "object_type", "object_id", name="uq_object_role_officer_object"),
        Index("ix_object_role_object", "object_type", "object_id"),
    )

    officer_id: Mapped[int] = belongs_to("officer")
    object_type: Mapped[str] = mapped_column(String(30))
    object_id: Mapped[int] = mapped_column()
    role: Mapped[str] = mapped_column(String(20))
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("officer.id", ondelete="SET NULL"))

    officer: Mapped[Officer] = relationship(foreign_keys=[officer_id])


class AuditEntry(Keyed, Model):
    """One officer action: who (officer, token or process), what, on which object, the change
    (field: [before, after]) and when, from which address. Written in the transaction of the
    change (forum/team/audit.py), so a rolled-back change leaves none. `event_id` is no foreign
    key on purpose: an event's log outlives the event's deletion."""

    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_event_at", "event_id", "at"),)

    at: Mapped[datetime] = mapped_column(TZDateTime(), default=clock.now, index=True)
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officer.id", ondelete="SET NULL"), index=True)
    actor: Mapped[str] = mapped_column(String(400), default="")  # kept when the officer is gone
    via: Mapped[str] = mapped_column(String(12), default="")  # web, api, cli, scheduler
    address: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(40), index=True)
    event_id: Mapped[int | None] = mapped_column(index=False)
    object_type: Mapped[str] = mapped_column(String(20), default="")
    object_id: Mapped[int | None] = mapped_column()
    summary: Mapped[str] = mapped_column(Text, default="")
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


#: What an endpoint may ask to hear about (forum/team/webhooks.py says when each is sent).
WEBHOOK_KINDS = (
    "registration.created",
    "registration.confirmed",
    "registration.cancelled",
    "registration.approved",
    "registration.declined",
    "waitlist.promoted",
    "attendance.recorded",
    "certificate.issued",
    "certificate.revoked",
    "session.changed",
    "session.cancelled",
    "evaluation.submitted",
    "post.accepted",
    "pathway.step_completed",
)


class WebhookEndpoint(Keyed, Timestamps, Model):
    """Where an officer asked us to send signed notices of changes (one event, or the site)."""

    __tablename__ = "webhook_endpoint"

    event_id: Mapped[int | None] = belongs_to("event")
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(String(100))  # whsec_<base64>, per Standard Webhooks
    kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(default=True)
    disabled_reason: Mapped[str] = mapped_column(String(300), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("officer.id", ondelete="SET NULL"))

    created_by: Mapped[Officer | None] = relationship(foreign_keys=[created_by_id])


class WebhookDelivery(Keyed, Model):
    """One notice to one endpoint: written with the change, sent (and retried) by the sender side."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (Index("ix_webhook_delivery_due", "status", "next_attempt_at"),)

    endpoint_id: Mapped[int] = belongs_to("webhook_endpoint")
    msg_id: Mapped[str] = mapped_column(String(64), unique=True)  # webhook-id: the receiver's idempotency key
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[str] = mapped_column(Text)  # the exact JSON that is signed and sent
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending, delivered, failed
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=clock.now)
    next_attempt_at: Mapped[datetime] = mapped_column(TZDateTime(), default=clock.now)
    delivered_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    last_status: Mapped[int | None] = mapped_column()
    last_error: Mapped[str] = mapped_column(String(100), default="")
    last_response: Mapped[str] = mapped_column(Text, default="")

    endpoint: Mapped[WebhookEndpoint] = relationship()
