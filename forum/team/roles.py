"""Who may do what: a site administrator, and per event a role that grants permissions.

One table (`ROLE_PERMISSIONS`) says what each role may do and one function (`can`) answers
every door: the web guard, the API guard and the pages that list events all ask it, so a
moderator of one e-forum cannot reach another event's registrants by any door. The CLI acts
as the site administrator (whoever runs it already holds the database).

Any active officer may create an event and becomes its owner; everything site-wide
(officers, settings, branding, pathways) is the administrator's.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, select, true
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session as OrmSession

from forum.core.extensions import db
from forum.models import Event, Officer
from forum.models.team import EVENT_ROLES, EventRole
from forum.team import audit

#: Permissions on one event.
EVENT_VIEW = "event.view"  # the event's officer pages, read only
EVENT_EDIT = "event.edit"  # event, sessions, panelists, announcements, mail texts, recordings
REGISTRANTS_VIEW = "registrants.view"  # registrants, seats, exports of addresses
REGISTRANTS_EDIT = "registrants.edit"  # remove, re-enable, promote, import registrants
MODERATE = "moderate"  # held posts
CE_VIEW = "ce.view"  # attendance, hours, certificates, evaluation results
CE_EDIT = "ce.edit"  # attendance marks and imports, hours, the completion rule
EVALUATION_EDIT = "evaluation.edit"  # the evaluation's questions and settings
ROLES_MANAGE = "roles.manage"  # grant and revoke roles on the event
AUDIT_VIEW = "audit.view"  # the event's audit log
WEBHOOKS_MANAGE = "webhooks.manage"  # the event's webhook endpoints

#: Site-wide permissions.
SIGNED_IN = "officer"  # any active officer (their own list of events)
EVENT_CREATE = "event.create"  # any active officer: a new event (they become its owner), panelists
SITE_ADMIN = "site.admin"  # officers, settings, branding, pathways, site-wide audit and webhooks

_ORGANISE = frozenset(
    {
        EVENT_VIEW,
        EVENT_EDIT,
        REGISTRANTS_VIEW,
        REGISTRANTS_EDIT,
        MODERATE,
        CE_VIEW,
        CE_EDIT,
        EVALUATION_EDIT,
        ROLES_MANAGE,
        AUDIT_VIEW,
        WEBHOOKS_MANAGE,
    }
)

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "owner": _ORGANISE,
    "organiser": _ORGANISE,
    "moderator": frozenset({EVENT_VIEW, MODERATE}),
    "ce_reviewer": frozenset({EVENT_VIEW, CE_VIEW, CE_EDIT}),
    "viewer": frozenset({EVENT_VIEW}),
}
assert set(ROLE_PERMISSIONS) == set(EVENT_ROLES)

ROLE_LABELS = {
    "owner": "Owner",
    "organiser": "Organiser",
    "moderator": "Moderator",
    "ce_reviewer": "CE reviewer",
    "viewer": "Viewer",
}

#: Only an owner (or the administrator) may make or unmake an owner.
OWNER_ONLY = {"owner"}


class RoleError(ValueError):
    """A grant or revoke that the rules refuse; the message says why, for every door."""


def role_of(officer: Officer, event: Event) -> str | None:
    return db.session.scalar(
        select(EventRole.role).where(EventRole.officer_id == officer.id, EventRole.event_id == event.id)
    )


def can(officer: Officer | None, permission: str, event: Event | None = None) -> bool:
    """Whether this officer may do this (to this event); the one answer every door uses."""
    if officer is None or not officer.is_active:
        return False
    if officer.is_admin:
        return True
    if permission in (EVENT_CREATE, SIGNED_IN):
        return True
    if event is None or permission == SITE_ADMIN:
        return False
    role = role_of(officer, event)
    return role is not None and permission in ROLE_PERMISSIONS[role]


def visible_events(officer: Officer) -> ColumnElement[bool]:
    """A WHERE clause for the events this officer may see as an officer (all, for the admin)."""
    if officer.is_admin:
        return true()
    return Event.id.in_(select(EventRole.event_id).where(EventRole.officer_id == officer.id))


def roles_on(event: Event) -> list[EventRole]:
    return list(
        db.session.scalars(
            select(EventRole)
            .join(EventRole.officer)
            .where(EventRole.event_id == event.id)
            .order_by(Officer.email)
        )
    )


def grant(event: Event, officer: Officer, role: str, *, by: Officer | None) -> EventRole:
    """Give `officer` this role on `event` (replacing any other); `by` None is the CLI.

    Refused: an unknown role, and owner changes by anyone but an owner or the administrator.
    """
    if role not in ROLE_PERMISSIONS:
        raise RoleError(_("“%(role)s” is not a role; choose one of %(roles)s.", role=role, roles=', '.join(EVENT_ROLES)))
    existing = db.session.scalar(
        select(EventRole).where(EventRole.officer_id == officer.id, EventRole.event_id == event.id)
    )
    before = existing.role if existing else None
    if (role in OWNER_ONLY or before in OWNER_ONLY) and not _may_touch_owners(by, event):
        raise RoleError(_("Only an owner of this event or a site administrator may make or change an owner."))
    if existing is None:
        existing = EventRole(
            officer=officer, event_id=event.id, role=role, granted_by_id=by.id if by else None
        )
        db.session.add(existing)
    else:
        existing.role = role
        existing.granted_by_id = by.id if by else None
    db.session.flush()
    return existing


def revoke(event: Event, officer: Officer, *, by: Officer | None) -> str | None:
    """Take away `officer`'s role on `event`; the role they had, or None if they had none."""
    existing = db.session.scalar(
        select(EventRole).where(EventRole.officer_id == officer.id, EventRole.event_id == event.id)
    )
    if existing is None:
        return None
    if existing.role in OWNER_ONLY and not _may_touch_owners(by, event):
        raise RoleError(_("Only an owner of this event or a site administrator may remove an owner."))
    if existing.role in OWNER_ONLY and _owner_count(event) == 1:
        raise RoleError(_("An event keeps at least one owner; make someone else owner first."))
    role = existing.role
    db.session.delete(existing)
    db.session.flush()
    return role


def _may_touch_owners(by: Officer | None, event: Event) -> bool:
    return by is None or by.is_admin or role_of(by, event) == "owner"


def _owner_count(event: Event) -> int:
    return len(
        db.session.scalars(
            select(EventRole.id).where(EventRole.event_id == event.id, EventRole.role == "owner")
        ).all()
    )


def invite(event: Event, email: str, role: str, *, by: Officer | None, name: str = "") -> Officer:
    """Grant a role by email: the officer account is made (no password, not an administrator)
    when there is none, so the invitation link (`forum.web.team`) can let them set one."""
    address = email.strip().lower()
    officer = Officer.by_email(address)
    if officer is None:
        officer = Officer(email=address, name=name.strip(), is_admin=False)
        db.session.add(officer)
        db.session.flush()
    grant(event, officer, role, by=by)
    return officer


@sa_event.listens_for(OrmSession, "before_flush")
def _creator_owns(session: OrmSession, _context: Any, _instances: Any) -> None:
    """The officer who creates an event (by any door: form, API, duplicate) owns it; the
    administrator needs no role. Listening here keeps every door's create path unchanged."""
    officer = audit.current_actor().officer
    if officer is None or officer.is_admin:
        return
    for obj in list(session.new):
        if isinstance(obj, Event):
            session.add(EventRole(officer_id=officer.id, event=obj, role="owner"))
