"""Who is acting: the door sets it, the service functions' records read it.

The guard (`forum.web.team.guard`) names the officer (and token) behind each officer request;
outside a request (the CLI, the scheduler) nobody is named and the actor is the process.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict, Unpack

from flask import has_request_context, request
from sqlalchemy import event as sa_event
from sqlalchemy import inspect
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import SessionTransaction

from forum.common import signals
from forum.core import clock
from forum.core.extensions import db
from forum.models import (
    ApiToken,
    Attendance,
    AuditEntry,
    Certificate,
    CESettings,
    Event,
    EventRole,
    ObjectRole,
    Officer,
    Post,
    Session,
    Subscription,
    WebhookEndpoint,
)

ACTOR_KEY = "forum.actor"


@dataclass(frozen=True)
class Actor:
    officer: Officer | None
    via: str  # web, api, cli, scheduler
    token_name: str = ""
    address: str = ""

    @property
    def label(self) -> str:
        if self.officer is None:
            return self.via
        return self.officer.email + (f" (token “{self.token_name}”)" if self.token_name else "")


SYSTEM = Actor(None, "system")  # the CLI (acting as administrator) or the scheduler


def acting(officer: Officer | None, *, via: str, token: ApiToken | None = None) -> None:
    """Name who acts for the rest of this request (called by the guard)."""
    if has_request_context():
        request.environ[ACTOR_KEY] = Actor(
            officer, via, token.name or f"#{token.id}" if token is not None else "", request.remote_addr or ""
        )


def current_actor() -> Actor:
    """Who the guard named; in a request it did not guard (sign-in, public pages) nobody,
    from the request's address; outside a request the process itself."""
    if has_request_context():
        actor = request.environ.get(ACTOR_KEY)
        if isinstance(actor, Actor):
            return actor
        return Actor(None, "web", address=request.remote_addr or "")
    return SYSTEM


# --- the log ------------------------------------------------------------------------------
#
# Rows are made by listening to the ORM's flushes rather than by a call in each service
# function: every door's change to a watched row (form, API, CLI, a service several doors
# share) passes through a flush, so none can be forgotten. They are kept on the session and
# added as it commits, in the change's own transaction (a rollback drops both). One row per
# object and action per transaction: a second flush of the same change updates the row's
# "after" values instead of adding one.

#: Columns no officer changes on purpose (derived, counters, bookkeeping).
IGNORED = frozenset(
    {"created_at", "updated_at", "sequence", "starts_at", "ends_at", "last_used_at", "posts_approved"}
)
#: More rows than this of one kind and action in one flush are one summary row (an import).
BULK = 10
PENDING_KEY = "forum.audit_pending"
COVERED_KEY = "forum.audit_covered"  # kinds an explicit entry sums up in this transaction
#: Session fields that are its CE credit, not its schedule: a change to these alone is hours.
CE_FIELDS = frozenset({"ce_minutes", "ce_min_share", "ce_min_minutes"})


@dataclass(frozen=True)
class Watched:
    kind: str  # object_type in the log
    event_of: Callable[[Any], int | None]
    officers_only: bool = False  # participants' own changes are not officer actions
    fields: frozenset[str] | None = None  # None: every column but IGNORED


def _watched() -> dict[type, Watched]:
    return {
        Event: Watched("event", lambda o: o.id),
        Session: Watched("session", lambda o: o.event_id),
        EventRole: Watched("role", lambda o: o.event_id),
        ObjectRole: Watched("object_role", lambda _o: None),  # a pathway's (or programme's) roles
        Certificate: Watched("certificate", lambda o: o.subscription.event_id if o.subscription else None),
        Subscription: Watched(
            "registration", lambda o: o.event_id, officers_only=True, fields=frozenset({"status", "mode"})
        ),
        Post: Watched("post", lambda o: o.event_id, officers_only=True, fields=frozenset({"status"})),
        WebhookEndpoint: Watched(
            "webhook", lambda o: o.event_id, fields=frozenset({"url", "kinds", "active"})
        ),
        CESettings: Watched("ce_settings", lambda o: o.event_id),
        Attendance: Watched(
            "attendance",
            lambda o: o.session.event_id if o.session else None,
            officers_only=True,
            fields=frozenset({"minutes", "sources", "marked_by"}),
        ),
    }


