"""JSON API for learning pathways, needs and resources (in the same OpenAPI document).

Published pathways, their needs and public resources are readable without a token;
drafts need an officer token, and so does every write (web/api.py's bearer-token
helpers). Changes go through forum.pathways, like the officer pages.
"""

from __future__ import annotations

from typing import Any, NoReturn

from flask import request
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from .. import pathways as service
from ..extensions import csrf, db
from ..models import Event, Session
from ..models.pathways import EXTERNAL_KINDS, LearningNeed, Pathway, Resource
from ..validation import api_multi_line, api_single_line
from .api import OFFICER_DOC, abort, require_officer, token_officer
from .api_schemas import _url

bp = Blueprint(
    "api_pathways", __name__, url_prefix="/api/v1", description="Learning pathways, needs and resources"
)
csrf.exempt(bp)


@bp.before_request
def _writes_need_a_token() -> None:
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        require_officer()


class ResourceSchema(Schema):
    id = fields.Int()
    kind = fields.Str()
    title = fields.Method("_title")
    url = fields.Str()
    minutes = fields.Method("_minutes", allow_none=True)
    description = fields.Str()
    topics = fields.List(fields.Str(), attribute="topic_list")
    event = fields.Method("_event", allow_none=True)
    session_id = fields.Int(allow_none=True)
    link_status = fields.Int(allow_none=True)

    def _title(self, resource: Resource) -> str:
        return resource.display_title if token_officer() else service.public_title(resource)

    def _minutes(self, resource: Resource) -> int | None:
        return service.minutes_of(resource)

    def _event(self, resource: Resource) -> str | None:
        event = resource.the_event
        if event is None or (event.status == "draft" and not token_officer()):
            return None
        return event.slug


class ResourceInSchema(Schema):
    title = fields.Str(required=True, validate=[validate.Length(min=1, max=200), api_single_line])
    url = fields.Str(required=True, validate=_url)  # documented as the pattern it checks
    kind = fields.Str(required=True, validate=validate.OneOf(EXTERNAL_KINDS))
    minutes = fields.Int(load_default=None, validate=validate.Range(min=1, max=100_000))
    description = fields.Str(load_default="", validate=api_multi_line)
    topics = fields.List(fields.Str(validate=api_single_line), load_default=list)


class NeedSchema(Schema):
    slug = fields.Str()
    title = fields.Str()
    description = fields.Str()
    pathways = fields.Method("_pathways")

    def _pathways(self, need: LearningNeed) -> list[str]:
        """Slugs of the published pathways serving the need (drafts stay private)."""
        return [p.slug for p in need.pathways if p.is_published]


class NeedInSchema(Schema):
    title = fields.Str(required=True, validate=[validate.Length(min=1, max=200), api_single_line])
    slug = fields.Str(load_default="", validate=[validate.Length(max=80), api_single_line])
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
    status = fields.Str()
    needs = fields.Pluck(NeedSchema, "slug", many=True)
    total_minutes = fields.Method("_total")
    steps = fields.Nested(StepSchema, many=True)

    def _total(self, pathway: Pathway) -> int:
        return service.total_minutes(pathway)


class StepInSchema(Schema):
    resource_id = fields.Int(load_default=None)
    event = fields.Str(load_default=None, validate=api_single_line, metadata={"description": "slug of an event here"})
    session_id = fields.Int(load_default=None)
    why = fields.Str(load_default="", validate=[validate.Length(max=500), api_single_line])
    stage = fields.Str(load_default="", validate=[validate.Length(max=120), api_single_line])


class PathwayInSchema(Schema):
    title = fields.Str(required=True, validate=[validate.Length(min=1, max=200), api_single_line])
    slug = fields.Str(load_default="", validate=[validate.Length(max=80), api_single_line])
    summary = fields.Str(load_default="", validate=api_multi_line)
    audience = fields.Str(load_default="", validate=[validate.Length(max=300), api_single_line])
    description = fields.Str(load_default="", validate=api_multi_line)
    needs = fields.List(fields.Str(validate=api_single_line), load_default=list, metadata={"description": "learning need slugs"})
    steps = fields.List(fields.Nested(StepInSchema), load_default=list)
    publish = fields.Bool(load_default=False)


def _field_error(field: str, message: str) -> NoReturn:
    """422 in flask-smorest's format; nothing half-made (a pathway without its steps) stays.

    An address (slug) another record already uses is a 409, as for events: the request was
    valid, it clashes with what exists (a title alone derives the address)."""
    db.session.rollback()
    status = 409 if field == "slug" else 422
    abort(status, errors={"json": {field: [message]}}, message="Conflict" if status == 409 else "Unprocessable Entity")


def _pathway_or_404(slug: str) -> Pathway:
    pathway = Pathway.by_slug(slug)
    if pathway is None or not (pathway.is_published or token_officer()):
        abort(404, message=f"No pathway “{slug}”.")
    return pathway


