"""JSON API for mentoring (in the same OpenAPI document): what an officer does on the web.

A programme and its cycles' windows are public (no applicant data); everything else needs
an officer token. Changes go through forum.mentoring, like the officer pages, and
`tests/test_mentoring_api.py` makes the same changes through both doors and compares.
"""

from __future__ import annotations

from typing import Any, NoReturn

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from forum.core.extensions import csrf, db
from forum.core.validation import MAX_DB_INT, api_multi_line, api_single_line
from forum.mentoring import applications, evaluations, matching, outreach, pairs, programmes, reports, stories
from forum.mentoring.programmes import MentoringError
from forum.models import (
    FORM_QUESTION_KINDS,
    MentoringApplication,
    MentoringCycle,
    MentoringMatch,
    MentoringProgramme,
    QuestionPreset,
)
from forum.models.mentoring import APPLICATION_STATUSES, CRITERIA, ROLES
from forum.web.events.api_common import (
    abort,
    answers,
    refusing,
    require_json_body,
    require_officer,
    writes_need_a_token,
)
from forum.web.events.api_schemas import Pattern, StrictBoolean, zone_name

bp = Blueprint("api_mentoring", __name__, url_prefix="/api/v1/mentoring", description="Mentoring programmes")
csrf.exempt(bp)


bp.before_request(writes_need_a_token)
bp.before_request(require_json_body)

WALL = {
    "type": "string",
    "format": "wall-time",
    "description": "local time in the programme's zone, no offset",
}
SLUG = Pattern(r"^[a-z0-9]+(?:-[a-z0-9]+)*$", error="Use lower-case letters, digits and single hyphens.")


def _line(limit: int, required: bool = False) -> fields.Str:
    checks = [validate.Length(min=1 if required else 0, max=limit), api_single_line]
    if required:
        return fields.Str(required=True, validate=checks)
    return fields.Str(load_default="", validate=checks)


class MentoringCycleSchema(Schema):
    id = fields.Int()
    name = fields.Str()
    opens = fields.Method("_opens", metadata=WALL)
    closes = fields.Method("_closes", metadata=WALL)
    opens_at = fields.DateTime(metadata={"description": "the instant"})
    closes_at = fields.DateTime()
    state = fields.Method("_state", metadata={"type": "string", "enum": ["upcoming", "open", "closed"]})

    def _opens(self, cycle: MentoringCycle) -> str:
        return cycle.opens_wall.isoformat(timespec="minutes")

    def _closes(self, cycle: MentoringCycle) -> str:
        return cycle.closes_wall.isoformat(timespec="minutes")

    def _state(self, cycle: MentoringCycle) -> str:
        return programmes.window_state(cycle)


class MentoringProgrammeSchema(Schema):
    slug = fields.Str()
    title = fields.Str()
    description = fields.Str()
    eligibility = fields.Str()
    timezone = zone_name()
    length_months = fields.Int(metadata={"description": "how long a pair meets"})
    checkin_months = fields.Int(metadata={"description": "months between check-ins"})
    cycles = fields.Nested(MentoringCycleSchema, many=True)


class MentoringProgrammeInSchema(Schema):
    title = _line(200, required=True)
    slug = fields.Str(required=True, validate=[validate.Length(min=1, max=80), SLUG])
    description = fields.Str(load_default="", validate=[validate.Length(max=10000), api_multi_line])
    eligibility = fields.Str(load_default="", validate=[validate.Length(max=4000), api_multi_line])
    timezone = _line(64)
    length_months = fields.Int(
        load_default=12, strict=True, validate=validate.Range(min=1, max=programmes.MAX_MONTHS)
    )
    checkin_months = fields.Int(load_default=1, strict=True, validate=validate.Range(min=1, max=6))
    contact_email = _line(320)


class MentoringCycleInSchema(Schema):
    name = _line(120, required=True)
    opens = fields.Str(
        required=True, validate=validate.Length(min=1, max=40), metadata={"format": "wall-time"}
    )
    closes = fields.Str(
        required=True, validate=validate.Length(min=1, max=40), metadata={"format": "wall-time"}
    )


class MentoringApplicationSchema(Schema):
    id = fields.Int()
    role = fields.Str(metadata={"enum": list(ROLES)})
    status = fields.Str(metadata={"enum": list(APPLICATION_STATUSES)})
    name = fields.Str()
    timezone = zone_name()
    stage = fields.Str()
    interests = fields.List(fields.Str(), attribute="interest_list")
    capacity = fields.Int()
    adult = fields.Bool()
    guardian_confirmed = fields.Method("_guardian", metadata={"type": "boolean"})

    def _guardian(self, item: MentoringApplication) -> bool:
        return item.guardian_confirmed_at is not None


