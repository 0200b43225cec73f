"""Event evaluations: the officer's questions, one response per registration, the results.

An officer starts from a default set copied from the event's learning outcomes ("How
well did this e-forum meet: <outcome>?") plus an overall rating, a recommend question
and a free-text one, and edits from there. After the last session every registrant gets
one mail with a personal link (a signed token naming their registration; no login). The
evaluation is open from the last session's end for `open_days`; until then a response
can be changed, and saving again edits the one response (unique per registration).
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from forum.common.jobs import JobReport, run_reported
from forum.core import clock, spreadsheet
from forum.core.extensions import db
from forum.core.tokens import make_token, read_token
from forum.core.urls import external_url
from forum.mail.compose import notice
from forum.mail.outbox import enqueue_for
from forum.models import (
    QUESTION_KINDS,
    Evaluation,
    EvaluationAnswer,
    EvaluationQuestion,
    EvaluationResponse,
    Event,
    JobRun,
    Session,
    Subscription,
)

TOKEN_PURPOSE = "evaluation"  # noqa: S105 - a token salt name, not a secret
TOKEN_MAX_AGE = 400 * 86400  # the close date decides; the token only has to outlive it
MAX_TEXT = 5000
RATINGS = (1, 2, 3, 4, 5)
RATING_LABELS = {1: "Not at all", 2: "Slightly", 3: "Moderately", 4: "Very well", 5: "Extremely well"}
#: For a question that asks for a judgement ("how would you rate…"), not "how well…".
QUALITY_LABELS = {1: "Poor", 2: "Fair", 3: "Good", 4: "Very good", 5: "Excellent"}


def rating_labels(question: EvaluationQuestion) -> dict[int, str]:
    """The anchors that answer the question as asked: "Overall, how would you rate this
    webinar?" is answered Poor … Excellent, not "Not at all … Extremely well"."""
    prompt = question.prompt.lower()
    return QUALITY_LABELS if "rate" in prompt.split() or "quality" in prompt else RATING_LABELS


#: Invitations go out within this long after the last session (a scheduler down for a while).
INVITE_WINDOW = timedelta(days=7)


