"""JSON API for learning pathways, needs and resources (in the same OpenAPI document).

Published pathways, their needs and public resources are readable without a token;
drafts need an officer token, and so does every write (web/api.py's bearer-token
helpers). Changes go through forum.pathways, like the officer pages.
"""

from __future__ import annotations

from typing import Any, NoReturn

from flask.blueprints import BlueprintSetupState
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from forum.core.extensions import csrf, db
from forum.core.validation import MAX_DB_INT, api_multi_line, api_single_line
from forum.models import Event, Session
from forum.models.pathways import (
    EXTERNAL_KINDS,
    PATHWAY_STATUSES,
    RESOURCE_KINDS,
    LearningNeed,
    Pathway,
    Resource,
)
from forum.pathways import service
from forum.team import scopes
from forum.web.events.api_common import (
    abort,
    answers,
    refusing,
    require_json_body,
    token_officer,
    writes_need_a_token,
)
from forum.web.events.api_schemas import (
    SLUG_RE,
    Pattern,
    StrictBoolean,
    TopicSchema,
    http_url,
    slug_pattern,
    string_list,
    text_line,
    topics_in,
)

bp = Blueprint(
    "api_pathways", __name__, url_prefix="/api/v1", description="Learning pathways, needs and resources"
)
csrf.exempt(bp)


bp.before_request(writes_need_a_token)
bp.before_request(require_json_body)


def _text(max_length: int) -> list[Any]:
    return [validate.Length(min=1, max=max_length), text_line]


class ResourceSchema(Schema):
    id = fields.Int()
    kind = fields.Str(metadata={"enum": list(RESOURCE_KINDS)})
    title = fields.Method("_title", metadata={"type": "string"})
    url = fields.Str(metadata={"description": "empty for an event or session of this forum"})
    minutes = fields.Method(
        "_minutes", metadata={"type": "integer", "nullable": True, "description": "null: unknown"}
    )
    description = fields.Str()
    topics = fields.List(fields.Str(), attribute="topic_list")
    event = fields.Method(
        "_event", metadata={"type": "string", "nullable": True, "description": "slug of the event it stands for"}
    )
    session_id = fields.Int(allow_none=True)
    link = fields.Method(
        "_link",
        metadata={
            "type": "string",
            "nullable": True,
            "enum": ["ok", "broken", None],
            "description": "the last link check: ok, broken, or null (not checked)",
        },
    )
    link_status = fields.Method(
        "_link_status",
        metadata={
            "type": "integer",
            "nullable": True,
            "description": "HTTP status of the last link check; with an officer token only",
        },
    )

    def _link(self, resource: Resource) -> str | None:
        """Only ok or broken without a token: a status or error per URL would let anyone map
        what the server can reach (the link check is a fetch from inside the deployment)."""
        if not resource.is_external or resource.link_checked_at is None:
            return None
        return "broken" if resource.link_broken else "ok"

    def _link_status(self, resource: Resource) -> int | None:
        return resource.link_status if token_officer() else None

    def _title(self, resource: Resource) -> str:
        return resource.display_title if token_officer() else service.public_title(resource)

    def _minutes(self, resource: Resource) -> int | None:
        return service.minutes_of(resource)

    def _event(self, resource: Resource) -> str | None:
        event = resource.the_event
        if event is None or (event.status == "draft" and not token_officer()):
            return None
        return event.slug


#: A topic is one line without the commas or semicolons that separate topics; ten topics of
#: at most 40 characters stay under the 500 characters a resource keeps.
TOPIC_PATTERN = r"^[^,;\x00-\x1f\x7f-\x9f\u2028\u2029]*$"


#: The column's own length: a longer URL is a 422 here, not a 500 from the database.
URL_MAX: int = Resource.__table__.c.url.type.length  # type: ignore[attr-defined] # String(1000)


class ResourceInSchema(Schema):
    title = fields.Str(required=True, validate=_text(200))
    url = fields.Str(required=True, validate=[validate.Length(max=URL_MAX), http_url])
    kind = fields.Str(required=True, validate=validate.OneOf(EXTERNAL_KINDS))
    minutes = fields.Int(
        load_default=None, allow_none=True, strict=True, validate=validate.Range(min=1, max=100_000)
    )
    description = fields.Str(load_default="", validate=api_multi_line)
    topics = fields.List(
        fields.Str(
            validate=[
                validate.Length(max=40),
                Pattern(TOPIC_PATTERN, error=_l("One topic per item, without commas or semicolons.")),
            ]
        ),
        load_default=list,
        validate=validate.Length(max=10),
    )


