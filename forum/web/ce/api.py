"""JSON API for the continuing-education record (flask-smorest, under /api/v1, officer token only).

Attendance, hours and evaluation results name people, so every route needs an officer API
token (the same `Authorization: Bearer <token>` as forum.web.api); without one: 401.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from forum.ce import attendance, credit, evaluations
from forum.core.extensions import csrf
from forum.models import QUESTION_KINDS, Event
from forum.web.events.api_common import abort, answers, require_json_body, require_officer
from forum.web.events.api_schemas import SubscriberSchema

bp = Blueprint("ce_api", __name__, url_prefix="/api/v1", description="Attendance, CE hours, evaluations")
csrf.exempt(bp)
bp.before_request(require_json_body)


class SessionHoursSchema(Schema):
    """One session's line of the attendance table: its hours and how many it counted."""

    id = fields.Int()
    title = fields.Str(metadata={"description": "the session's title, or the event's when it has none"})
    starts_at = fields.DateTime()
    ends_at = fields.DateTime()
    ce_hours = fields.Float(metadata={"description": "the hours the session counts for"})
    hours_overridden = fields.Bool(metadata={"description": "an officer set the hours (else: its length)"})
    minimum_minutes = fields.Int(metadata={"description": "minutes needed for the session to count"})
    registered = fields.Int(metadata={"description": "people registered before the session ended"})
    attended = fields.Int(metadata={"description": "people who met the session's minimum"})


class SessionCreditSchema(Schema):
    state = fields.Str(metadata={"description": "attended | short | joined (a link click, time not confirmed)"})
    minutes = fields.Int(allow_none=True, metadata={"description": "minutes confirmed by a report or an officer"})
    ce_hours = fields.Float()


class PersonSchema(SubscriberSchema):
    subscription_id = fields.Int()
    sessions = fields.Dict(keys=fields.Str(), values=fields.List(fields.Str()))
    credit = fields.Dict(keys=fields.Str(), values=fields.Nested(SessionCreditSchema))
    ce_hours = fields.Float()
    completed = fields.Bool()


class AttendanceSchema(Schema):
    event = fields.Str()
    rule = fields.Str(metadata={"description": "the completion rule, in words"})
    minimum = fields.Str(metadata={"description": "the minimum attendance per session, in words"})
    credit_rule = fields.Str(metadata={"enum": list(credit.CREDIT_RULES)})
    sessions = fields.List(fields.Nested(SessionHoursSchema))
    people = fields.List(fields.Nested(PersonSchema))


class QuestionResultSchema(Schema):
    id = fields.Int()
    prompt = fields.Str()
    kind = fields.Str(metadata={"enum": list(QUESTION_KINDS)})
    answered = fields.Int()
    counts = fields.Dict(keys=fields.Str(), values=fields.Int())
    mean = fields.Float(allow_none=True)
    texts = fields.List(fields.Str())


class EvaluationResultsSchema(Schema):
    event = fields.Str()
    invited = fields.Int()
    responses = fields.Int()
    response_rate = fields.Float()
    closes_at = fields.DateTime(allow_none=True)
    questions = fields.List(fields.Nested(QuestionResultSchema))


def _event(slug: str) -> Event:
    require_officer()
    event = Event.by_slug(slug)
    if event is None:
        abort(404, message=_("No event “%(slug)s”.", slug=slug))
    return event


@bp.route("/events/<slug>/attendance")
@answers(bp, 200, AttendanceSchema)
def get_attendance(slug: str) -> Any:
    """Attendance per session and per registration, with CE hours and the completion rule."""
    event = _event(slug)
    recs = attendance.records(event)
    counts = attendance.session_counts(event, recs)
    settings = attendance.settings_for(event)
    return {
        "event": event.slug,
        "rule": attendance.rule_text(settings, event),
        "minimum": attendance.minimum_text(settings),
        "credit_rule": settings.credit or "full",
        "sessions": [
            {
                "id": c.session.id,
                "title": c.session.display_title,
                "starts_at": c.session.starts_at,
                "ends_at": c.session.ends_at,
                "ce_hours": c.minutes / 60,
                "hours_overridden": c.session.ce_minutes is not None,
                "minimum_minutes": credit.session_minimum(c.session, settings).for_session(c.session),
                "registered": c.registered,
                "attended": c.attended,
            }
            for c in counts
        ],
        "people": [
            {
                "subscription_id": r.subscription.id,
                "email": r.subscription.participant.email,
                "name": r.subscription.participant.name,
                "status": r.subscription.status,
                "sessions": {str(sid): sorted(m.sources) for sid, m in r.marks.items()},
                "credit": {
                    str(sid): {"state": m.state, "minutes": m.confirmed, "ce_hours": m.credit / 60}
                    for sid, m in r.marks.items()
                },
                "ce_hours": r.minutes / 60,
                "completed": r.completed,
            }
            for r in recs
        ],
    }


@bp.route("/events/<slug>/evaluation/results")
@answers(bp, 200, EvaluationResultsSchema)
def get_evaluation_results(slug: str) -> Any:
    """Counts per rating or choice, free-text answers, and the response rate."""
    event = _event(slug)
    evaluation = evaluations.evaluation_of(event)
    if evaluation is None:
        abort(404, message=_("Event “%(slug)s” has no evaluation.", slug=slug))
    res = evaluations.results(evaluation)
    return {
        "event": event.slug,
        "invited": res.invited,
        "responses": res.responses,
        "response_rate": round(res.rate, 4),
        "closes_at": evaluations.closes_at(evaluation),
        "questions": [
            {
                "id": q.question.id,
                "prompt": q.question.prompt,
                "kind": q.question.kind,
                "answered": q.answered,
                "counts": dict(q.counts),
                "mean": q.mean,
                "texts": q.texts,
            }
            for q in res.questions
        ],
    }
