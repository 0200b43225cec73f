"""JSON API under /api/v1 (flask-smorest); the OpenAPI document is at /api/openapi.json.

Reading published events is public.  Writing needs an officer API token
(`Authorization: Bearer <token>`, made with `flask forum create-token EMAIL`); a token
also shows drafts and join links.  The API is token-authenticated, never by cookie,
so it is exempt from CSRF; its one public write, POST /events/{slug}/subscriptions, takes
only a JSON body (415 otherwise), which a cross-site form cannot send.

Every change goes through forum.events, like the officer web UI, so calendar
updates follow API edits too.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, NoReturn, cast

from flask import Response, current_app, jsonify, request
from flask.blueprints import BlueprintSetupState
from flask_smorest import Blueprint
from flask_smorest import abort as _smorest_abort
from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import HTTPException

from forum.core import clock
from forum.core.extensions import csrf, db
from forum.core.timezones import TimeInputError, localize
from forum.core.validation import MAX_DB_INT, BoundedIntConverter
from forum.events import service as events
from forum.models import ApiToken, Event, Officer, Panelist, Session
from forum.subscriptions import service as subscription_service
from forum.web.events.api_schemas import (
    WALL_TIME_FORMAT,
    EventInSchema,
    EventPatchSchema,
    EventQuerySchema,
    EventSchema,
    EventSummarySchema,
    OfficerEventSchema,
    OfficerSessionSchema,
    PanelistInSchema,
    PanelistLinkInSchema,
    PanelistPatchSchema,
    PanelistSchema,
    SessionInSchema,
    SessionPatchSchema,
    SubscriptionAcceptedSchema,
    SubscriptionInSchema,
    WallTime,
)
from forum.web.subscriptions.pages import subscribe_rate
from forum.webinars import seats

bp = Blueprint("api", __name__, url_prefix="/api/v1", description="Events, sessions, panelists")
csrf.exempt(bp)

#: flask-smorest's abort always raises (an HTTPException) but is not annotated NoReturn.
abort = cast("Callable[..., NoReturn]", _smorest_abort)

BEARER = "bearerAuth"
OFFICER_DOC: dict[str, Any] = {"security": [{BEARER: []}]}
CACHE_KEY = "forum.api_officer"


@bp.record_once
def _document_security(state: BlueprintSetupState) -> None:
    """Declare the bearer scheme in the OpenAPI document of the Api this blueprint is on."""
    api = state.app.extensions["flask-smorest"]["blp_name_to_api"][bp.name]
    # Wall times are not RFC 3339 `date-time`s (no offset): their own format, with a pattern.
    api.register_field(WallTime, "string", WALL_TIME_FORMAT)
    api.register_converter(
        BoundedIntConverter, lambda _: {"type": "integer", "minimum": 0, "maximum": MAX_DB_INT}
    )
    for schema in (EventPatchSchema, SessionPatchSchema, PanelistPatchSchema):
        # registered first so the document says what the server enforces: something to change
        api.spec.components.schema(schema.__name__.removesuffix("Schema"), {"minProperties": 1}, schema=schema)
    if BEARER not in api.spec.components.security_schemes:
        api.spec.components.security_scheme(
            BEARER,
            {"type": "http", "scheme": "bearer", "description": "`flask forum create-token EMAIL`"},
        )


# --- authentication ---------------------------------------------------------------------


def _unauthorized(message: str, error: str | None = None) -> NoReturn:
    challenge = 'Bearer realm="forum"' + (f', error="{error}"' if error else "")
    abort(401, message=message, headers={"WWW-Authenticate": challenge})


def token_officer() -> Officer | None:
    """The officer whose token came with the request; None without one, 401 for a bad one.

    A bad token is refused rather than treated as anonymous, so a client with an expired
    token learns it at once instead of silently seeing less.
    """
    if CACHE_KEY in request.environ:  # one lookup per request (g outlives it in tests)
        return request.environ[CACHE_KEY]
    header = request.headers.get("Authorization", "")
    if not header:
        request.environ[CACHE_KEY] = None
        return None
    scheme, _, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        _unauthorized("Send the API token as `Authorization: Bearer <token>`.", "invalid_request")
    officer = ApiToken.authenticate(raw.strip())
    if officer is None:
        _unauthorized(
            "This API token is not valid (revoked, mistyped, or its officer is inactive).", "invalid_token"
        )
    db.session.commit()  # last_used_at
    request.environ[CACHE_KEY] = officer
    return officer


def require_officer() -> Officer:
    officer = token_officer()
    if officer is None:
        _unauthorized("This needs an officer API token: `Authorization: Bearer <token>`.")
    return officer


PUBLIC_WRITES = {"api.subscribe"}  # endpoints anyone may POST to (no token, no cookie)


@bp.before_request
def _writes_need_a_token() -> None:
    """Refuse an anonymous write before its body is parsed: 401, not a 422 about fields."""
    if request.method not in ("GET", "HEAD", "OPTIONS") and request.endpoint not in PUBLIC_WRITES:
        require_officer()


def require_json_body() -> None:
    """A write whose OpenAPI operation declares a required JSON body gets one, or a 422.

    flask-smorest reads a missing body as `{}`, so a PUT with no body at all passed as "all
    defaults" while the published schema says the body is required. Registered on every API
    blueprint after its token check (an anonymous write is a 401 first)."""
    if request.method not in ("POST", "PUT", "PATCH") or request.endpoint is None:
        return
    view = current_app.view_functions.get(request.endpoint)
    arguments = getattr(view, "_apidoc", {}).get("arguments", {}).get("parameters", [])
    wants_body = any(p.get("in") == "json" and p.get("required") for p in arguments)
    if wants_body and not request.get_data(cache=True):
        abort(422, errors={"json": {"_schema": ["Send a JSON object as the request body."]}})


bp.before_request(require_json_body)


@bp.errorhandler(429)
def _too_many(error: HTTPException) -> Response:
    response = jsonify(
        code=429,
        status="Too Many Requests",
        message="Too many requests from your network. Please wait a minute and try again.",
    )
    response.status_code = 429
    return response


# --- lookups ----------------------------------------------------------------------------


def _event_or_404(slug: str, officer: Officer | None) -> Event:
    event = Event.by_slug(slug)
    if event is None or (officer is None and not event.is_public):
        abort(404, message=f"No event “{slug}”.")
    return event


def _session_or_404(event: Event, session_id: int) -> Session:
    session = db.session.get(Session, session_id)
    if session is None or session.event_id != event.id:
        abort(404, message=f"Event “{event.slug}” has no session {session_id}.")
    return session


def _panelist_or_404(panelist_id: int) -> Panelist:
    panelist = db.session.get(Panelist, panelist_id)
    if panelist is None:
        abort(404, message=f"No panelist {panelist_id}.")
    return panelist


def _field_error(field: str, message: str, status: int = 422) -> NoReturn:
    """Abort in flask-smorest's validation format, so clients handle one error shape."""
    abort(status, errors={"json": {field: [message]}})