_WATCHED: dict[type, Watched] = {}


def watched() -> dict[type, Watched]:
    if not _WATCHED:
        _WATCHED.update(_watched())
    return _WATCHED


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (list, dict)):
        return value
    return str(value)


def _changes(obj: Any, fields: frozenset[str] | None) -> dict[str, list[Any]]:
    state = inspect(obj)
    found: dict[str, list[Any]] = {}
    for attr in state.mapper.column_attrs:
        key = attr.key
        if key in IGNORED or (fields is not None and key not in fields):
            continue
        history = state.attrs[key].history
        if not history.has_changes():
            continue
        before = history.deleted[0] if history.deleted else None
        after = history.added[0] if history.added else None
        if before != after:
            found[key] = [_jsonable(before), _jsonable(after)]
    return found


def _action(kind: str, op: str, changes: dict[str, list[Any]]) -> str:  # noqa: PLR0911 - one table of names
    was, status = changes.get("status", [None, None])
    if kind == "registration" and op == "changed" and was == "awaiting":
        return "registration.declined" if status == "declined" else "registration.approved"
    if kind == "attendance":
        return {"created": "attendance.recorded", "deleted": "attendance.removed"}.get(
            op, "attendance.changed"
        )
    if kind == "certificate":
        return {"created": "certificate.issued", "deleted": "certificate.revoked"}.get(
            op, "certificate.reissued"
        )
    if kind == "session" and op == "changed" and changes and set(changes) <= CE_FIELDS:
        return "session.hours_changed"
    if kind == "event" and op == "changed" and status in ("published", "cancelled"):
        return f"event.{status}"
    if kind == "session" and op == "changed":
        if status == "cancelled":
            return "session.cancelled"
        if {"start_wall", "end_wall", "timezone"} & set(changes):
            return "session.moved"
    if kind in ("role", "object_role"):
        return {"created": f"{kind}.granted", "deleted": f"{kind}.revoked"}.get(op, f"{kind}.changed")
    if kind in ("registration", "post") and op == "changed" and status:
        return f"{kind}.{status}"
    if kind in ("event", "session") and op == "changed":
        return f"{kind}.edited"
    return f"{kind}.{op}"


def _summary(kind: str, obj: Any) -> str:
    for attr in ("title", "email", "code", "subject"):
        value = getattr(obj, attr, None)
        if isinstance(value, str) and value:
            return value
    if kind == "role":
        return f"{obj.officer.email if obj.officer else obj.officer_id}: {obj.role}"
    if kind == "object_role":
        who = obj.officer.email if obj.officer else obj.officer_id
        return f"{obj.object_type} {obj.object_id}, {who}: {obj.role}"
    if kind == "registration" and getattr(obj, "participant", None) is not None:
        return str(obj.participant_id)  # never the address: the log outlives an erasure
    return ""


def _who(actor: Actor) -> dict[str, Any]:
    """When and by whom, the same on every entry: a watched row's change or a recorded action."""
    return {
        "at": clock.now(),
        "officer_id": actor.officer.id if actor.officer is not None else None,
        "actor": actor.label,
        "via": actor.via,
        "address": actor.address,
    }


def _entry(actor: Actor, watched_: Watched, obj: Any, action: str, changes: dict[str, Any]) -> Any:
    return AuditEntry(
        **_who(actor),
        action=action,
        event_id=watched_.event_of(obj),
        object_type=watched_.kind,
        object_id=getattr(obj, "id", None),
        summary=_summary(watched_.kind, obj)[:300],
        changes=changes,
    )


