"""/manage/events/<slug>/audit: the event's audit log as a table, filtered by action and officer;
and GET /api/v1/events/<slug>/audit. The guard checks `audit.view` before either runs."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request
from flask_smorest import Blueprint as ApiBlueprint
from marshmallow import RAISE, Schema, fields, validate

from forum.core.extensions import csrf
from forum.models import Event
from forum.team import audit_log
from forum.web.events.api_common import abort as api_abort
from forum.web.events.api_common import answers

bp = Blueprint("audit", __name__, url_prefix="/manage")
api_bp = ApiBlueprint("audit_api", __name__, url_prefix="/api/v1", description="Audit log")
csrf.exempt(api_bp)


def _event(slug: str) -> Event | None:
    return Event.by_slug(slug)


@bp.route("/events/<slug>/audit")
def index(slug: str) -> str:
    event = _event(slug)
    if event is None:
        abort(404, description=f"There is no event at “{slug}”.")
    action = (request.args.get("action") or "").strip()[:40]
    actor = (request.args.get("who") or "").strip()[:320]
    rows = audit_log.entries(event.id, action=action, actor=actor)
    return render_template(
        "team/audit.html",
        event=event,
        rows=rows,
        actions=audit_log.actions_in(event.id),
        action=action,
        who=actor,
    )


@bp.route("/audit")
def site() -> str:
    """The whole log, every event and the site's own entries (administrators)."""
    action = (request.args.get("action") or "").strip()[:40]
    actor = (request.args.get("who") or "").strip()[:320]
    return render_template(
        "team/audit.html",
        event=None,
        rows=audit_log.entries(None, action=action, actor=actor, everywhere=True),
        actions=audit_log.actions_in(None, everywhere=True),
        action=action,
        who=actor,
    )


class AuditQuerySchema(Schema):
    class Meta:
        unknown = RAISE  # a misspelt filter is a 422, not a silently unfiltered list

    action = fields.String(
        validate=validate.Length(max=40),
        metadata={"description": "a whole action (session.moved) or its kind (session)"},
    )
    who = fields.String(validate=validate.Length(max=320), metadata={"description": "part of the actor"})


class AuditEntrySchema(Schema):
    id = fields.Int()
    at = fields.DateTime()
    actor = fields.Str()
    via = fields.Str()
    address = fields.Str()
    action = fields.Str()
    object_type = fields.Str()
    object_id = fields.Int(allow_none=True)
    summary = fields.Str()
    changes = fields.Dict(keys=fields.Str(), values=fields.Raw())


@api_bp.route("/events/<slug>/audit")
@api_bp.arguments(AuditQuerySchema, location="query", unknown=RAISE)
@answers(api_bp, 200, AuditEntrySchema(many=True), errors=(401, 403, 404))
def api_index(args: dict[str, Any], slug: str) -> Any:
    """The event's audit log, newest first (at most 500 entries): who changed what and when."""
    event = _event(slug)
    if event is None:
        api_abort(404, message=f"No event “{slug}”.")
    return audit_log.entries(event.id, action=args.get("action", ""), actor=args.get("who", ""))