def _event_json(event: Event, officer: Officer | None, status: int = 200) -> Response:
    """An event, with join links and list settings when an officer asks."""
    schema = OfficerEventSchema() if officer is not None else EventSchema()
    response = jsonify(schema.dump(event))
    response.status_code = status
    return response


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
@bp.arguments(EventQuerySchema, location="query", as_kwargs=True)
@bp.response(200, EventSummarySchema(many=True))
@bp.alt_response(401, response="UNAUTHORIZED")
def list_events(kind: str | None = None, when: str | None = None, status: str | None = None) -> Any:
    """Published events, soonest first (with a token: drafts and cancelled ones too)."""
    officer = token_officer()
    query, start, end = _span_query()
    if officer is None:
        query = query.where(Event.status == "published")
    elif status:
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
@bp.response(
    200, OfficerEventSchema, description="With an officer token the fields marked “officer token only” too."
)
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(401, response="UNAUTHORIZED")
def get_event(slug: str) -> Response:
    """One event with its sessions and panelists (drafts need a token)."""
    officer = token_officer()
    return _event_json(_event_or_404(slug, officer), officer)


def _apply_event_fields(event: Event, data: dict[str, Any]) -> None:
    for name, value in data.items():
        if name == "learning_outcomes":
            value = "\n".join(item.strip() for item in value)
        elif isinstance(value, str) and name != "slug":
            value = value.strip()
        setattr(event, name, value)


def _check_slug_free(slug: str, event: Event | None = None) -> None:
    other = Event.by_slug(slug)
    if other is not None and other is not event:
        _field_error("slug", f"The address “{slug}” is taken by another event.", 409)