class MentoringPairSchema(Schema):
    mentor = fields.Int()
    mentee = fields.Int()
    score = fields.Float()
    reasons = fields.List(fields.Str())


class MentoringUnmatchedSchema(Schema):
    mentee = fields.Int()
    reason = fields.Str()


class MentoringSuggestionsSchema(Schema):
    weights = fields.Dict(keys=fields.Str(), values=fields.Int())
    pairs = fields.Nested(MentoringPairSchema, many=True)
    unmatched = fields.Nested(MentoringUnmatchedSchema, many=True)


class MentoringWeightsInSchema(Schema):
    for _name in CRITERIA:
        locals()[_name] = fields.Int(strict=True, validate=validate.Range(min=0, max=5))
    del _name


class MentoringChosenSchema(Schema):
    mentor = fields.Int(required=True, strict=True, validate=validate.Range(min=1, max=MAX_DB_INT))
    mentee = fields.Int(required=True, strict=True, validate=validate.Range(min=1, max=MAX_DB_INT))


class MentoringMatchesInSchema(Schema):
    matches = fields.List(
        fields.Nested(MentoringChosenSchema), required=True, validate=validate.Length(max=1000)
    )


class MentoringMatchSchema(Schema):
    id = fields.Int()
    mentor = fields.Int(attribute="mentor_id")
    mentee = fields.Int(attribute="mentee_id")
    status = fields.Str()
    score = fields.Float()
    reasons = fields.List(fields.Str())
    manual = fields.Bool()


class MentoringEndInSchema(Schema):
    reason = _line(200)


class MentoringMembersInSchema(Schema):
    members = fields.List(
        fields.Str(validate=[validate.Length(min=1, max=320), api_single_line]),
        required=True,
        validate=validate.Length(max=100000),
    )
    replace = StrictBoolean(load_default=False)


class MentoringMembersSchema(Schema):
    added = fields.Int()
    total = fields.Int()


class MentoringMailInSchema(Schema):
    kind = fields.Str(required=True, validate=validate.OneOf(["call", "news"]))
    subject = _line(200, required=True)
    body = fields.Str(required=True, validate=[validate.Length(min=1, max=20000), api_multi_line])
    send_at = fields.Str(
        load_default=None,
        validate=validate.Length(min=1, max=40),
        metadata={
            "format": "wall-time",
            "description": "a newsletter's time in the programme's zone; none: now",
        },
    )


class MentoringQueuedSchema(Schema):
    queued = fields.Bool(
        metadata={"description": "true: on its way now; false: a newsletter scheduled for later"}
    )


class MentoringOverviewSchema(Schema):
    per_day = fields.Method("_per_day", metadata={"type": "array", "items": {"type": "object"}})
    mentors = fields.Int()
    mentees = fields.Int()
    ratio = fields.Str()
    match_rate = fields.Int()
    pairs = fields.Int()
    checkins = fields.Method("_checkins", metadata={"type": "array", "items": {"type": "object"}})
    active_at = fields.Method("_active", metadata={"type": "object"})
    sections = fields.Method("_sections", metadata={"type": "object", "description": "groups of 5 or more"})

    def _per_day(self, data: reports.Overview) -> list[dict[str, Any]]:
        return [{"day": d.isoformat(), "mentors": m, "mentees": e} for d, m, e in data.per_day]

    def _checkins(self, data: reports.Overview) -> list[dict[str, int]]:
        return [{"number": n, "sent": s, "answered": a, "rate": r} for n, s, a, r in data.checkin_rates]

    def _active(self, data: reports.Overview) -> dict[str, int]:
        return {str(k): v for k, v in data.active_at.items()}

    def _sections(self, data: reports.Overview) -> dict[str, list[dict[str, Any]]]:
        return {k: [{"label": label, "count": c} for label, c in v] for k, v in data.sections.items()}


def _refuse(exc: MentoringError, status: int = 422) -> NoReturn:
    db.session.rollback()
    abort(status, errors={"json": {exc.field: [str(exc)]}}, message=str(exc))


def _conflict(exc: MentoringError) -> NoReturn:
    """A refusal about stored state (the window, a place, a match): 409."""
    _refuse(exc, 409)


