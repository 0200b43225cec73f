"""What every route of the events JSON API (/api/v1, flask-smorest) shares: the `api`
blueprint, bearer-token authentication, lookups that answer 404, and one error shape.

Reading published events is public.  Writing needs an officer API token
(`Authorization: Bearer <token>`, made with `flask forum create-token EMAIL`); a token
also shows drafts and join links.  The API is token-authenticated, never by cookie,
so it is exempt from CSRF; its one public write, POST /events/{slug}/subscriptions, takes
only a JSON body (415 otherwise), which a cross-site form cannot send.

The routes are in api.py (events, subscriptions) and api_sessions.py (sessions,
panelists); the CE and pathways APIs reuse the authentication from here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn, TypeVar, cast

from flask import Response, current_app, jsonify, request
from flask.blueprints import BlueprintSetupState
from flask_babel import gettext as _
from flask_smorest import Blueprint
from flask_smorest import abort as _smorest_abort
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from forum.core.extensions import csrf, db
from forum.core.validation import MAX_DB_INT, BoundedIntConverter
from forum.events.editing import EventChangeError
from forum.models import ApiToken, Event, Officer, Panelist, Session
from forum.web.events.api_schemas import (
    WALL_TIME_FORMAT,
    EventPatchSchema,
    EventSchema,
    OfficerEventSchema,
    PanelistPatchSchema,
    SessionPatchSchema,
    WallTime,
)

bp = Blueprint("api", __name__, url_prefix="/api/v1", description="Events, sessions, panelists")
csrf.exempt(bp)

#: flask-smorest's abort always raises (an HTTPException) but is not annotated NoReturn.
abort = cast("Callable[..., NoReturn]", _smorest_abort)

BEARER = "bearerAuth"
OFFICER_DOC: dict[str, Any] = {"security": [{BEARER: []}]}
CACHE_KEY = "forum.api_officer"
#: flask-smorest's names for the error answers routes document (its default error schema).
ERROR_NAMES = {
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    409: "CONFLICT",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "TOO_MANY_REQUESTS",
}
View = TypeVar("View", bound=Callable[..., Any])
BEARER_ROW_KEY = "forum.api_bearer_row"


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
        api.spec.components.schema(
            schema.__name__.removesuffix("Schema"), {"minProperties": 1}, schema=schema
        )
    if BEARER not in api.spec.components.security_schemes:
        api.spec.components.security_scheme(
            BEARER,
            {"type": "http", "scheme": "bearer", "description": "`flask forum create-token EMAIL`"},
        )


def answers(
    blueprint: Blueprint,
    status: int,
    schema: Any = None,
    *,
    errors: Iterable[int | tuple[int, str]] = (401, 404),
    officer: bool = True,
    description: str | None = None,
) -> Callable[[View], View]:
    """What a route answers, documented in one place: its success (`status`, `schema`), the
    errors it can give (a code, or a code and what it means here), and whether it needs an
    officer token. Every API blueprint (events, CE, pathways, registration, audit) documents
    its routes through this, so the OpenAPI document names errors and security one way."""

    def decorate(view: View) -> View:
        if officer:
            view = blueprint.doc(**OFFICER_DOC)(view)
        for error in reversed(tuple(errors)):  # as stacked decorators would, bottom up
            code, meaning = error if isinstance(error, tuple) else (error, None)
            extra = {"description": meaning} if meaning else {}
            view = blueprint.alt_response(code, response=ERROR_NAMES[code], **extra)(view)
        extra = {"description": description} if description else {}
        return cast("View", blueprint.response(status, schema, **extra)(view))

    return decorate


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
    scheme, _space, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        _unauthorized(_("Send the API token as `Authorization: Bearer <token>`."), "invalid_request")
    token = ApiToken.find(raw.strip())
    if token is None:
        _unauthorized(
            _("This API token is not valid (revoked, mistyped, or its officer is inactive)."), "invalid_token"
        )
    if db.session.is_modified(token):
        db.session.commit()  # last_used_at, at most once a minute (ApiToken.find)
    request.environ[CACHE_KEY] = token.officer
    request.environ[BEARER_ROW_KEY] = token
    return token.officer


def current_token() -> ApiToken | None:
    """The token `token_officer` accepted for this request (its `read_only` for the guard)."""
    return request.environ.get(BEARER_ROW_KEY)


def forget_officer() -> None:
    """Answer this request as to the public (forum/web/team/guard.py: a token whose roles
    do not reach this event sees what anyone sees, not an officer's view)."""
    request.environ[CACHE_KEY] = None


def require_officer() -> Officer:
    officer = token_officer()
    if officer is None:
        _unauthorized(_("This needs an officer API token: `Authorization: Bearer <token>`."))
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
    # Content-Length first: a form body may already have been read (and emptied) by the form
    # parser, and must reach the view's own 415 for "not JSON", not look like no body at all.
    if wants_body and not request.content_length and not request.get_data(cache=True):
        abort(422, errors={"json": {"_schema": [_("Send a JSON object as the request body.")]}})


bp.before_request(require_json_body)


@bp.errorhandler(429)
def _too_many(error: HTTPException) -> Response:
    response = jsonify(
        code=429,
        status="Too Many Requests",
        message=_("Too many requests from your network. Please wait a minute and try again."),
    )
    response.status_code = 429
    return response


# --- lookups ----------------------------------------------------------------------------


def event_or_404(slug: str, officer: Officer | None) -> Event:
    event = Event.by_slug(slug)
    if event is None or (officer is None and not event.is_public):
        abort(404, message=_("No event “%(slug)s”.", slug=slug))
    return event


def session_or_404(event: Event, session_id: int) -> Session:
    session = db.session.get(Session, session_id)
    if session is None or session.event_id != event.id:
        abort(404, message=_("Event “%(slug)s” has no session %(session)s.", slug=event.slug, session=session_id))
    return session


def panelist_or_404(panelist_id: int) -> Panelist:
    panelist = db.session.get(Panelist, panelist_id)
    if panelist is None:
        abort(404, message=_("No panelist %(panelist)s.", panelist=panelist_id))
    return panelist


def field_error(field: str, message: str, status: int = 422) -> NoReturn:
    """Abort in flask-smorest's validation format, so clients handle one error shape."""
    abort(status, errors={"json": {field: [message]}})


def event_json(event: Event, officer: Officer | None, status: int = 200) -> Response:
    """An event, with join links and list settings when an officer asks."""
    schema = OfficerEventSchema() if officer is not None else EventSchema()
    response = jsonify(schema.dump(event))
    response.status_code = status
    return response


def commit_or_409(field: str, message: str) -> None:
    """Commit; a unique clash that slipped past the check (a concurrent request) is a 409."""
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        field_error(field, message, 409)


Refusal = TypeVar("Refusal", bound=Exception)


@contextmanager
def refusing(
    answer: Callable[[Refusal], NoReturn] | None = None,
    error: type[Refusal] = EventChangeError,  # type: ignore[assignment]
    *,
    commit: bool = False,
) -> Iterator[None]:
    """Run a door's call to a service: the refusal it raises (`error`) becomes the route's
    4xx through `answer` (which rolls back; `refuse` by default), and with `commit` what
    it did is committed. Every API route that changes something goes through this."""
    try:
        yield
    except error as exc:
        (answer or refuse)(exc)  # type: ignore[arg-type]
    if commit:
        db.session.commit()


def writes_need_a_token() -> None:
    """`before_request` of a blueprint whose reads are public (pathways, mentoring): any
    change needs an officer's token."""
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        require_officer()


def officer_event(slug: str) -> tuple[Officer, Event]:
    """The token's officer (401 without one) and the event they name (404)."""
    officer = require_officer()
    return officer, event_or_404(slug, officer)


def refuse(error: EventChangeError, fields: dict[str, str] | None = None) -> NoReturn:
    """Answer a change forum.events refused: 409 for a clash with another row or the event's
    state, 404 for a row it names that is not there (a topic), 422 for the rest, on the field
    it names (`fields` renames one for this route)."""
    db.session.rollback()  # nothing of the refused change is kept
    status = 404 if error.missing else 409 if error.conflict else 422
    field_error((fields or {}).get(error.field, error.field), str(error), status)
