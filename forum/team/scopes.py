"""Roles on objects other than events: pathways and mentoring programmes.

An event has its own roles table (`EventRole`, forum/team/roles.py) because its roles are
many and particular (moderator, CE reviewer). Every other thing an officer may be put in
charge of shares one generic scope: a kind registers here (`register_scope`) with how to
find its object from the path's `slug`, and officers hold a role on one object of that kind
in `ObjectRole` (`object_type`, `object_id`). The guard (`forum/web/team/guard.py`) checks
a rule's `on=<kind>` through `can_on`, like `on="event"` through `roles.can`.

The kinds' areas sit beside `forum.team` (pathways, mentoring) and may not import it, so a
kind is registered here (pathways, below) or by its door (`forum.web.<area>`, which may
import `forum.team`). The officer who creates an object of a registered kind owns it, by any
door, as with events; the administrator needs no role.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, delete, select, true
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session as OrmSession

from forum.core.extensions import db
from forum.models import ObjectRole, Officer
from forum.models.mentoring import MentoringProgramme
from forum.models.pathways import Pathway
from forum.models.team import OBJECT_ROLES
from forum.team import audit

#: Permissions on one object of a registered kind.
OBJECT_VIEW = "object.view"  # its officer pages and drafts, read only
OBJECT_EDIT = "object.edit"  # change it, its parts, publish it
OBJECT_ROLES_MANAGE = "object.roles"  # grant and revoke roles on it

DEFAULT_ROLES: dict[str, frozenset[str]] = {
    "owner": frozenset({OBJECT_VIEW, OBJECT_EDIT, OBJECT_ROLES_MANAGE}),
    "organiser": frozenset({OBJECT_VIEW, OBJECT_EDIT, OBJECT_ROLES_MANAGE}),
    "viewer": frozenset({OBJECT_VIEW}),
}
assert set(DEFAULT_ROLES) == set(OBJECT_ROLES)
ROLE_LABELS = {"owner": "Owner", "organiser": "Organiser", "viewer": "Viewer"}


@dataclass(frozen=True)
class Scope:
    kind: str  # ObjectRole.object_type, and a guard rule's `on`
    model: type  # a mapped class with `id` and `title`
    find: Callable[[str], Any | None]  # the object named by the path's slug, or None
    label: str  # "pathway": how pages name the kind
    roles: dict[str, frozenset[str]] = field(default_factory=lambda: dict(DEFAULT_ROLES))


SCOPES: dict[str, Scope] = {}


class ScopeError(ValueError):
    """A grant or revoke the rules refuse; the message says why, for every door."""


def register_scope(
    kind: str,
    model: type,
    find: Callable[[str], Any | None],
    *,
    label: str,
    roles: dict[str, frozenset[str]] | None = None,
) -> None:
    """Make `kind` a scope roles can be held on. `roles` may narrow or extend the default
    owner/organiser/viewer table (every role needs a label in ROLE_LABELS or is shown as is)."""
    SCOPES[kind] = Scope(kind, model, find, label, dict(roles or DEFAULT_ROLES))


def scope_of(obj: Any) -> Scope | None:
    for scope in SCOPES.values():
        if isinstance(obj, scope.model):
            return scope
    return None


def _scope(obj: Any) -> Scope:
    scope = scope_of(obj)
    if scope is None:
        raise ScopeError(_("No roles can be held on a %(name)s.", name=type(obj).__name__))
    return scope


def role_on(officer: Officer, obj: Any) -> str | None:
    scope = _scope(obj)
    return db.session.scalar(
        select(ObjectRole.role).where(
            ObjectRole.officer_id == officer.id,
            ObjectRole.object_type == scope.kind,
            ObjectRole.object_id == obj.id,
        )
    )


def can_on(officer: Officer | None, permission: str, obj: Any) -> bool:
    """Whether this officer may do this to this object; the administrator may do anything."""
    if officer is None or not officer.is_active:
        return False
    if officer.is_admin:
        return True
    scope = scope_of(obj)
    if scope is None:
        return False
    role = role_on(officer, obj)
    return role is not None and permission in scope.roles.get(role, frozenset())


def visible(officer: Officer | None, kind: str) -> ColumnElement[bool]:
    """A WHERE clause on the kind's model: the objects this officer holds a role on (all for
    the administrator; none for nobody)."""
    model: Any = SCOPES[kind].model
    if officer is not None and officer.is_admin:
        return true()
    officer_id = officer.id if officer is not None else -1
    held = select(ObjectRole.object_id).where(
        ObjectRole.object_type == kind, ObjectRole.officer_id == officer_id
    )
    return model.id.in_(held)  # type: ignore[no-any-return]


def roles_on(obj: Any) -> list[ObjectRole]:
    scope = _scope(obj)
    return list(
        db.session.scalars(
            select(ObjectRole)
            .join(ObjectRole.officer)
            .where(ObjectRole.object_type == scope.kind, ObjectRole.object_id == obj.id)
            .order_by(Officer.email)
        )
    )


def _held(officer: Officer, scope: Scope, obj: Any) -> ObjectRole | None:
    return db.session.scalar(
        select(ObjectRole).where(
            ObjectRole.officer_id == officer.id,
            ObjectRole.object_type == scope.kind,
            ObjectRole.object_id == obj.id,
        )
    )


def _may_touch_owners(by: Officer | None, obj: Any) -> bool:
    return by is None or by.is_admin or role_on(by, obj) == "owner"


def grant(obj: Any, officer: Officer, role: str, *, by: Officer | None) -> ObjectRole:
    """Give `officer` this role on `obj` (replacing any other); `by` None is the CLI.
    Only an owner (or the administrator) makes or unmakes an owner, as on events."""
    scope = _scope(obj)
    if role not in scope.roles:
        raise ScopeError(
            _("“%(role)s” is not a role on a %(label)s; choose one of %(roles)s.", role=role, label=scope.label, roles=', '.join(scope.roles))
        )
    existing = _held(officer, scope, obj)
    if (role == "owner" or (existing and existing.role == "owner")) and not _may_touch_owners(by, obj):
        raise ScopeError(
            _("Only an owner of this %(label)s or a site administrator may make or change an owner.", label=scope.label)
        )
    if existing is None:
        existing = ObjectRole(officer_id=officer.id, object_type=scope.kind, object_id=obj.id, role=role)
        db.session.add(existing)
    existing.role = role
    existing.granted_by_id = by.id if by else None
    db.session.flush()
    return existing


def revoke(obj: Any, officer: Officer, *, by: Officer | None) -> str | None:
    """Take away `officer`'s role on `obj`; the role they had, or None. An object keeps an owner."""
    scope = _scope(obj)
    existing = _held(officer, scope, obj)
    if existing is None:
        return None
    if existing.role == "owner":
        if not _may_touch_owners(by, obj):
            raise ScopeError(
                _("Only an owner of this %(label)s or a site administrator may remove an owner.", label=scope.label)
            )
        owners = [r for r in roles_on(obj) if r.role == "owner"]
        if len(owners) == 1:
            raise ScopeError(_("A %(label)s keeps at least one owner; make someone else owner first.", label=scope.label))
    role = existing.role
    db.session.delete(existing)
    db.session.flush()
    return role