def _step_resource(data: dict[str, Any]) -> Resource:
    if data.get("resource_id") is not None:
        resource = db.session.get(Resource, data["resource_id"])
        if resource is None:
            _field_error("steps", f"No resource {data['resource_id']}.")
        return resource
    if data.get("session_id") is not None:
        session = db.session.get(Session, data["session_id"])
        if session is None:
            _field_error("steps", f"No session {data['session_id']}.")
        return service.resource_for_session(session)
    if data.get("event"):
        event = Event.by_slug(data["event"])
        if event is None:
            _field_error("steps", f"No event “{data['event']}”.")
        return service.resource_for_event(event)
    _field_error("steps", "Each step needs resource_id, event or session_id.")


@bp.get("/pathways")
@bp.response(200, PathwaySchema(many=True))
def list_pathways() -> Any:
    stmt = select(Pathway).order_by(Pathway.title)
    if token_officer() is None:
        stmt = stmt.where(Pathway.status == "published")
    return db.session.scalars(stmt).all()


@bp.get("/pathways/<slug>")
@bp.response(200, PathwaySchema)
@bp.alt_response(404, response="NOT_FOUND")
def get_pathway(slug: str) -> Any:
    return _pathway_or_404(slug)


@bp.post("/pathways")
@bp.arguments(PathwayInSchema)
@bp.response(201, PathwaySchema)
@bp.alt_response(401, response="UNAUTHORIZED")
@bp.alt_response(409, response="CONFLICT")
@bp.doc(**OFFICER_DOC)
def create_pathway(data: dict[str, Any]) -> Any:
    needs = []
    for slug in data["needs"]:
        need = LearningNeed.by_slug(slug)
        if need is None:
            _field_error("needs", f"No learning need “{slug}”.")
        needs.append(need)
    try:
        pathway = service.save_pathway(
            None,
            title=data["title"],
            slug=data["slug"],
            summary=data["summary"],
            audience=data["audience"],
            description=data["description"],
            needs=needs,
        )
        for step in data["steps"]:
            service.add_step(pathway, _step_resource(step), why=step["why"], stage=step["stage"])
        if data["publish"]:
            service.publish(pathway)
    except service.PathwayError as exc:
        db.session.rollback()
        _field_error(exc.field, str(exc))
    db.session.commit()
    return pathway


@bp.get("/needs")
@bp.response(200, NeedSchema(many=True))
def list_needs() -> Any:
    return db.session.scalars(select(LearningNeed).order_by(LearningNeed.position)).all()


@bp.post("/needs")
@bp.arguments(NeedInSchema)
@bp.response(201, NeedSchema)
@bp.alt_response(401, response="UNAUTHORIZED")
@bp.alt_response(409, response="CONFLICT")
@bp.doc(**OFFICER_DOC)
def create_need(data: dict[str, Any]) -> Any:
    try:
        need = service.save_need(
            None, title=data["title"], slug=data["slug"], description=data["description"]
        )
    except service.PathwayError as exc:
        db.session.rollback()
        _field_error(exc.field, str(exc))
    db.session.commit()
    return need


@bp.get("/resources")
@bp.response(200, ResourceSchema(many=True))
def list_resources() -> Any:
    return service.public_resources()


@bp.post("/resources")
@bp.arguments(ResourceInSchema)
@bp.response(201, ResourceSchema)
@bp.alt_response(401, response="UNAUTHORIZED")
@bp.doc(**OFFICER_DOC)
def create_resource(data: dict[str, Any]) -> Any:
    try:
        resource = service.save_external(None, **data)
    except service.PathwayError as exc:
        db.session.rollback()
        _field_error(exc.field, str(exc))
    db.session.commit()
    return resource


@bp.post("/pathways/<slug>/steps")
@bp.arguments(StepInSchema)
@bp.response(201, PathwaySchema)
@bp.alt_response(401, response="UNAUTHORIZED")
@bp.alt_response(404, response="NOT_FOUND")
@bp.doc(**OFFICER_DOC)
def add_step(data: dict[str, Any], slug: str) -> Any:
    """Append a step (its stage defaults to the previous step's)."""
    pathway = _pathway_or_404(slug)
    try:
        service.add_step(pathway, _step_resource(data), why=data["why"], stage=data["stage"])
    except service.PathwayError as exc:
        _field_error(exc.field, str(exc))
    db.session.commit()
    return pathway


@bp.post("/pathways/<slug>/publish")
@bp.response(200, PathwaySchema)
@bp.alt_response(401, response="UNAUTHORIZED")
@bp.alt_response(404, response="NOT_FOUND")
@bp.doc(**OFFICER_DOC)
def publish_pathway(slug: str) -> Any:
    pathway = _pathway_or_404(slug)
    try:
        service.publish(pathway)
    except service.PathwayError as exc:
        _field_error(exc.field, str(exc))
    db.session.commit()
    return pathway