class NeedSchema(Schema):
    slug = fields.Str()
    title = fields.Str()
    description = fields.Str()
    pathways = string_list("_pathways")

    def _pathways(self, need: LearningNeed) -> list[str]:
        """Slugs of the published pathways serving the need (drafts stay private)."""
        return [p.slug for p in need.pathways if p.is_published]


SLUG_DOC = {"description": "empty: made from the title"}


def _slug() -> fields.Str:
    return fields.Str(
        load_default="",
        validate=[
            validate.Length(max=80),
            Pattern(f"^(?:|{SLUG_RE.pattern[1:-1]})$", error=_l("Use lower-case letters, digits and single hyphens.")),
        ],
        metadata=SLUG_DOC,
    )


class NeedInSchema(Schema):
    title = fields.Str(required=True, validate=_text(200))
    slug = _slug()
    description = fields.Str(load_default="", validate=api_multi_line)


class StepSchema(Schema):
    position = fields.Int()
    stage = fields.Str()
    why = fields.Str()
    resource = fields.Nested(ResourceSchema)


class PathwaySchema(Schema):
    slug = fields.Str()
    title = fields.Str()
    summary = fields.Str()
    audience = fields.Str()
    description = fields.Str()
    status = fields.Str(metadata={"enum": list(PATHWAY_STATUSES)})
    needs = fields.Pluck(NeedSchema, "slug", many=True)
    topics = fields.List(fields.Nested(TopicSchema))
    total_minutes = fields.Method("_total", metadata={"type": "integer"})
    steps = fields.Nested(StepSchema, many=True)

    def _total(self, pathway: Pathway) -> int:
        return service.total_minutes(pathway)