def _commit_or_409(field: str, message: str) -> None:
    """Commit; a unique clash that slipped past the check (a concurrent request) is a 409."""
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        _field_error(field, message, 409)


@bp.post("/events")
@bp.arguments(EventInSchema)
@bp.response(201, OfficerEventSchema)
@bp.alt_response(401, response="UNAUTHORIZED")
@bp.alt_response(409, response="CONFLICT")
@bp.doc(**OFFICER_DOC)
def create_event(data: dict[str, Any]) -> Response:
    """Create a draft event; add sessions and panelists next, then publish."""
    officer = require_officer()
    _check_slug_free(data["slug"])
    event = Event()
    _apply_event_fields(event, data)
    db.session.add(event)
    _commit_or_409("slug", f"The address “{data['slug']}” is taken by another event.")
    return _event_json(event, officer, 201)


@bp.patch("/events/<slug>")
@bp.arguments(EventPatchSchema)
@bp.response(200, OfficerEventSchema)
@bp.alt_response(401, response="UNAUTHORIZED")
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
@bp.doc(**OFFICER_DOC)
def update_event(data: dict[str, Any], slug: str) -> Response:
    """Change some fields of an event (publish and cancel have their own endpoints)."""
    officer = require_officer()
    event = _event_or_404(slug, officer)
    if "slug" in data:
        _check_slug_free(data["slug"], event)
    limit_given, limit = "seat_limit" in data, data.pop("seat_limit", None)
    _apply_event_fields(event, data)
    if limit_given and limit != event.seat_limit:
        seats.set_limit(event, limit)  # a raised limit seats the waiting list, with their invitations
    _commit_or_409("slug", f"The address “{data.get('slug')}” is taken by another event.")
    return _event_json(event, officer)


@bp.post("/events/<slug>/publish")
@bp.response(200, OfficerEventSchema)
@bp.alt_response(401, response="UNAUTHORIZED")
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
@bp.doc(**OFFICER_DOC)
def publish_event(slug: str) -> Response:
    """Make the event's page public (a no-op if it already is)."""
    officer = require_officer()
    event = _event_or_404(slug, officer)
    if event.status == "cancelled":
        abort(409, message="A cancelled event cannot be published again.")
    try:
        events.publish_event(event)
    except ValueError as exc:  # forum.events refuses (e.g. nothing to publish yet)
        db.session.rollback()
        abort(409, message=str(exc))
    db.session.commit()
    return _event_json(event, officer)


@bp.post("/events/<slug>/cancel")
@bp.response(200, OfficerEventSchema)
@bp.alt_response(401, response="UNAUTHORIZED")
@bp.alt_response(404, response="NOT_FOUND")
@bp.doc(**OFFICER_DOC)
def cancel_event(slug: str) -> Response:
    """Cancel the event and every remaining session (subscribers' calendars follow)."""
    officer = require_officer()
    event = _event_or_404(slug, officer)
    events.cancel_event(event)
    db.session.commit()
    return _event_json(event, officer)


# --- sessions ---------------------------------------------------------------------------


def _check_times(start_wall: Any, end_wall: Any, zone: str) -> None:
    """Refuse a wall time that does not exist with a 422 on the field at fault."""
    for field, wall in (("start_wall", start_wall), ("end_wall", end_wall)):
        try:
            localize(wall, zone)
        except TimeInputError as exc:
            db.session.rollback()
            _field_error(field, str(exc))


def _session_json(session: Session, notes: list[str], status: int) -> Response:
    session.api_notes = notes  # type: ignore[attr-defined]  # shown once, never stored
    response = jsonify(OfficerSessionSchema().dump(session))
    response.status_code = status
    return response


def _text(data: dict[str, Any], name: str, default: str) -> str:
    return data[name].strip() if name in data else default