@sa_event.listens_for(OrmSession, "after_flush")
def _record_flush(session: OrmSession, _context: Any) -> None:
    actor = current_actor()
    table = watched()
    pending: dict[tuple[str, int | None, str], Any] = session.info.setdefault(PENDING_KEY, {})
    found: list[tuple[Watched, Any, str, dict[str, Any]]] = []
    for op, objects in (("created", session.new), ("changed", session.dirty), ("deleted", session.deleted)):
        for obj in objects:
            spec = table.get(type(obj))
            if spec is None or (spec.officers_only and actor.officer is None):
                continue
            changes = {} if op == "deleted" else _changes(obj, spec.fields)
            if op == "changed" and not changes:
                continue
            if op == "created":
                changes = {k: v for k, v in changes.items() if v[1] not in (None, "", [], {})}
            found.append((spec, obj, _action(spec.kind, op, changes), changes))
    groups: dict[tuple[str, int | None], list[tuple[Watched, Any, str, dict[str, Any]]]] = {}
    for item in found:
        groups.setdefault((item[2], item[0].event_of(item[1])), []).append(item)
    for (action, _event_id), items in groups.items():
        if len(items) > BULK:
            spec, obj = items[0][0], items[0][1]
            row = _entry(actor, spec, obj, action, {"count": len(items)})
            row.object_id, row.summary = None, f"{len(items)} {spec.kind} rows"
            pending[(action, -len(pending) - 1, spec.kind)] = row
            continue
        for spec, obj, action_, changes in items:
            key = (action_, getattr(obj, "id", None), spec.kind)
            made = (_action(spec.kind, "created", {}), key[1], spec.kind)
            row = pending.get(key) or (pending.get(made) if action_ != made[0] else None)
            if row is not None:  # the same change (or a new row changed again) flushed twice: one row
                merged = dict(row.changes)
                for name, (before, after) in changes.items():
                    merged[name] = [merged.get(name, [before])[0], after]
                row.changes = merged
                continue
            pending[key] = _entry(actor, spec, obj, action_, changes)


@sa_event.listens_for(OrmSession, "before_commit")
def _write_pending(session: OrmSession) -> None:
    """The rows join the transaction as it commits (one row per change however many flushes
    it took); a rollback drops them with the change."""
    if session.in_nested_transaction():
        return  # a savepoint (fan-outs use them): the rows wait for the whole transaction
    session.flush()  # the commit's own changes, so their rows are made now
    pending = session.info.pop(PENDING_KEY, None)
    covered = session.info.pop(COVERED_KEY, set())
    if pending:  # less the rows an explicit entry sums up (an import: one row, not one per person)
        session.add_all(
            row for row in pending.values() if not row.object_type or row.object_type not in covered
        )


@sa_event.listens_for(OrmSession, "after_transaction_end")
def _forget_pending(session: OrmSession, transaction: SessionTransaction) -> None:
    """At the end of the whole transaction (not a savepoint's: fan-outs use those)."""
    if transaction.parent is None:
        session.info.pop(PENDING_KEY, None)
        session.info.pop(COVERED_KEY, None)


class EntryFields(TypedDict, total=False):
    """What an audit entry says besides its action (`record`'s keywords, and the
    `officer_action` signal's)."""

    event_id: int | None
    summary: str
    changes: dict[str, Any] | None
    covers: tuple[str, ...]


def record(
    action: str,
    *,
    event_id: int | None = None,
    summary: str = "",
    changes: dict[str, Any] | None = None,
    covers: tuple[str, ...] = (),
) -> None:
    """One row for an action no watched row shows (an export, a failed sign-in, an import),
    in the current transaction (the caller commits). `covers`: kinds of watched rows this
    entry sums up, left out of the log for the rest of the transaction."""
    if covers:
        db.session.info.setdefault(COVERED_KEY, set()).update(covers)
    actor = current_actor()
    db.session.add(
        AuditEntry(
            **_who(actor),
            action=action,
            event_id=event_id,
            summary=summary[:300],
            changes=changes or {},
        )
    )


@signals.officer_action.connect
def _officer_action(_sender: object, *, action: str, **entry: Unpack[EntryFields]) -> None:
    """The one audit function, for areas below `team` (they send `officer_action`)."""
    record(action, **entry)