class StepInSchema(Schema):
    """One of resource_id, event or session_id says what the step is (the first given wins)."""

    resource_id = fields.Int(strict=True, validate=validate.Range(min=1, max=MAX_DB_INT))
    event = fields.Str(
        validate=[validate.Length(min=1, max=80), slug_pattern], metadata={"description": "slug of an event here"}
    )
    session_id = fields.Int(strict=True, validate=validate.Range(min=1, max=MAX_DB_INT))
    why = fields.Str(load_default="", validate=[validate.Length(max=500), api_multi_line])
    stage = fields.Str(load_default="", validate=[validate.Length(max=120), api_single_line])

    @validates_schema
    def _says_what(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not any(name in data for name in STEP_TARGETS):
            raise ValidationError(_("Each step needs resource_id, event or session_id."))


STEP_TARGETS = ("resource_id", "event", "session_id")


class PathwayInSchema(Schema):
    title = fields.Str(required=True, validate=_text(200))
    slug = _slug()
    summary = fields.Str(load_default="", validate=api_multi_line)
    audience = fields.Str(load_default="", validate=[validate.Length(max=300), api_single_line])
    description = fields.Str(load_default="", validate=api_multi_line)
    needs = fields.List(
        fields.Str(validate=[validate.Length(min=1, max=80), slug_pattern]),
        load_default=list,
        metadata={"description": "learning need slugs"},
    )
    topics = topics_in(load_default=list)
    steps = fields.List(fields.Nested(StepInSchema), load_default=list)
    publish = StrictBoolean(load_default=False, metadata={"description": "true: publish once made (needs a step)"})


@bp.record_once
def _document_step_targets(state: BlueprintSetupState) -> None:
    """Say in the document what the server enforces: a step names what it is."""
    api = state.app.extensions["flask-smorest"]["blp_name_to_api"][bp.name]
    api.spec.components.schema(
        "StepIn", {"anyOf": [{"required": [name]} for name in STEP_TARGETS]}, schema=StepInSchema
    )


def _refuse(status: int, field: str, message: str) -> NoReturn:
    """An error in flask-smorest's format; nothing half-made (a pathway without its steps) stays."""
    db.session.rollback()
    abort(status, errors={"json": {field: [message]}}, message=message)


#: Refusals that are about what is stored, not the request's shape: 409 (Conflict).
CONFLICTS = {"slug", "steps", "status"}


def _service_error(exc: service.PathwayError) -> NoReturn:
    """A taken address or a state that forbids the change is a 409; other input a 422."""
    _refuse(404 if exc.field == "topics" else 409 if exc.field in CONFLICTS else 422, exc.field, str(exc))


def _commit(field: str, message: str) -> None:
    """Commit; an address taken by a concurrent request (the unique index) is a 409 too."""
    try:
        db.session.commit()
    except IntegrityError:
        _refuse(409, field, message)


def _pathway_or_404(slug: str) -> Pathway:
    pathway = Pathway.by_slug(slug)
    if pathway is None or not (pathway.is_published or token_officer()):
        abort(404, message=_("No pathway “%(slug)s”.", slug=slug))
    return pathway


def _step_resource(data: dict[str, Any], field: str = "steps") -> Resource:
    """The resource a step names; 404 when what it names does not exist."""
    if data.get("resource_id") is not None:
        resource = db.session.get(Resource, data["resource_id"])
        if resource is None:
            _refuse(404, field, f"No resource {data['resource_id']}.")
        return resource
    if data.get("session_id") is not None:
        session = db.session.get(Session, data["session_id"])
        if session is None:
            _refuse(404, field, f"No session {data['session_id']}.")
        return service.resource_for_session(session)
    event = Event.by_slug(data["event"])
    if event is None:
        _refuse(404, field, f"No event “{data['event']}”.")
    return service.resource_for_event(event)


@bp.get("/pathways")
@answers(bp, 200, PathwaySchema(many=True), errors=(401,), officer=False)
def list_pathways() -> Any:
    """Published pathways by title (with a token: drafts too)."""
    stmt = select(Pathway).order_by(Pathway.title)
    officer = token_officer()  # drafts: those its officer holds a role on (all, for the administrator)
    stmt = stmt.where((Pathway.status == "published") | scopes.visible(officer, "pathway"))
    return db.session.scalars(stmt).all()


@bp.get("/pathways/<slug>")
@answers(bp, 200, PathwaySchema, officer=False)
def get_pathway(slug: str) -> Any:
    return _pathway_or_404(slug)


@bp.post("/pathways")
@bp.arguments(PathwayInSchema)
@answers(
    bp,
    201, PathwaySchema,
    errors=(401, (404, "A need, resource, event or session named is not here."), (409, "The address is taken, or `publish` without steps.")),
)
def create_pathway(data: dict[str, Any]) -> Any:
    """Create a pathway with its steps (and publish it at once with `publish: true`)."""
    needs = []
    for slug in data["needs"]:
        need = LearningNeed.by_slug(slug)
        if need is None:
            _refuse(404, "needs", f"No learning need “{slug}”.")
        needs.append(need)
    with refusing(_service_error, service.PathwayError):
        pathway = service.save_pathway(
            None,
            title=data["title"],
            slug=data["slug"],
            summary=data["summary"],
            audience=data["audience"],
            description=data["description"],
            needs=needs,
            topics=data["topics"],
        )
        for step in data["steps"]:
            service.add_step(pathway, _step_resource(step), why=step["why"], stage=step["stage"])
        if data["publish"]:
            service.publish(pathway)
    _commit("slug", f"Another pathway already uses the address /pathways/{pathway.slug}.")
    return pathway


@bp.get("/needs")
@answers(bp, 200, NeedSchema(many=True), errors=(401,), officer=False)
def list_needs() -> Any:
    return db.session.scalars(select(LearningNeed).order_by(LearningNeed.position)).all()


@bp.post("/needs")
@bp.arguments(NeedInSchema)
@answers(bp, 201, NeedSchema, errors=(401, (409, "Another learning need has the address.")))
def create_need(data: dict[str, Any]) -> Any:
    with refusing(_service_error, service.PathwayError):
        need = service.save_need(None, title=data["title"], slug=data["slug"], description=data["description"])
    _commit("slug", f"Another learning need already uses the address “{need.slug}”.")
    return need


@bp.get("/resources")
@answers(bp, 200, ResourceSchema(many=True), errors=(401,), officer=False)
def list_resources() -> Any:
    return service.public_resources()


@bp.post("/resources")
@bp.arguments(ResourceInSchema)
@answers(bp, 201, ResourceSchema, errors=(401,))
def create_resource(data: dict[str, Any]) -> Any:
    with refusing(_service_error, service.PathwayError, commit=True):
        resource = service.save_external(None, **data)
    return resource


@bp.post("/pathways/<slug>/steps")
@bp.arguments(StepInSchema)
@answers(
    bp,
    201, PathwaySchema,
    errors=(401, (404, "No such pathway, or the resource, event or session named.")),
)
def add_step(data: dict[str, Any], slug: str) -> Any:
    """Append a step (its stage defaults to the previous step's)."""
    pathway = _pathway_or_404(slug)
    with refusing(_service_error, service.PathwayError, commit=True):
        service.add_step(pathway, _step_resource(data, "resource"), why=data["why"], stage=data["stage"])
    return pathway


@bp.post("/pathways/<slug>/publish")
@answers(bp, 200, PathwaySchema, errors=(401, 404, (409, "The pathway has no steps yet.")))
def publish_pathway(slug: str) -> Any:
    """Make the pathway public (a no-op if it already is); it needs a step first."""
    pathway = _pathway_or_404(slug)
    with refusing(_service_error, service.PathwayError, commit=True):
        service.publish(pathway)
    return pathway