@bp.post("/events/<slug>/sessions")
@bp.arguments(SessionInSchema)
@bp.response(201, OfficerSessionSchema)
@bp.alt_response(401, response="UNAUTHORIZED")
@bp.alt_response(404, response="NOT_FOUND")
@bp.doc(**OFFICER_DOC)
def create_session(data: dict[str, Any], slug: str) -> Response:
    """Add a session: wall times in an IANA zone (default: the event's).

    A time in a spring-forward gap is refused (422 on the field); an ambiguous
    fall-back time takes its first occurrence and says so in `notes`.
    """
    officer = require_officer()
    event = _event_or_404(slug, officer)
    zone = data.get("timezone") or event.timezone
    _check_times(data["start_wall"], data["end_wall"], zone)
    try:
        session, notes = events.add_session(
            event,
            data["start_wall"],
            data["end_wall"],
            zone,
            title=_text(data, "title", ""),
            join_url=_text(data, "join_url", ""),
            description=_text(data, "description", ""),
        )
    except TimeInputError as exc:  # what is left: the end is not after the start
        db.session.rollback()
        _field_error("end_wall", str(exc))
    if "position" in data:
        session.position = data["position"]
    db.session.commit()
    return _session_json(session, notes, 201)


@bp.patch("/events/<slug>/sessions/<int:session_id>")
@bp.arguments(SessionPatchSchema)
@bp.response(200, OfficerSessionSchema)
@bp.alt_response(401, response="UNAUTHORIZED")
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
@bp.doc(**OFFICER_DOC)
def update_session(data: dict[str, Any], slug: str, session_id: int) -> Response:
    """Change some fields of a session; a change attendees see raises its SEQUENCE once."""
    officer = require_officer()
    event = _event_or_404(slug, officer)
    session = _session_or_404(event, session_id)
    if session.status == "cancelled":
        abort(409, message="This session is cancelled; add a new one instead.")
    start_wall = data.get("start_wall", session.start_wall)
    end_wall = data.get("end_wall", session.end_wall)
    zone = data.get("timezone") or session.timezone
    _check_times(start_wall, end_wall, zone)
    try:
        notes = events.update_session(
            session,
            start_wall,
            end_wall,
            zone,
            title=_text(data, "title", session.title),
            join_url=_text(data, "join_url", session.join_url),
            description=_text(data, "description", session.description),
        )
    except TimeInputError as exc:
        db.session.rollback()
        _field_error("end_wall", str(exc))
    if "position" in data:
        session.position = data["position"]
    db.session.commit()
    return _session_json(session, notes, 200)


@bp.post("/events/<slug>/sessions/<int:session_id>/cancel")
@bp.response(200, OfficerSessionSchema)
@bp.alt_response(401, response="UNAUTHORIZED")
@bp.alt_response(404, response="NOT_FOUND")
@bp.doc(**OFFICER_DOC)
def cancel_session(slug: str, session_id: int) -> Response:
    """Cancel one session; subscribers' calendars get a cancellation."""
    officer = require_officer()
    event = _event_or_404(slug, officer)
    session = _session_or_404(event, session_id)
    events.cancel_session(session)
    db.session.commit()
    return _session_json(session, [], 200)


# --- panelists --------------------------------------------------------------------------


def _panelist_json(panelist: Panelist, officer: Officer | None, status: int = 200) -> Response:
    panelist.api_events = [  # type: ignore[attr-defined]
        link for link in panelist.event_links if officer is not None or link.event.is_public
    ]
    response = jsonify(PanelistSchema().dump(panelist))
    response.status_code = status
    return response


def _apply_panelist_fields(panelist: Panelist, data: dict[str, Any]) -> None:
    for name, value in data.items():
        if name == "links":
            value = "\n".join(link.strip() for link in value)
        elif name == "email":
            value = (value or "").strip().lower() or None
        elif isinstance(value, str):
            value = value.strip()
        setattr(panelist, name, value)


@bp.get("/panelists/<int:panelist_id>")
@bp.response(200, PanelistSchema)
@bp.alt_response(404, response="NOT_FOUND")
def get_panelist(panelist_id: int) -> Response:
    """A panelist's bio and the events they appear on (only public ones without a token)."""
    officer = token_officer()
    panelist = _panelist_or_404(panelist_id)
    if officer is None and not any(link.event.is_public for link in panelist.event_links):
        abort(404, message=f"No panelist {panelist_id}.")
    return _panelist_json(panelist, officer)


@bp.post("/panelists")
@bp.arguments(PanelistInSchema)
@bp.response(201, PanelistSchema)
@bp.alt_response(401, response="UNAUTHORIZED")
@bp.doc(**OFFICER_DOC)
def create_panelist(data: dict[str, Any]) -> Response:
    """Create a panelist; link them to events with PUT /events/<slug>/panelists/<id>."""
    officer = require_officer()
    panelist = Panelist()
    _apply_panelist_fields(panelist, data)
    db.session.add(panelist)
    db.session.commit()
    return _panelist_json(panelist, officer, 201)