def _taken_or_invalid(exc: MentoringError) -> NoReturn:
    """A programme's address already in use is a 409; any other refusal a 422."""
    _refuse(exc, 409 if exc.field == "slug" and "Another" in str(exc) else 422)


def _programme_or_404(slug: str) -> MentoringProgramme:
    item = MentoringProgramme.by_slug(slug)
    if item is None:
        abort(404, message=f"No programme “{slug}”.")
    return item


def _cycle_or_404(cycle_id: int) -> MentoringCycle:
    cycle = db.session.get(MentoringCycle, cycle_id)
    if cycle is None:
        abort(404, message=f"No cycle {cycle_id}.")
    return cycle


@bp.get("/programmes")
@answers(bp, 200, MentoringProgrammeSchema(many=True), errors=(), officer=False)
def list_programmes() -> Any:
    """Programmes and their cycles' windows (public)."""
    return programmes.programmes()


@bp.get("/programmes/<slug>")
@answers(bp, 200, MentoringProgrammeSchema, errors=(404,), officer=False)
def get_programme(slug: str) -> Any:
    return _programme_or_404(slug)


@bp.post("/programmes")
@bp.arguments(MentoringProgrammeInSchema)
@answers(bp, 201, MentoringProgrammeSchema, errors=(401, (409, "The address is taken.")))
def create_programme(data: dict[str, Any]) -> Any:
    with refusing(_taken_or_invalid, MentoringError, commit=True):
        item = programmes.create_programme(data)
    return item


@bp.post("/programmes/<slug>/cycles")
@bp.arguments(MentoringCycleInSchema)
@answers(bp, 201, MentoringCycleSchema)
def create_cycle(data: dict[str, Any], slug: str) -> Any:
    item = _programme_or_404(slug)
    with refusing(_refuse, MentoringError, commit=True):
        cycle = programmes.create_cycle(item, data)
    return cycle


class MentoringQuestionInSchema(Schema):
    kind = fields.Str(load_default="short", validate=validate.OneOf(list(FORM_QUESTION_KINDS)))
    label = fields.Str(load_default="", validate=[validate.Length(max=300), api_single_line])
    help = fields.Str(load_default="", validate=[validate.Length(max=1000), api_multi_line])
    choices = fields.List(
        fields.Str(validate=[validate.Length(min=1, max=200), api_single_line]), load_default=list
    )
    required = StrictBoolean(load_default=False)
    sensitive = StrictBoolean(load_default=False)
    preset_id = fields.Int(strict=True, validate=validate.Range(min=1, max=MAX_DB_INT))


class MentoringQuestionPatchSchema(Schema):
    """A partial change: only the properties sent change (the others keep their values)."""

    kind = fields.Str(validate=validate.OneOf(list(FORM_QUESTION_KINDS)))
    label = fields.Str(validate=[validate.Length(min=1, max=300), api_single_line])
    help = fields.Str(validate=[validate.Length(max=1000), api_multi_line])
    choices = fields.List(fields.Str(validate=[validate.Length(min=1, max=200), api_single_line]))
    required = StrictBoolean()
    sensitive = StrictBoolean()


class MentoringQuestionSchema(Schema):
    id = fields.Int()
    kind = fields.Str(metadata={"enum": list(FORM_QUESTION_KINDS)})
    label = fields.Str()
    choices = fields.List(fields.Str(), attribute="choice_list")
    required = fields.Bool()
    sensitive = fields.Bool()


@bp.post("/programmes/<slug>/questions/<role>")
@bp.arguments(MentoringQuestionInSchema)
@answers(bp, 201, MentoringQuestionSchema)
def add_question(data: dict[str, Any], slug: str, role: str) -> Any:
    """A question on the mentor or mentee application (written, or from a preset)."""
    item = _programme_or_404(slug)
    if role not in ROLES:
        abort(404, message="Add questions to the mentor or the mentee application.")
    if data.get("preset_id") is not None and db.session.get(QuestionPreset, data["preset_id"]) is None:
        abort(404, message=f"No preset {data['preset_id']}.")
    with refusing(_refuse, MentoringError, commit=True):
        question = programmes.add_question(item, role, data)
    return question


@bp.get("/cycles/<int:cycle_id>/applications")
@answers(bp, 200, MentoringApplicationSchema(many=True))
def list_applications(cycle_id: int) -> Any:
    require_officer()
    return sorted(_cycle_or_404(cycle_id).applications, key=lambda a: (a.role, a.status, a.id))


