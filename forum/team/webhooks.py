"""Webhooks out: which changes are notices, and writing one delivery row per endpoint.

Like the audit log, notices come from the ORM's flushes, so every door that registers
someone, records attendance or issues a certificate (form, API, CSV import, join link, the
scheduler's certificate job) produces them without a call of its own. The rows are inserted
in one statement as the change commits, in its transaction (a rolled-back import sends
nothing); `webhook_send.deliver_due`, on the scheduler's side, signs and sends them, never a
web request.
"""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import event as sa_event
from sqlalchemy import insert, inspect, select
from sqlalchemy.orm import Session as OrmSession

from forum.common import fanout, signals
from forum.core import clock
from forum.core.extensions import db
from forum.models import (
    WEBHOOK_KINDS,
    Attendance,
    Certificate,
    EvaluationResponse,
    Event,
    FanOut,
    Participant,
    Post,
    Session,
    StepProgress,
    Subscription,
    WebhookDelivery,
    WebhookEndpoint,
    table_of,
)

PENDING_KEY = "forum.webhooks_pending"
#: The rows whose flushes may be notices.
WATCHED = (Subscription, Attendance, Certificate, Session, EvaluationResponse, Post, StepProgress)

KIND_LABELS = {
    "registration.created": "Someone registered (or asked to)",
    "registration.confirmed": "A registration was confirmed or approved",
    "registration.cancelled": "Someone left",
    "registration.approved": "An officer approved a registration waiting for approval",
    "registration.declined": "An officer declined a registration waiting for approval",
    "waitlist.promoted": "Someone got a seat from the waiting list",
    "attendance.recorded": "Attendance was recorded for a session",
    "certificate.issued": "A certificate was issued",
    "certificate.revoked": "A certificate was revoked",
    "session.changed": "A session moved",
    "session.cancelled": "A session was cancelled",
    "evaluation.submitted": "Someone answered the evaluation",
    "post.accepted": "A post was accepted to an e-forum (sent to the list)",
    "pathway.step_completed": "A learner marked a pathway step done (site-wide endpoints)",
}
assert set(KIND_LABELS) == set(WEBHOOK_KINDS)


class WebhookError(ValueError):
    """An endpoint the rules refuse; the message says why, for every door."""


