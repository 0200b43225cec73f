"""JSON API for registration questions, registrants' answers and approval decisions.

Questions of a public event are public (the sign-up form shows them); editing them, reading
answers and deciding approvals need an officer token. Every change goes through
forum.registration, like the officer pages. Sensitive answers come only with
`include_sensitive=true`.
"""

from __future__ import annotations

from typing import Any, NoReturn

from flask import Response, jsonify, request
from flask_babel import gettext as _
from flask_smorest import Blueprint
from marshmallow import RAISE, Schema, fields, validate
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from forum.core.extensions import csrf, db
from forum.core.validation import api_multi_line, api_single_line
from forum.models import CHOICE_DISPLAYS, FORM_QUESTION_KINDS, Event, FormQuestion, Subscription
from forum.models.participants import SUBSCRIPTION_STATUSES
from forum.models.registration import lines
from forum.registration import approval
from forum.registration import questions as service
from forum.registration.export import answers_by_subscription, export_questions
from forum.web.events.api_common import abort, answers, refusing, require_officer, token_officer
from forum.web.events.api_schemas import StrictBoolean, SubscriberSchema, string_list, text_line

bp = Blueprint(
    "api_registration",
    __name__,
    url_prefix="/api/v1",
    description="Registration questions, answers, approval",
)
csrf.exempt(bp)


@bp.before_request
def _writes_need_a_token() -> None:
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        require_officer()


class QuestionSchema(Schema):
    id = fields.Int()
    position = fields.Int()
    kind = fields.Str(metadata={"enum": list(FORM_QUESTION_KINDS)})
    label = fields.Str()
    help = fields.Str()
    choices = fields.List(fields.Str(), attribute="choice_list")
    display = fields.Str(metadata={"enum": list(CHOICE_DISPLAYS)})
    required = fields.Bool()
    sensitive = fields.Bool()
    notify = fields.Bool(metadata={"description": "each answer is mailed to the event's contact"})
    condition_question = fields.Int(attribute="condition_question_id", allow_none=True)
    condition_values = string_list("_values")

    def _values(self, question: FormQuestion) -> list[str]:
        return lines(question.condition_values)


class QuestionPatchSchema(Schema):
    kind = fields.Str(validate=validate.OneOf(list(FORM_QUESTION_KINDS)))
    label = fields.Str(validate=[validate.Length(min=1, max=300), text_line])
    help = fields.Str(validate=[validate.Length(max=1000), api_multi_line])
    choices = fields.List(
        fields.Str(validate=[validate.Length(max=200), api_single_line]), validate=validate.Length(max=100)
    )
    display = fields.Str(validate=validate.OneOf(list(CHOICE_DISPLAYS)))
    required = StrictBoolean()
    sensitive = StrictBoolean()
    notify = StrictBoolean()
    condition_question = fields.Int(allow_none=True, validate=validate.Range(min=0, max=2**31 - 1))
    condition_values = fields.List(
        fields.Str(validate=[validate.Length(max=200), api_single_line]), validate=validate.Length(max=100)
    )


class QuestionInSchema(QuestionPatchSchema):
    label = fields.Str(required=True, validate=[validate.Length(min=1, max=300), text_line])


class RegistrationsQuerySchema(Schema):
    class Meta:
        unknown = RAISE  # a misspelt filter is a 422, not a silently unfiltered list

    include_sensitive = fields.Boolean(
        load_default=False,
        truthy={"true", "1"},
        falsy={"false", "0"},
        metadata={"description": "also answers to sensitive questions (demographics, health, access needs)"},
    )
    status = fields.Str(validate=validate.OneOf(list(SUBSCRIPTION_STATUSES)))
    offset = fields.Int(load_default=0, validate=validate.Range(min=0, max=10**9))
    limit = fields.Int(load_default=200, validate=validate.Range(min=1, max=1000))


class CountsSchema(Schema):
    awaiting = fields.Int()
    approved = fields.Int()
    declined = fields.Int()
    pending = fields.Int()


class RegistrationSchema(SubscriberSchema):
    id = fields.Int()
    answers = fields.Dict(keys=fields.Str(), values=fields.Str())


class RegistrationsSchema(Schema):
    counts = fields.Nested(CountsSchema)
    total = fields.Int()
    registrations = fields.List(fields.Nested(RegistrationSchema))