@bp.get("/cycles/<int:cycle_id>/suggestions")
@answers(bp, 200, MentoringSuggestionsSchema)
def suggestions(cycle_id: int) -> Any:
    require_officer()
    return _suggest(_cycle_or_404(cycle_id))


@bp.put("/cycles/<int:cycle_id>/weights")
@bp.arguments(MentoringWeightsInSchema)
@answers(bp, 200, MentoringSuggestionsSchema)
def set_weights(data: dict[str, Any], cycle_id: int) -> Any:
    cycle = _cycle_or_404(cycle_id)
    programmes.set_weights(cycle, {**programmes.weights_of(cycle), **data})
    db.session.commit()
    return _suggest(cycle)


def _suggest(cycle: MentoringCycle) -> dict[str, Any]:
    weights = programmes.weights_of(cycle)
    result = matching.suggest(cycle, weights)
    return {
        "weights": weights,
        "pairs": result.pairs,
        "unmatched": [{"mentee": k, "reason": v} for k, v in result.unmatched.items()],
    }


@bp.post("/cycles/<int:cycle_id>/matches")
@bp.arguments(MentoringMatchesInSchema)
@answers(
    bp,
    201,
    MentoringMatchSchema(many=True),
    errors=(
        401,
        404,
        (409, "The window is open, a mentor has no place left, or a mentee already has a mentor."),
    ),
)
def confirm_matches(data: dict[str, Any], cycle_id: int) -> Any:
    """Confirm pairs (a suggestion, or the officer's own choice): each gets its introduction."""
    cycle = _cycle_or_404(cycle_id)
    suggested = {(p.mentor, p.mentee) for p in matching.suggest(cycle, programmes.weights_of(cycle)).pairs}
    chosen = []
    for pair in data["matches"]:
        for key in ("mentor", "mentee"):
            other = db.session.get(MentoringApplication, pair[key])
            if other is None or other.cycle_id != cycle.id:
                abort(404, message=f"No application {pair[key]} in this cycle.")
        chosen.append((pair["mentor"], pair["mentee"], (pair["mentor"], pair["mentee"]) not in suggested))
    with refusing(_conflict, MentoringError, commit=True):
        made = pairs.confirm_matches(cycle, chosen)
    return made


@bp.post("/matches/<int:match_id>/end")
@bp.arguments(MentoringEndInSchema)
@answers(bp, 200, MentoringMatchSchema)
def end_match(data: dict[str, Any], match_id: int) -> Any:
    match = db.session.get(MentoringMatch, match_id)
    if match is None:
        abort(404, message=f"No match {match_id}.")
    pairs.end_match(match, data["reason"] or "ended by the organisers")
    db.session.commit()
    return match


class MentoringStoryInSchema(Schema):
    note = fields.Str(load_default="", validate=[validate.Length(max=2000), api_multi_line])


class MentoringInvitedSchema(Schema):
    invited = fields.Int(metadata={"description": "how many of the pair were mailed"})


@bp.post("/matches/<int:match_id>/story")
@bp.arguments(MentoringStoryInSchema)
@answers(bp, 202, MentoringInvitedSchema, errors=(401, 404, (409, "The pair ended early.")))
def invite_story(data: dict[str, Any], match_id: int) -> Any:
    """Invite a pair to share their story for the newsletter."""
    match = db.session.get(MentoringMatch, match_id)
    if match is None:
        abort(404, message=f"No match {match_id}.")
    with refusing(_conflict, MentoringError, commit=True):
        invited = stories.invite_story(match, data["note"])
    return {"invited": invited}


@bp.post("/members")
@bp.arguments(MentoringMembersInSchema)
@answers(bp, 200, MentoringMembersSchema, errors=(401,))
def import_members(data: dict[str, Any]) -> Any:
    added = applications.import_members("\n".join(data["members"]), replace=data["replace"])
    db.session.commit()
    return {"added": added, "total": applications.member_count()}


@bp.get("/cycles/<int:cycle_id>/overview")
@answers(bp, 200, MentoringOverviewSchema)
def overview(cycle_id: int) -> Any:
    require_officer()
    return reports.overview(_cycle_or_404(cycle_id))