def new_secret() -> str:
    """A signing secret in the Standard Webhooks form (whsec_ + base64 of 24 random bytes)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def add_endpoint(event: Event | None, url: str, kinds: list[str], *, by_id: int | None) -> WebhookEndpoint:
    """Register an endpoint. Only http(s) URLs; where it may connect is checked at send time
    (an address can change between now and then)."""
    url = url.strip()
    if not url.lower().startswith(("https://", "http://")) or len(url) > 500:
        raise WebhookError(_("Give an http:// or https:// address (at most 500 characters)."))
    unknown = [k for k in kinds if k not in KIND_LABELS]
    if unknown or not kinds:
        raise WebhookError(_("Choose at least one kind of notice."))
    endpoint = WebhookEndpoint(
        event_id=event.id if event else None,
        url=url,
        secret=new_secret(),
        kinds=sorted(kinds),
        created_by_id=by_id,
    )
    db.session.add(endpoint)
    db.session.flush()
    return endpoint


# --- what a change is -------------------------------------------------------------------------


def _history(obj: Any, key: str) -> tuple[Any, Any] | None:
    history = inspect(obj).attrs[key].history
    if not history.has_changes():
        return None
    return (history.deleted[0] if history.deleted else None, history.added[0] if history.added else None)


def _registration(sub: Subscription) -> dict[str, Any]:
    person = sub.participant
    return {
        "id": sub.id,
        "status": sub.status,
        "email": person.email if person else None,
        "name": person.name if person else None,
    }


def _notices(op: str, obj: Any) -> list[tuple[str, int | None, dict[str, Any]]]:
    """(kind, event id, data) for one flushed object."""
    if isinstance(obj, Subscription):
        if op == "created":
            kind = "registration.confirmed" if obj.is_active else "registration.created"
            return [(kind, obj.event_id, _registration(obj))]
        change = _history(obj, "status") if op == "changed" else None
        if change is None:
            return []
        before, after = change
        if before == "awaiting" and after in ("active", "waitlisted", "declined"):
            decided = "registration.declined" if after == "declined" else "registration.approved"
            return [(decided, obj.event_id, _registration(obj))]
        moved = {
            "active": "waitlist.promoted" if before == "waitlisted" else "registration.confirmed",
            "unsubscribed": "registration.cancelled",
        }.get(after)
        return [(moved, obj.event_id, _registration(obj))] if moved else []
    if isinstance(obj, Attendance) and op == "created":
        event_id = obj.session.event_id if obj.session else None
        data = {"registration_id": obj.subscription_id, "session_id": obj.session_id, "sources": obj.sources}
        return [("attendance.recorded", event_id, data)]
    if isinstance(obj, Certificate) and op in ("created", "deleted"):
        event_id = obj.subscription.event_id if obj.subscription else None
        data = {
            "code": obj.code,
            "registration_id": obj.subscription_id,
            "name": obj.name,
            "minutes": obj.minutes,
        }
        return [("certificate.issued" if op == "created" else "certificate.revoked", event_id, data)]
    if isinstance(obj, (EvaluationResponse, Post, StepProgress)):
        return _participation(op, obj)
    if isinstance(obj, Session) and op == "changed":
        status = _history(obj, "status")
        if status is not None and status[1] == "cancelled":
            return [("session.cancelled", obj.event_id, _session(obj))]
        if any(_history(obj, key) for key in ("start_wall", "end_wall", "timezone")):
            return [("session.changed", obj.event_id, _session(obj))]
    return []


def _became(op: str, obj: Any, key: str, value: str) -> bool:
    """Created with `key` == value, or changed to it in this flush."""
    if op == "created":
        return bool(getattr(obj, key) == value)
    change = _history(obj, key) if op == "changed" else None
    return change is not None and change[1] == value and change[0] != value


def _participation(op: str, obj: Any) -> list[tuple[str, int | None, dict[str, Any]]]:
    """What participants do: answer the evaluation, get a post through, finish a pathway step."""
    if isinstance(obj, EvaluationResponse) and op == "created":
        event_id = obj.evaluation.event_id if obj.evaluation else None
        data = {"id": obj.id, "registration_id": obj.subscription_id, "submitted_at": _iso(obj.submitted_at)}
        return [("evaluation.submitted", event_id, data)]
    if isinstance(obj, Post) and _became(op, obj, "status", "accepted"):
        data = {
            "id": obj.id,
            "thread_id": obj.thread_id,
            "subject": obj.subject,
            "author_name": obj.author_name,
            "author_role": obj.author_role,
            "accepted_at": _iso(obj.accepted_at),
        }
        return [("post.accepted", obj.event_id, data)]
    if isinstance(obj, StepProgress) and _became(op, obj, "state", "done"):
        follow, step = obj.follow, obj.step
        data = {
            "pathway": follow.pathway.slug if follow and follow.pathway else None,
            "step_id": obj.step_id,
            "step_position": step.position if step else None,
            "participant_id": follow.participant_id if follow else None,
            "finished_at": _iso(obj.finished_at),
        }
        return [("pathway.step_completed", None, data)]  # pathways belong to no event: site-wide
    return []


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _session(session: Session) -> dict[str, Any]:
    return {
        "id": session.id,
        "title": session.title,
        "status": session.status,
        "starts_at": session.starts_at.isoformat() if session.starts_at else None,
        "ends_at": session.ends_at.isoformat() if session.ends_at else None,
    }


@sa_event.listens_for(OrmSession, "after_flush")
def _collect(session: OrmSession, _context: Any) -> None:
    found: list[tuple[str, int | None, dict[str, Any]]] = session.info.setdefault(PENDING_KEY, [])
    for op, objects in (("created", session.new), ("changed", session.dirty), ("deleted", session.deleted)):
        for obj in objects:
            if isinstance(obj, WATCHED):
                found.extend(_notices(op, obj))


@sa_event.listens_for(OrmSession, "before_commit")
def _enqueue(session: OrmSession) -> None:
    if session.in_nested_transaction():
        return
    session.flush()
    found = session.info.pop(PENDING_KEY, None)
    if found:
        write_deliveries(session, found)


def write_deliveries(
    session: OrmSession, found: Sequence[tuple[str, int | None, dict[str, Any]]], *, at: datetime | None = None
) -> int:
    """One delivery row per notice and endpoint that asked for it, in one INSERT; `at` is when
    the change happened (a fan-out writes its rows a moment later)."""
    endpoints = list(session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.active.is_(True))))
    if not endpoints:
        return 0
    slugs = _slugs(session, {event_id for _, event_id, _ in found})
    now = clock.now()
    stamp = (at or now).isoformat()
    rows = []
    for kind, event_id, data in found:
        for endpoint in endpoints:
            if kind not in endpoint.kinds or endpoint.event_id not in (None, event_id):
                continue
            body = {"type": kind, "timestamp": stamp, "data": {**data, "event": slugs.get(event_id)}}
            rows.append(
                {
                    "endpoint_id": endpoint.id,
                    "msg_id": "msg_" + uuid.uuid4().hex,
                    "kind": kind,
                    "payload": json.dumps(body, separators=(",", ":"), ensure_ascii=False),
                    "status": "pending",
                    "attempts": 0,
                    "created_at": now,
                    "next_attempt_at": now,
                    "last_error": "",
                    "last_response": "",
                }
            )
    if rows:  # one statement however many (an import of 10,000 is 10,000 rows, one round trip)
        session.execute(insert(table_of(WebhookDelivery)), rows)
    return len(rows)


FANOUT_KIND = "webhook-registrations"


@signals.subscriptions_added.connect
def _bulk_added(event: Event, ids: list[int], **_: Any) -> None:
    """Subscriptions inserted past the ORM (a CSV import's batch): one fan-out record in the
    batch's transaction, whatever its size; the sender side writes the delivery rows
    (`_expand`), so a 10,000-row import pays for ten small rows, not 10,000 payloads."""
    if (
        not ids
        or db.session.scalar(select(WebhookEndpoint.id).where(WebhookEndpoint.active.is_(True)).limit(1))
        is None
    ):
        return
    fanout.record(
        FANOUT_KIND,
        f"webhooks:{event.id}:{min(ids)}-{max(ids)}:{len(ids)}",
        event_id=event.id,
        target_id=None,
        params={"ids": sorted(ids), "at": clock.now().isoformat()},
    )


def _expand(fan: FanOut) -> tuple[int, str, int | None]:
    """Write one batch's delivery rows (the fan-out machinery commits, exactly once)."""
    ids = [int(i) for i in fan.params.get("ids", [])]
    rows = db.session.execute(
        select(Subscription.id, Subscription.status, Participant.email, Participant.name)
        .join(Participant, Participant.id == Subscription.participant_id)
        .where(Subscription.id.in_(ids))
        .order_by(Subscription.id)
    )
    found = [
        (
            "registration.confirmed" if row.status == "active" else "registration.created",
            fan.event_id,
            {"id": row.id, "status": row.status, "email": row.email, "name": row.name},
        )
        for row in rows
    ]
    at = datetime.fromisoformat(fan.params["at"]) if fan.params.get("at") else fan.created_at
    written = write_deliveries(db.session(), found, at=at)
    return written, f"{written} webhook deliveries", None


fanout.register_kind(FANOUT_KIND, _expand)


@sa_event.listens_for(OrmSession, "after_transaction_end")
def _forget(session: OrmSession, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(PENDING_KEY, None)


def _slugs(session: OrmSession, ids: set[int | None]) -> dict[int | None, str]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    return {
        row.id: row.slug for row in session.execute(select(Event.id, Event.slug).where(Event.id.in_(wanted)))
    }


def endpoints_for(event: Event | None) -> list[WebhookEndpoint]:
    """An event's endpoints, or (None) the site-wide ones."""
    scope = WebhookEndpoint.event_id == event.id if event else WebhookEndpoint.event_id.is_(None)
    return list(db.session.scalars(select(WebhookEndpoint).where(scope).order_by(WebhookEndpoint.id)))