class DecisionInSchema(Schema):
    decision = fields.Str(required=True, validate=validate.OneOf(["approve", "decline"]))
    ids = fields.List(
        fields.Int(validate=validate.Range(min=1, max=2**31 - 1)),
        required=True,
        validate=validate.Length(min=1, max=1000),
    )
    message = fields.Str(
        load_default="", validate=[validate.Length(max=approval.MAX_MESSAGE), api_multi_line]
    )


class DecisionSchema(Schema):
    decided = fields.List(fields.Int())
    counts = fields.Nested(CountsSchema)


def _event(slug: str) -> Event:
    event = Event.by_slug(slug)
    if event is None or (token_officer() is None and not event.is_public):
        abort(404, message=_("No event “%(slug)s”.", slug=slug))
    return event


def _question(event: Event, question_id: int) -> FormQuestion:
    question = service.get_question(service.event_form(event), question_id)
    if question is None:
        abort(404, message=_("Event “%(slug)s” has no question %(question)s.", slug=event.slug, question=question_id))
    return question


def _refused(exc: service.QuestionError) -> NoReturn:
    db.session.rollback()
    abort(422, errors={"json": {exc.field: [str(exc)]}})


@bp.get("/events/<slug>/questions")
@answers(bp, 200, QuestionSchema(many=True), errors=(404,), officer=False)
def list_questions(slug: str) -> Any:
    """The event's registration questions in order (what the sign-up form asks)."""
    form = service.event_form(_event(slug))
    return list(form.questions) if form is not None else []


@bp.post("/events/<slug>/questions")
@bp.arguments(QuestionInSchema)
@answers(bp, 201, QuestionSchema, errors=(404,))
def create_question(data: dict[str, Any], slug: str) -> Any:
    form = service.event_form(_event(slug), create=True)
    assert form is not None  # made just now if missing
    with refusing(_refused, service.QuestionError, commit=True):
        question = service.add_question(form, data)
    return question


@bp.patch("/events/<slug>/questions/<int:question_id>")
@bp.arguments(QuestionPatchSchema)
@answers(bp, 200, QuestionSchema, errors=(404,))
def update_question(data: dict[str, Any], slug: str, question_id: int) -> Any:
    question = _question(_event(slug), question_id)
    with refusing(_refused, service.QuestionError, commit=True):
        service.update_question(question, data)
    return question


@bp.delete("/events/<slug>/questions/<int:question_id>")
@answers(bp, 204, errors=(404,))
def delete_question(slug: str, question_id: int) -> None:
    service.delete_question(_question(_event(slug), question_id))
    db.session.commit()


@bp.get("/events/<slug>/registrations")
@bp.arguments(RegistrationsQuerySchema, location="query", unknown=RAISE)
@answers(bp, 200, RegistrationsSchema, errors=(404,))
def list_registrations(query: dict[str, Any], slug: str) -> Any:
    """Registrations with their answers (question id -> text) and counts by state."""
    require_officer()
    event = _event(slug)
    where = [Subscription.event_id == event.id]
    if query.get("status"):
        where.append(Subscription.status == query["status"])
    subs = list(
        db.session.scalars(
            select(Subscription)
            .where(*where)
            .options(selectinload(Subscription.participant))
            .order_by(Subscription.id)
            .offset(query["offset"])
            .limit(query["limit"])
        )
    )
    questions = export_questions(event, include_sensitive=query["include_sensitive"])
    found = answers_by_subscription([s.id for s in subs], questions)
    total = db.session.scalar(select(db.func.count(Subscription.id)).where(*where)) or 0
    return {
        "counts": approval.counts(event),
        "total": total,
        "registrations": [
            {
                "id": s.id,
                "email": s.participant.email,
                "name": s.participant.name,
                "status": s.status,
                "answers": {str(qid): text for qid, text in found.get(s.id, {}).items()},
            }
            for s in subs
        ],
    }


@bp.post("/events/<slug>/registrations/decisions")
@bp.arguments(DecisionInSchema)
@answers(bp, 200, DecisionSchema, errors=(404,))
def decide(data: dict[str, Any], slug: str) -> Response:
    """Approve or decline registrations waiting for approval (others are left as they are)."""
    event = _event(slug)
    wanted = set(data["ids"])
    chosen = [s for s in approval.awaiting(event) if s.id in wanted]
    act = approval.approve if data["decision"] == "approve" else approval.decline
    done = act(chosen, data["message"])
    db.session.commit()
    return jsonify(decided=[s.id for s in done], counts=approval.counts(event))