@bp.post("/cycles/<int:cycle_id>/mail")
@bp.arguments(MentoringMailInSchema)
@answers(bp, 202, MentoringQueuedSchema)
def send_mail(data: dict[str, Any], cycle_id: int) -> Any:
    """A call for mentors (past mentors and the member list) or a newsletter to the cycle's pairs
    (now, or at `send_at`)."""
    cycle = _cycle_or_404(cycle_id)
    with refusing(_refuse, MentoringError, commit=True):
        if data["kind"] == "call":
            queued = outreach.call_for_mentors(cycle, data["subject"], data["body"]) is not None
        else:
            when = programmes.parse_wall(data["send_at"], "send_at") if data["send_at"] else None
            queued = outreach.newsletter(cycle, data["subject"], data["body"], when).status == "sent"
    return {"queued": queued}


class MentoringQuestionResultSchema(Schema):
    prompt = fields.Method("_prompt", metadata={"type": "string"})
    kind = fields.Method("_kind", metadata={"type": "string", "enum": ["rating", "choice", "text"]})
    answered = fields.Int()
    mean = fields.Float(allow_none=True)
    counts = fields.Method("_counts", metadata={"type": "array", "items": {"type": "object"}})
    texts = fields.List(fields.Str())

    def _prompt(self, result: Any) -> str:
        return str(result.question.prompt)

    def _kind(self, result: Any) -> str:
        return str(result.question.kind)

    def _counts(self, result: Any) -> list[dict[str, Any]]:
        return [{"label": label, "count": n} for label, n in result.counts]


class MentoringEvaluationResultsSchema(Schema):
    invited = fields.Int()
    responses = fields.Int()
    questions = fields.Nested(MentoringQuestionResultSchema, many=True)


@bp.get("/cycles/<int:cycle_id>/evaluations/<period>")
@answers(bp, 200, MentoringEvaluationResultsSchema)
def evaluation_results(cycle_id: int, period: str) -> Any:
    """The mid-year (`midyear`) or end-of-year (`final`) evaluation's results, per question."""
    require_officer()
    cycle = _cycle_or_404(cycle_id)
    if period not in evaluations.PERIODS:
        abort(404, message="The evaluations are midyear and final.")
    results = evaluations.results(cycle, period)
    db.session.commit()  # the questionnaire, if this was its first use
    return results


class MentoringStorySchema(Schema):
    match = fields.Int(attribute="match_id")
    application = fields.Int(attribute="application_id")
    name = fields.Method("_name", metadata={"type": "string"})
    text = fields.Str()
    may_publish = fields.Bool()
    submitted_at = fields.DateTime()

    def _name(self, item: Any) -> str:
        return str(item.application.name)


@bp.get("/cycles/<int:cycle_id>/stories")
@answers(bp, 200, MentoringStorySchema(many=True))
def list_stories(cycle_id: int) -> Any:
    """The stories the cycle's pairs sent for the newsletter, newest first, with their consent."""
    require_officer()
    return stories.stories_of(_cycle_or_404(cycle_id))


@bp.post("/programmes/<slug>/questions/<int:question_id>/<action>")
@answers(bp, 204, errors=(401, 404, (409, "A question must stay below the one its condition reads.")))
def change_question(slug: str, question_id: int, action: str) -> Any:
    """Move an application question `up` or `down`, or `delete` it."""
    item = _programme_or_404(slug)
    if action not in programmes.QUESTION_ACTIONS:
        abort(404, message="The actions are up, down and delete.")
    with refusing(_missing_or_conflict, MentoringError, commit=True):
        programmes.change_question(item, question_id, action)
    return None


@bp.patch("/programmes/<slug>/questions/<int:question_id>")
@bp.arguments(MentoringQuestionPatchSchema)
@answers(bp, 200, MentoringQuestionSchema)
def update_question(data: dict[str, Any], slug: str, question_id: int) -> Any:
    """Change an application question in place (its answers stay); only the properties sent
    change. A question that is not the programme's is a 404, a refused value a 422."""
    item = _programme_or_404(slug)
    with refusing(_missing_or_invalid, MentoringError, commit=True):
        question = programmes.update_question(item, question_id, data)
    return question


def _missing_or_invalid(exc: MentoringError) -> NoReturn:
    """A question that is not the programme's is a 404; any other refusal a 422 on its field."""
    _refuse(exc, 404 if exc.field == "question" else 422)


def _missing_or_conflict(exc: MentoringError) -> NoReturn:
    """A question that is not the programme's is a 404; a move a condition forbids a 409."""
    _refuse(exc, 404 if exc.field == "question" else 409)
