"""/manage/events/<slug>/audit: the event's audit log as a table, filtered by action and officer;
and GET /api/v1/events/<slug>/audit. The guard checks `audit.view` before either runs."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import Blueprint, abort, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint as ApiBlueprint
from marshmallow import RAISE, Schema, fields, validate

from forum.core import clock, timezones
from forum.core.extensions import csrf
from forum.models import Event
from forum.team import audit_log
from forum.web.charts import count_bars
from forum.web.events.api_common import abort as api_abort
from forum.web.events.api_common import answers

bp = Blueprint("audit", __name__, url_prefix="/manage")
api_bp = ApiBlueprint("audit_api", __name__, url_prefix="/api/v1", description=_l("Audit log"))
csrf.exempt(api_bp)


def _event(slug: str) -> Event | None:
    return Event.by_slug(slug)


def _day(name: str) -> date | None:
    """A YYYY-MM-DD filter (what a date input sends); anything else is no filter, said so."""
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw[:10])
    except ValueError:
        return None


def _page(event: Event | None) -> tuple[str, int]:
    """The table (newest first, filtered by action, who and dates) and the activity chart above it."""
    zone = event.timezone if event else "UTC"
    action = (request.args.get("action") or "").strip()[:40]
    actor = (request.args.get("who") or "").strip()[:320]
    first, last = _day("from"), _day("to")
    bad = bool(request.args.get("from") and first is None) or bool(request.args.get("to") and last is None)
    if first and last and first > last:
        first, last, bad = None, None, True
    wanted = audit_log.AuditFilter(
        event.id if event else None,
        action=action,
        actor=actor,
        since=audit_log.day_start(first, zone) if first else None,
        until=audit_log.day_start(last + timedelta(days=1), zone) if last else None,
        everywhere=event is None,
    )
    rows = audit_log.entries(wanted)
    chart_last = last or timezones.to_zone(clock.now(), zone).date()
    chart_first = first or chart_last - timedelta(days=audit_log.DEFAULT_DAYS - 1)
    days = audit_log.daily_counts(wanted, first=chart_first, last=chart_last, zone=zone)
    chart = count_bars([(day.strftime("%m-%d"), n) for day, n in days])
    return render_template(
        "team/audit.html",
        event=event,
        rows=rows,
        actions=audit_log.actions_in(event.id if event else None, everywhere=event is None),
        action=action,
        who=actor,
        since=first.isoformat() if first else "",
        until=last.isoformat() if last else "",
        chart=chart,
        chart_days=days,
        bad_dates=bad,
    ), 400 if bad else 200


@bp.route("/events/<slug>/audit")
def index(slug: str) -> tuple[str, int]:
    event = _event(slug)
    if event is None:
        abort(404, description=_("There is no event at “%(slug)s”.", slug=slug))
    return _page(event)


@bp.route("/audit")
def site() -> tuple[str, int]:
    """The whole log, every event and the site's own entries (administrators)."""
    return _page(None)


class AuditQuerySchema(Schema):
    class Meta:
        unknown = RAISE  # a misspelt filter is a 422, not a silently unfiltered list

    action = fields.String(
        validate=validate.Length(max=40),
        metadata={"description": "a whole action (session.moved) or its kind (session)"},
    )
    who = fields.String(validate=validate.Length(max=320), metadata={"description": "part of the actor"})
    since = fields.Date(metadata={"description": "entries on or after this day (the event's zone)"})
    until = fields.Date(metadata={"description": "entries on or before this day (the event's zone)"})


class AuditEntrySchema(Schema):
    id = fields.Int()
    at = fields.DateTime()
    actor = fields.Str(metadata={"description": "the officer's email (and token), or web/system"})
    via = fields.Str(
        metadata={"description": "web (a signed-in page), api (a token) or system (CLI, scheduler)"}
    )
    address = fields.Str(metadata={"description": "the client's IP address; empty outside a request"})
    action = fields.Str()
    object_type = fields.Str(metadata={"description": "the kind of row changed (event, session, role, ...)"})
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
        api_abort(404, message=_("No event “%(slug)s”.", slug=slug))
    since, until = args.get("since"), args.get("until")
    return audit_log.entries(
        audit_log.AuditFilter(
            event.id,
            action=args.get("action", ""),
            actor=args.get("who", ""),
            since=audit_log.day_start(since, event.timezone) if since else None,
            until=audit_log.day_start(until + timedelta(days=1), event.timezone) if until else None,
        )
    )