def forget(obj: Any) -> None:
    """Remove every role on `obj` (its area calls this, through its door, when it deletes it)."""
    scope = _scope(obj)
    db.session.execute(
        delete(ObjectRole).where(ObjectRole.object_type == scope.kind, ObjectRole.object_id == obj.id)
    )


# --- the creator owns it ------------------------------------------------------------------

_NEW_KEY = "forum.scoped_new"


@sa_event.listens_for(OrmSession, "before_flush")
def _note_new(session: OrmSession, _context: Any, _instances: Any) -> None:
    officer = audit.current_actor().officer
    if officer is None or officer.is_admin or not SCOPES:
        return
    for obj in list(session.new):
        if scope_of(obj) is not None:
            session.info.setdefault(_NEW_KEY, []).append((obj, officer.id))


@sa_event.listens_for(OrmSession, "after_flush_postexec")
def _owner_of_new(session: OrmSession, _context: Any) -> None:
    """Once the new object has its id: its creator's owner row, flushed with the rest of the
    transaction (the commit flushes until nothing is left)."""
    for obj, officer_id in session.info.pop(_NEW_KEY, []):
        scope = scope_of(obj)
        if scope is not None and obj.id is not None:
            session.add(
                ObjectRole(officer_id=officer_id, object_type=scope.kind, object_id=obj.id, role="owner")
            )


register_scope("pathway", Pathway, Pathway.by_slug, label="pathway")
register_scope("programme", MentoringProgramme, MentoringProgramme.by_slug, label="mentoring programme")
