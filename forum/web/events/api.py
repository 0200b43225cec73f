"""JSON API under /api/v1 (flask-smorest): events and subscriptions. The OpenAPI document
is at /api/openapi.json; authentication, lookups and the error shape are in
api_common.py, the sessions and panelists routes in api_sessions.py (imported here so
they are on the blueprint when the app registers it).

Every change goes through forum.events.editing, the functions the officer web pages
call, so an API edit follows the same rules and sends the same mail: a renamed event's
calendar updates, a published event's fixed address, a raised seat limit's new seats.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Response, jsonify, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import RAISE
from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import selectinload

from forum.core import clock, i18n
from forum.core.extensions import db
from forum.events import editing
from forum.events import service as events
from forum.models import Event, Session
from forum.registration import service as registration
from forum.registration.answers import raw_from_json
from forum.subscriptions import service as subscription_service
from forum.team import roles
from forum.web.events import api_sessions  # noqa: F401  (its routes join bp)
from forum.web.events.api_common import (
    abort,
    answers,
    bp,
    commit_or_409,
    event_json,
    event_or_404,
    field_error,
    officer_event,
    refusing,
    require_officer,
    token_officer,
)
from forum.web.events.api_schemas import (
    EventInSchema,
    EventPatchSchema,
    EventQuerySchema,
    EventSummarySchema,
    OfficerEventSchema,
    SubscriptionAcceptedSchema,
    SubscriptionInSchema,
)
from forum.web.subscriptions.pages import subscribe_rate

# --- events -----------------------------------------------------------------------------


def _span_query() -> tuple[Select[Any], ColumnElement[Any], ColumnElement[Any]]:
    """Events with their first start and last end (active sessions; all if none are active)."""

    def span(active_only: bool):
        query = select(
            Session.event_id,
            func.min(Session.starts_at).label("start"),
            func.max(Session.ends_at).label("end"),
        ).group_by(Session.event_id)
        if active_only:
            query = query.where(Session.status != "cancelled")
        return query.subquery()

    active, every = span(True), span(False)
    start = func.coalesce(active.c.start, every.c.start)
    end = func.coalesce(active.c.end, every.c.end)
    query = (
        select(Event)
        .outerjoin(active, active.c.event_id == Event.id)
        .outerjoin(every, every.c.event_id == Event.id)
    )
    return query, start, end


@bp.get("/events")
@bp.arguments(EventQuerySchema, location="query", as_kwargs=True, unknown=RAISE)
@answers(bp, 200, EventSummarySchema(many=True), errors=(401,), officer=False)
def list_events(kind: str | None = None, when: str | None = None, status: str | None = None) -> Any:
    """Published events, soonest first (with a token: drafts and cancelled ones too)."""
    officer = token_officer()
    query, start, end = _span_query()
    if officer is None:
        query = query.where(Event.status == "published")
    else:  # the public's events and the drafts of events the token's roles reach
        query = query.where((Event.status == "published") | roles.visible_events(officer))
    if officer is not None and status:
        query = query.where(Event.status == status)
    if kind:
        query = query.where(Event.kind == kind)
    now = clock.now()
    if when == "upcoming":
        query = query.where((end.is_(None)) | (end >= now))
    elif when == "past":
        query = query.where(end < now)
    order = start.desc() if when == "past" else start
    query = query.order_by(start.is_(None), order, Event.id).options(selectinload(Event.sessions))
    return db.session.scalars(query).all()


@bp.get("/events/<slug>")
@answers(
    bp,
    200,
    OfficerEventSchema,
    errors=(404, 401),
    officer=False,
    description="With an officer token the fields marked “officer token only” too.",
)
def get_event(slug: str) -> Response:
    """One event with its sessions and panelists (drafts need a token)."""
    officer = token_officer()
    return event_json(event_or_404(slug, officer), officer)


def _event_values(data: dict[str, Any]) -> dict[str, Any]:
    """The JSON fields as the service takes them: text trimmed, outcomes one per line."""
    values = {}
    for name, value in data.items():
        if name in ("learning_outcomes", "second_outcomes"):
            value = "\n".join(item.strip() for item in value)
        elif isinstance(value, str) and name != "slug":
            value = value.strip()
        values[name] = value
    return values


@bp.post("/events")
@bp.arguments(EventInSchema)
@answers(bp, 201, OfficerEventSchema, errors=(401, (404, "A topic named is not in the topic list."), 409))
def create_event(data: dict[str, Any]) -> Response:
    """Create a draft event; add sessions and panelists next, then publish."""
    officer = require_officer()
    with refusing():
        event = editing.create_event(_event_values(data))
    commit_or_409("slug", f"The address “{data['slug']}” is taken by another event.")
    return event_json(event, officer, 201)


@bp.patch("/events/<slug>")
@bp.arguments(EventPatchSchema)
@answers(bp, 200, OfficerEventSchema, errors=(401, 404, 409))
def update_event(data: dict[str, Any], slug: str) -> Response:
    """Change some fields of an event (publish and cancel have their own endpoints).

    As on the officer pages: a new title goes to subscribers as a calendar update, the
    address cannot change once published (422), and a raised seat limit seats the
    waiting list with their invitations."""
    officer, event = officer_event(slug)
    with refusing():
        editing.update_event(event, _event_values(data))
    commit_or_409("slug", f"The address “{data.get('slug')}” is taken by another event.")
    return event_json(event, officer)


def _event_action(slug: str, action: Callable[[Event], object]) -> Response:
    """Publish or cancel: one change to the event, committed, the event as it is now."""
    officer, event = officer_event(slug)
    with refusing():  # publish: cancelled, or no session to publish yet
        action(event)
    db.session.commit()
    return event_json(event, officer)


@bp.post("/events/<slug>/publish")
@answers(bp, 200, OfficerEventSchema, errors=(401, 404, 409))
def publish_event(slug: str) -> Response:
    """Make the event's page public (a no-op if it already is)."""
    return _event_action(slug, editing.publish_event)