@bp.patch("/panelists/<int:panelist_id>")
@bp.arguments(PanelistPatchSchema)
@bp.response(200, PanelistSchema)
@bp.alt_response(401, response="UNAUTHORIZED")
@bp.alt_response(404, response="NOT_FOUND")
@bp.doc(**OFFICER_DOC)
def update_panelist(data: dict[str, Any], panelist_id: int) -> Response:
    officer = require_officer()
    panelist = _panelist_or_404(panelist_id)
    _apply_panelist_fields(panelist, data)
    db.session.commit()
    return _panelist_json(panelist, officer)


@bp.put("/events/<slug>/panelists/<int:panelist_id>")
@bp.arguments(PanelistLinkInSchema)
@bp.response(200, OfficerEventSchema)
@bp.alt_response(401, response="UNAUTHORIZED")
@bp.alt_response(404, response="NOT_FOUND")
@bp.doc(**OFFICER_DOC)
def link_panelist(data: dict[str, Any], slug: str, panelist_id: int) -> Response:
    """Put a panelist on an event with a role (panelist, moderator, presenter); idempotent."""
    officer = require_officer()
    event = _event_or_404(slug, officer)
    panelist = _panelist_or_404(panelist_id)
    link = events.attach_panelist(event, panelist, data["role"])
    if "position" in data:
        link.position = data["position"]
    _commit_or_409("panelist", "This panelist is already on the event.")
    db.session.refresh(event)
    return _event_json(event, officer)


@bp.delete("/events/<slug>/panelists/<int:panelist_id>")
@bp.response(204)
@bp.alt_response(401, response="UNAUTHORIZED")
@bp.alt_response(404, response="NOT_FOUND")
@bp.doc(**OFFICER_DOC)
def unlink_panelist(slug: str, panelist_id: int) -> None:
    """Take a panelist off an event (the panelist and their bio stay)."""
    officer = require_officer()
    event = _event_or_404(slug, officer)
    link = next((ln for ln in event.panelist_links if ln.panelist_id == panelist_id), None)
    if link is None:
        abort(404, message=f"Panelist {panelist_id} is not on “{slug}”.")
    events.detach_panelist(link)
    db.session.commit()


# --- subscriptions ----------------------------------------------------------------------

CHECK_INBOX = (
    "Check your inbox: if this address can receive mail, a message is on its way with what to do next."
)


def _json_body_only(view: Callable[..., Any]) -> Callable[..., Any]:
    """415 for anything but a JSON body, before the fields are read: an HTML form from another
    site cannot send one without a CORS preflight (never granted), which is why this
    cookie-less endpoint needs no CSRF token."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not request.is_json:
            abort(415, message="Send a JSON object (Content-Type: application/json): "
                  "{email, name?, mode?, accept_conduct: true}.")
        return view(*args, **kwargs)

    return wrapper


@bp.post("/events/<slug>/subscriptions")
@_json_body_only
@subscribe_rate
@bp.arguments(SubscriptionInSchema)
@bp.response(202, SubscriptionAcceptedSchema)
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(415, response="UNSUPPORTED_MEDIA_TYPE")
@bp.alt_response(429, response="TOO_MANY_REQUESTS")
def subscribe(data: dict[str, Any], slug: str) -> Response:
    """Ask to join a published event: the same 202 for every address (new, pending or
    subscribed); what differs (confirm, welcome, "already subscribed") goes by mail only.
    No token; limited per client address together with the web form (SUBSCRIBE_RATE_LIMIT)."""
    event = Event.by_slug(slug)
    if event is None or event.status != "published":
        abort(404, message=f"No open event “{slug}”.")
    try:
        subscription_service.subscribe(
            event,
            data["email"],
            name=data["name"],
            mode=data["mode"],
            conduct_accepted=data["accept_conduct"],
            source="api",
        )
    except subscription_service.SubscriptionError as exc:
        db.session.rollback()
        _field_error("accept_conduct" if exc.field == "conduct" else exc.field, str(exc))
    db.session.commit()
    response = jsonify(status="check-inbox", message=CHECK_INBOX)
    response.status_code = 202
    return response