class EvaluationError(ValueError):
    """Answers or questions a person can fix: `errors` maps a field name to its message."""

    def __init__(self, errors: Mapping[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = dict(errors)


# --- definition --------------------------------------------------------------------------


def evaluation_of(event: Event) -> Evaluation | None:
    return db.session.scalar(
        select(Evaluation).where(Evaluation.event_id == event.id).options(selectinload(Evaluation.questions))
    )


def default_questions(event: Event) -> list[EvaluationQuestion]:
    noun = "e-forum" if event.is_eforum else "webinar series"
    outcomes = [line.strip(" -*•\t") for line in event.learning_outcomes.splitlines()]
    questions = [
        EvaluationQuestion(kind="rating", prompt=f"How well did this {noun} meet: {o}?")
        for o in outcomes
        if o
    ]
    questions += [
        EvaluationQuestion(kind="rating", prompt=f"Overall, how would you rate this {noun}?"),
        EvaluationQuestion(
            kind="choice",
            prompt="Would you recommend it to a colleague?",
            choices="Yes\nMaybe\nNo",
        ),
        EvaluationQuestion(kind="text", prompt="What would you like us to change or offer next?"),
    ]
    for position, q in enumerate(questions):
        q.position, q.required = position, False
    return questions


def create(event: Event) -> Evaluation:
    """The event's evaluation with the default questions (or the existing one)."""
    existing = evaluation_of(event)
    if existing is not None:
        return existing
    evaluation = Evaluation(event_id=event.id, intro="", open_days=14)
    evaluation.questions = default_questions(event)
    db.session.add(evaluation)
    db.session.flush()
    return evaluation


def _checked(kind: str, prompt: str, choices: str) -> tuple[str, str]:
    """(prompt, choices) cleaned, or EvaluationError naming each bad field."""
    errors = {}
    prompt = (prompt or "").strip()
    if kind not in QUESTION_KINDS:
        errors["kind"] = _("Choose a kind of question.")
    if not prompt:
        errors["prompt"] = _("Write the question.")
    elif len(prompt) > 500:
        errors["prompt"] = _("Keep the question under 500 characters.")
    options = [c.strip() for c in (choices or "").splitlines() if c.strip()]
    if kind == "choice" and len(options) < 2:
        errors["choices"] = _("Give at least two choices, one per line.")
    if errors:
        raise EvaluationError(errors)
    return prompt, "\n".join(options) if kind == "choice" else ""


def add_question(
    evaluation: Evaluation, kind: str, prompt: str, choices: str = "", required: bool = False
) -> EvaluationQuestion:
    prompt, choices = _checked(kind, prompt, choices)
    position = max((q.position for q in evaluation.questions), default=-1) + 1
    question = EvaluationQuestion(
        kind=kind, prompt=prompt, choices=choices, required=required, position=position
    )
    evaluation.questions.append(question)
    return question


def edit_question(
    question: EvaluationQuestion, prompt: str, choices: str = "", required: bool = False
) -> None:
    """Reword a question (its kind stays: answers already given keep their meaning)."""
    question.prompt, question.choices = _checked(question.kind, prompt, choices)
    question.required = required


def move_question(question: EvaluationQuestion, step: int) -> None:
    """Swap a question with its neighbour above (step -1) or below (+1)."""
    ordered = list(question.evaluation.questions)
    i = ordered.index(question)
    j = i + step
    if not 0 <= j < len(ordered):
        return
    ordered[i], ordered[j] = ordered[j], ordered[i]
    for position, q in enumerate(ordered):
        q.position = position


def set_intro(evaluation: Evaluation, intro: str) -> None:
    intro = (intro or "").strip()
    if len(intro) > 2000:
        raise EvaluationError({"intro": _("Keep the introduction under 2000 characters.")})
    evaluation.intro = intro


def remove_question(question: EvaluationQuestion) -> None:
    """Remove a question (its answers go with it)."""
    db.session.delete(question)


def set_open_days(evaluation: Evaluation, raw: str) -> None:
    try:
        days = int((raw or "").strip())
    except ValueError:
        raise EvaluationError({"open_days": _("Give a number of days, e.g. 14.")}) from None
    if not 1 <= days <= 365:
        raise EvaluationError({"open_days": _("Choose between 1 and 365 days.")})
    evaluation.open_days = days


# --- when it is open ------------------------------------------------------------------------


def opens_at(evaluation: Evaluation) -> datetime | None:
    return evaluation.event.ends_at if evaluation.event else None


def closes_at(evaluation: Evaluation) -> datetime | None:
    start = opens_at(evaluation)
    return start + timedelta(days=evaluation.open_days) if start else None


def is_open(evaluation: Evaluation, at: datetime | None = None) -> bool:
    at = at or clock.now()
    start, end = opens_at(evaluation), closes_at(evaluation)
    return bool(start and end and start <= at < end)


# --- links and responses -------------------------------------------------------------------


def personal_url(subscription: Subscription) -> str:
    return external_url("evaluations.answer", token=make_token(TOKEN_PURPOSE, subscription.id))


def read_personal_token(token: str) -> Subscription | None:
    """The registration a personal link names (TokenError for a cut or changed link)."""
    sub_id = read_token(TOKEN_PURPOSE, token, TOKEN_MAX_AGE)
    return db.session.get(Subscription, sub_id) if isinstance(sub_id, int) else None


def response_of(evaluation: Evaluation, subscription: Subscription) -> EvaluationResponse | None:
    return response_by(evaluation, {"subscription_id": subscription.id})


def has_answered(subscription: Subscription) -> bool:
    stmt = (
        select(EvaluationResponse.id)
        .join(Evaluation)
        .where(
            Evaluation.event_id == subscription.event_id,
            EvaluationResponse.subscription_id == subscription.id,
        )
    )
    return db.session.scalar(stmt) is not None


def _value(question: EvaluationQuestion, raw: str) -> tuple[int | None, str | None, str]:
    """(rating, choice, text) of one raw answer; EvaluationError for an impossible one."""
    key = f"q{question.id}"
    raw = (raw or "").strip()
    if question.kind == "rating":
        if raw and raw not in {str(r) for r in RATINGS}:
            raise EvaluationError({key: _("Choose a rating from 1 to 5.")})
        return (int(raw) if raw else None), None, ""
    if question.kind == "choice":
        if raw and raw not in question.choice_list:
            raise EvaluationError({key: _("Choose one of the options.")})
        return None, (raw or None), ""
    if len(raw) > MAX_TEXT:
        raise EvaluationError({key: _("Keep this under %(limit)s characters.", limit=MAX_TEXT)})
    return None, None, raw


def save_response(
    evaluation: Evaluation, subscription: Subscription, answers: Mapping[str, str], at: datetime | None = None
) -> EvaluationResponse:
    """Create or edit the registration's one response; the caller commits.

    `answers` maps `q<question id>` to the raw value. Unanswered optional questions are
    allowed; every problem is reported at once.
    """
    at = at or clock.now()
    if subscription.event_id != evaluation.event_id:
        raise EvaluationError({"form": _("This link is for another event.")})
    if not is_open(evaluation, at):
        raise EvaluationError({"form": _("This evaluation is closed.")})
    return record_answers(evaluation, {"subscription_id": subscription.id}, answers, at)


def record_answers(
    evaluation: Evaluation, respondent: Mapping[str, int], answers: Mapping[str, str], at: datetime
) -> EvaluationResponse:
    """The respondent's one response, created or edited, once its owner has decided the
    evaluation is open to them (an event's: after the last session; a mentoring cycle's: at
    6 and 12 months). `respondent` names them: `{"subscription_id": id}` or
    `{"mentoring_application_id": id}`."""
    errors: dict[str, str] = {}
    values: dict[int, tuple[int | None, str | None, str]] = {}
    for q in evaluation.questions:
        try:
            values[q.id] = _value(q, answers.get(f"q{q.id}", ""))
        except EvaluationError as exc:
            errors.update(exc.errors)
            continue
        if q.required and values[q.id] == (None, None, ""):
            errors[f"q{q.id}"] = _("Please answer this question.")
    if not errors and all(v == (None, None, "") for v in values.values()):
        errors["form"] = _("Answer at least one question: an empty form is not a response.")
    if errors:
        raise EvaluationError(errors)
    response = response_by(evaluation, respondent)
    if response is None:
        response = EvaluationResponse(evaluation_id=evaluation.id, submitted_at=at, **respondent)
        try:
            with db.session.begin_nested():  # the unique key decides a double submit
                db.session.add(response)
        except IntegrityError:
            response = response_by(evaluation, respondent)
            if response is None:
                raise
    response.submitted_at = at
    by_question = {a.question_id: a for a in response.answers}
    for q in evaluation.questions:
        rating, choice, text = values[q.id]
        answer = by_question.get(q.id)
        if (rating, choice, text) == (None, None, ""):
            if answer is not None:
                response.answers.remove(answer)
            continue
        if answer is None:
            answer = EvaluationAnswer(question_id=q.id)
            response.answers.append(answer)
        answer.rating, answer.choice, answer.text = rating, choice, text
    return response


def form_values(response: EvaluationResponse | None) -> dict[str, str]:
    """A response as the answer form's fields (`q<question id>` -> its value), to show it again."""
    return {
        f"q{a.question_id}": str(a.rating or a.choice or a.text or "") for a in (response.answers if response else [])
    }


def response_by(evaluation: Evaluation, respondent: Mapping[str, int]) -> EvaluationResponse | None:
    return db.session.scalar(select(EvaluationResponse).filter_by(evaluation_id=evaluation.id, **respondent))


# --- results ---------------------------------------------------------------------------------


@dataclass
class QuestionResult:
    question: EvaluationQuestion
    counts: list[tuple[str, int]] = field(default_factory=list)  # label, count (ratings and choices)
    answered: int = 0
    mean: float | None = None
    texts: list[str] = field(default_factory=list)


@dataclass
class Results:
    evaluation: Evaluation
    invited: int
    responses: int
    questions: list[QuestionResult]

    @property
    def rate(self) -> float:
        return self.responses / self.invited if self.invited else 0.0


def invitees(event: Event) -> list[Subscription]:
    """Who is asked: active registrations (people who left are not mailed)."""
    stmt = select(Subscription).where(Subscription.event_id == event.id, Subscription.is_active)
    return list(db.session.scalars(stmt.order_by(Subscription.id)))


def results(evaluation: Evaluation, invited: int = 0) -> Results:
    """Counts, means and texts per question. `invited`: how many were asked, for an evaluation
    another area owns (an event's counts its active registrations itself)."""
    responses = (
        db.session.scalar(
            select(func.count())
            .select_from(EvaluationResponse)
            .where(EvaluationResponse.evaluation_id == evaluation.id)
        )
        or 0
    )
    answers = db.session.scalars(
        select(EvaluationAnswer)
        .join(EvaluationResponse)
        .where(EvaluationResponse.evaluation_id == evaluation.id)
        .order_by(EvaluationAnswer.id)
    ).all()
    by_question: dict[int, list[EvaluationAnswer]] = {}
    for a in answers:
        by_question.setdefault(a.question_id, []).append(a)
    out = []
    for q in evaluation.questions:
        given = by_question.get(q.id, [])
        result = QuestionResult(q, answered=len(given))
        if q.kind == "rating":
            counted = Counter(a.rating for a in given if a.rating)
            labels = rating_labels(q)
            result.counts = [(f"{r} – {labels[r]}", counted[r]) for r in RATINGS]
            rated = [a.rating for a in given if a.rating]
            result.mean = sum(rated) / len(rated) if rated else None
        elif q.kind == "choice":
            chosen = Counter(a.choice for a in given if a.choice)
            result.counts = [(c, chosen[c]) for c in q.choice_list]
            result.counts += [(c, n) for c, n in chosen.items() if c not in q.choice_list]  # renamed options
        else:
            result.texts = [a.text for a in given if a.text]
        out.append(result)
    if evaluation.event is not None:
        invited = len(invitees(evaluation.event))
    return Results(evaluation, max(invited, responses), responses, out)


def export_rows(evaluation: Evaluation) -> Iterator[list[str]]:
    """One row per response (anonymous: no names or addresses), one column per question."""
    questions = evaluation.questions
    yield ["response", "submitted_at"] + [q.prompt for q in questions]
    responses = db.session.scalars(
        select(EvaluationResponse)
        .where(EvaluationResponse.evaluation_id == evaluation.id)
        .options(selectinload(EvaluationResponse.answers))
        .order_by(EvaluationResponse.id)
    )
    for n, r in enumerate(responses, start=1):
        by_q = {a.question_id: a for a in r.answers}
        cells = []
        for q in questions:
            a = by_q.get(q.id)
            cells.append("" if a is None else str(a.rating or a.choice or a.text or ""))
        yield [str(n), r.submitted_at.isoformat()] + cells


def export_csv(evaluation: Evaluation) -> str:
    buffer = io.StringIO()
    spreadsheet.writer(buffer).writerows(export_rows(evaluation))
    return buffer.getvalue()


# --- the invitation after the last session ---------------------------------------------------


def _send_invitations(evaluation: Evaluation) -> tuple[int, str]:
    event = evaluation.event
    if event is None:
        return 0, "not an event's"
    closes = closes_at(evaluation)
    count = 0
    for sub in invitees(event):
        msg = notice(
            sub,
            _l("Evaluation"),
            "evaluation",
            {
                "evaluation": evaluation,
                "evaluation_url": personal_url(sub),
                "closes": closes,
                "questions": len(evaluation.questions),
            },
            detail=_l("how was it?"),
            posting_open=False,
        )
        if enqueue_for(sub, msg, "evaluation", f"evaluation:{evaluation.id}:{sub.id}"):
            count += 1
    return count, ""


def invitation_run(evaluation: Evaluation) -> JobRun | None:
    """When the invitations went out and to how many (None: not yet)."""
    return db.session.scalar(
        select(JobRun).where(
            JobRun.kind == "evaluation",
            JobRun.target == f"evaluation:{evaluation.id}",
            JobRun.period == "invite",
        )
    )


def send_due(at: datetime, report: JobReport, event: Event | None = None) -> None:
    """Scheduler job: after the last session, one invitation per registrant, once per evaluation."""
    stmt = (
        select(Evaluation)
        .join(Event)
        .where(Event.status == "published")
        .where(Evaluation.event_id.in_(select(Session.event_id).where(Session.ends_at <= at)))
    )
    if event is not None:
        stmt = stmt.where(Evaluation.event_id == event.id)
    for evaluation in db.session.scalars(stmt).all():
        if evaluation.event is None:  # the join keeps only events' evaluations
            continue
        ends = evaluation.event.ends_at
        if ends is None or not (ends <= at < ends + INVITE_WINDOW) or not is_open(evaluation, at):
            continue
        if not evaluation.questions:
            continue
        run_reported(
            report,
            f"evaluation {evaluation.event.slug}",
            "evaluation",
            f"evaluation:{evaluation.id}",
            "invite",
            ends,
            partial(_send_invitations, evaluation),
        )