@bp.post("/events/<slug>/cancel")
@answers(bp, 200, OfficerEventSchema)
def cancel_event(slug: str) -> Response:
    """Cancel the event and every remaining session (subscribers' calendars follow)."""
    return _event_action(slug, events.cancel_event)


# --- subscriptions ----------------------------------------------------------------------

CHECK_INBOX = _l(
    "Check your inbox: if this address can receive mail, a message is on its way with what to do next."
)


def _json_body_only(view: Callable[..., Any]) -> Callable[..., Any]:
    """415 for anything but a JSON body, before the fields are read: an HTML form from another
    site cannot send one without a CORS preflight (never granted), which is why this
    cookie-less endpoint needs no CSRF token."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not request.is_json:
            abort(
                415,
                message=_(
                    "Send a JSON object (Content-Type: application/json): "
                    "{email, name?, mode?, accept_conduct: true}."
                ),
            )
        return view(*args, **kwargs)

    return wrapper


@bp.post("/events/<slug>/subscriptions")
@_json_body_only
@subscribe_rate
@bp.arguments(SubscriptionInSchema)
@answers(bp, 202, SubscriptionAcceptedSchema, errors=(404, 415, 429), officer=False)
def subscribe(data: dict[str, Any], slug: str) -> Response:
    """Ask to join a published event: the same 202 for every address (new, pending or
    subscribed); what differs (confirm, welcome, "already subscribed") goes by mail only.
    No token; limited per client address together with the web form (SUBSCRIBE_RATE_LIMIT)."""
    event = Event.by_slug(slug)
    if event is None or event.status != "published":
        abort(404, message=_("No open event “%(slug)s”.", slug=slug))
    try:
        registration.register(
            event,
            data["email"],
            raw_from_json(data["answers"]),
            name=data["name"],
            mode=data["mode"],
            conduct_accepted=data["accept_conduct"],
            source="api",
            language=i18n.browser_locale(),
        )
    except subscription_service.SubscriptionError as exc:
        db.session.rollback()
        field_error("accept_conduct" if exc.field == "conduct" else exc.field, str(exc))
    except registration.AnswerErrors as exc:
        db.session.rollback()
        abort(422, errors={"json": {"answers": {str(qid): [msg] for qid, msg in exc.errors.items()}}})
    db.session.commit()
    response = jsonify(status="check-inbox", message=str(CHECK_INBOX))
    response.status_code = 202
    return response
