"""Answers to a form's questions: checking them (each kind, conditions) and storing them.

Every door (the public registration form, the JSON API, later the mentoring applications)
hands the raw answers to `check_answers`, keyed by question id, as text or, for "several
choices", a list of texts; what comes back is the same whatever the door, so the same
answers through two doors give the same rows. Conditions are evaluated here, the truth:
the browser's show/hide (static/js/questions.js) is only a convenience. A question that is
hidden by its condition is never required, and an answer to it is refused.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import pycountry
from flask_babel import gettext as _
from sqlalchemy import delete, select

from forum.core import clock
from forum.core.extensions import db
from forum.core.validation import control_character_problem
from forum.models import FormAnswer, FormQuestion, QuestionForm, Subscription
from forum.models.registration import lines
from forum.subscriptions.erasure import Erasure, register_erasure_step
from forum.subscriptions.service import SubscriptionError, normalize_email

#: "Prefer not to say": offered with every choice of a sensitive question
PREFER_NOT = "Prefer not to say"
#: the longest answer each text kind takes (characters)
MAX_LENGTHS = {"short": 200, "long": 4000, "email": 320, "number": 40, "date": 10, "country": 80}
#: what a ticked box or a JSON true means for a yes/no or consent question
TRUE_WORDS = {"yes", "y", "true", "on", "1"}
FALSE_WORDS = {"no", "n", "false", "off", "0"}
#: numbers an answer may be (a guard against 1e400 and friends, not a business rule)
NUMBER_LIMIT = Decimal(10) ** 12

Raw = str | Sequence[str] | None


@dataclass
class Checked:
    """What `check_answers` made of the raw answers: stored text per question id, and a
    message per question id the person must fix (empty when all is well)."""

    values: dict[int, str] = field(default_factory=dict)
    errors: dict[int, str] = field(default_factory=dict)
    visible: set[int] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        return not self.errors


def choices_of(question: FormQuestion) -> list[str]:
    """The choices a person may pick, with "Prefer not to say" for a sensitive question."""
    choices = question.choice_list
    if question.sensitive and question.kind in ("choice", "multi") and PREFER_NOT not in choices:
        choices = [*choices, PREFER_NOT]
    return choices


def is_required(question: FormQuestion) -> bool:
    """Sensitive questions are always optional, whatever the officer ticked."""
    return question.required and not question.sensitive


def _blank(raw: Raw) -> bool:
    if raw is None:
        return True
    if isinstance(raw, str):
        return not raw.strip()
    return not any(str(item).strip() for item in raw)


def _one(raw: Raw) -> str:
    """A single answer; a list (two inputs with the same name) keeps its last non-empty item."""
    if raw is None:
        return ""
    if isinstance(raw, str):
        return raw.strip()
    items = [str(item).strip() for item in raw if str(item).strip()]
    return items[-1] if items else ""


def _pick(choices: list[str], text: str) -> str | None:
    """The choice as the officer wrote it, matched without regard to case."""
    for choice in choices:
        if choice.casefold() == text.casefold():
            return choice
    return None


def country_name(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code) if code else None
    return country.name if country is not None else code


def country_choices() -> list[tuple[str, str]]:
    """(ISO 3166 alpha-2 code, name) for every country, by name."""
    return sorted(((c.alpha_2, c.name) for c in pycountry.countries), key=lambda pair: pair[1])


def _country(text: str) -> str:
    try:
        found = pycountry.countries.lookup(text)
    except LookupError:
        raise ValueError(_("Choose a country from the list.")) from None
    return str(found.alpha_2)


def check_value(question: FormQuestion, raw: Raw) -> str:
    """The stored text of one non-blank answer; ValueError with a sentence for the person."""
    kind = question.kind
    if kind == "multi":
        items = [raw] if isinstance(raw, str) else list(raw or [])
        picked: list[str] = []
        if len(items) > 100:
            raise ValueError(_("Pick fewer choices."))
        for item in items:
            text = str(item).strip()
            if not text:
                continue
            choice = _pick(choices_of(question), text)
            if choice is None:
                raise ValueError(_("“%(text)s” is not one of the choices.", text=text[:80]))
            if choice not in picked:
                picked.append(choice)
        return json.dumps(picked, ensure_ascii=False)
    text = _one(raw)
    problem = control_character_problem(text, multiline=kind == "long")
    if problem:
        raise ValueError(problem)
    limit = MAX_LENGTHS.get(kind)
    if limit and len(text) > limit:
        raise ValueError(_("Keep this under %(limit)s characters (it has %(length)s).", limit=limit, length=len(text)))
    if kind == "short":
        return " ".join(text.split())
    if kind == "long":
        return text
    if kind == "choice":
        choice = _pick(choices_of(question), text)
        if choice is None:
            raise ValueError(_("“%(text)s” is not one of the choices.", text=text[:80]))
        return choice
    if kind in ("yesno", "consent"):
        word = text.casefold()
        if word in TRUE_WORDS:
            return "Yes"
        if word in FALSE_WORDS and kind == "yesno":
            return "No"
        if word in FALSE_WORDS:
            return ""
        raise ValueError("Answer yes or no." if kind == "yesno" else "Tick the box or leave it empty.")
    if kind == "number":
        try:
            number = Decimal(text.replace(",", ""))
        except InvalidOperation:
            raise ValueError(_("Enter a number, such as 12 or 3.5.")) from None
        if not number.is_finite() or abs(number) >= NUMBER_LIMIT:
            raise ValueError(_("Enter a number between -999,999,999,999 and 999,999,999,999."))
        return format(number.normalize(), "f") if number == number.to_integral() else str(number)
    if kind == "date":
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise ValueError(_("Enter a date as YYYY-MM-DD, such as 2027-03-02.")) from None
        if not 1900 <= day.year <= 2200:
            raise ValueError(_("Enter a date between 1900 and 2200."))
        return day.isoformat()
    if kind == "country":
        return _country(text)
    if kind == "email":
        try:
            return normalize_email(text)
        except SubscriptionError as exc:
            raise ValueError(str(exc)) from None
    raise ValueError(_("This question cannot be answered."))  # an unknown kind: never stored


def _matches(question: FormQuestion, stored: str | None) -> bool:
    """Whether the answer stored for a condition's question is one the condition names."""
    if not stored:
        return False
    wanted = {value.casefold() for value in lines(question.condition_values)}
    given = json.loads(stored) if stored.startswith("[") else [stored]
    return any(str(item).casefold() in wanted for item in given)


def check_answers(form: QuestionForm | None, raw: Mapping[int, Raw]) -> Checked:
    """Check every question of a form against the raw answers, in the form's order.

    A question is visible when it has no condition, or when its condition's question is
    visible and was answered with one of the condition's values (conditions point to
    earlier questions, so one pass in order settles them all). Hidden questions are never
    required; an answer to one is refused, as is an answer to a question not on the form.
    """
    result = Checked()
    questions = list(form.questions) if form is not None else []
    known = {q.id for q in questions}
    for qid in raw:
        if qid not in known and not _blank(raw[qid]):
            result.errors[qid] = _("There is no such question on this form.")
    for question in questions:
        parent = question.condition_question_id
        if parent is not None and (
            parent not in result.visible or not _matches(question, result.values.get(parent))
        ):
            if not _blank(raw.get(question.id)):
                result.errors[question.id] = (
                    "This question does not apply to your earlier answers: leave it empty."
                )
            continue
        result.visible.add(question.id)
        given = raw.get(question.id)
        try:
            value = "" if _blank(given) else check_value(question, given)
        except ValueError as exc:
            result.errors[question.id] = str(exc)
            continue
        if value in ("", "[]"):
            if is_required(question):
                result.errors[question.id] = (
                    "Tick this box to register."
                    if question.kind == "consent"
                    else "This question needs an answer."
                )
            continue
        result.values[question.id] = value
    return result


def raw_from_json(answers: Mapping[str, Any]) -> dict[int, Raw]:
    """The API's `answers` object (question id -> text, number, boolean or list) as raw
    answers; a key that is no question id is kept as an id of -1 so it is refused."""
    raw: dict[int, Raw] = {}
    for key, value in answers.items():
        qid = int(key) if str(key).isdigit() and len(str(key)) < 12 else -1
        if isinstance(value, bool):
            raw[qid] = "yes" if value else "no"
        elif isinstance(value, int | float) and not (isinstance(value, float) and not math.isfinite(value)):
            raw[qid] = str(value)
        elif isinstance(value, list):
            raw[qid] = [str(item) for item in value if isinstance(item, str | int | float)]
        elif isinstance(value, str) or value is None:
            raw[qid] = value
        else:
            raw[qid] = "\x00"  # an object: refused as a control character by every kind
    return raw


def raw_from_form(form: QuestionForm | None, formdata: Any) -> dict[int, Raw]:
    """A web form's fields (`q<id>`; several values for "several choices") as raw answers."""
    raw: dict[int, Raw] = {}
    for question in form.questions if form is not None else []:
        name = question.field_name
        if question.kind == "multi":
            raw[question.id] = formdata.getlist(name)
        else:
            raw[question.id] = formdata.get(name)
    return raw


def save_answers(
    form: QuestionForm | None, participant_id: int, checked: Checked, *, subscription_id: int | None = None
) -> list[FormAnswer]:
    """Store checked answers: one row per answered question for the person (and, for an
    event, the registration); answers to this form's questions that are now empty or hidden
    are removed. Forms of other owners (a mentoring application) pass no subscription.
    Returns the answers that are new or changed (for notices)."""
    changed: list[FormAnswer] = []
    if form is None:
        return changed
    question_ids = [q.id for q in form.questions]
    existing = {
        a.question_id: a
        for a in db.session.scalars(
            select(FormAnswer).where(
                FormAnswer.participant_id == participant_id, FormAnswer.question_id.in_(question_ids)
            )
        )
    }
    now = clock.now()
    for qid, value in checked.values.items():
        answer = existing.pop(qid, None)
        if answer is None:
            answer = FormAnswer(
                question_id=qid,
                participant_id=participant_id,
                subscription_id=subscription_id,
                value=value,
                answered_at=now,
            )
            db.session.add(answer)
            changed.append(answer)
        elif answer.value != value or answer.subscription_id != subscription_id:
            answer.value, answer.subscription_id, answer.answered_at = value, subscription_id, now
            changed.append(answer)
    if existing:
        db.session.execute(
            delete(FormAnswer).where(FormAnswer.id.in_([a.id for a in existing.values()])),
            execution_options={"synchronize_session": False},
        )
    db.session.flush()
    return changed


def earlier_preset_answers(form: QuestionForm, participant_id: int) -> dict[int, Any]:
    """ "Register once": for the form's questions made from a preset that the person has not
    answered here, what they answered last time to a question from the same preset
    ({question id: answer as given}). Offered on their own answers page only (a signed link):
    a public form must never show a person's answers."""
    wanted: dict[int | None, FormQuestion] = {q.preset_id: q for q in form.questions if q.preset_id is not None}
    if not wanted:
        return {}
    own = {q.id for q in form.questions}
    rows = db.session.execute(
        select(FormQuestion.preset_id, FormAnswer.value, FormQuestion.kind)
        .join(FormQuestion, FormAnswer.question_id == FormQuestion.id)
        .where(
            FormAnswer.participant_id == participant_id,
            FormQuestion.preset_id.in_(list(wanted)),
            FormQuestion.id.not_in(own),
        )
        .order_by(FormAnswer.answered_at)
    )
    offered: dict[int, Any] = {}
    for preset_id, value, kind in rows:  # oldest first: the latest wins
        if preset_id in wanted:  # always (the IN clause); says so to mypy
            offered[wanted[preset_id].id] = json.loads(value) if kind == "multi" else value
    return offered


def answers_by_question(form: QuestionForm, participant_id: int) -> dict[int, str]:
    """{question id: stored text} of one person's answers to a form (any owner)."""
    rows = db.session.execute(
        select(FormAnswer.question_id, FormAnswer.value).where(
            FormAnswer.participant_id == participant_id,
            FormAnswer.question_id.in_([q.id for q in form.questions]),
        )
    )
    return {qid: value for qid, value in rows}


def answers_of(subscription: Subscription) -> list[FormAnswer]:
    """A registration's answers in the form's order (for the officer and the registrant)."""
    return list(
        db.session.scalars(
            select(FormAnswer)
            .join(FormQuestion)
            .where(FormAnswer.subscription_id == subscription.id)
            .order_by(FormQuestion.position, FormQuestion.id)
        )
    )


def shown(answer: FormAnswer) -> str:
    """An answer as a person reads it: choices joined, a country's name."""
    if answer.question.kind == "multi":
        return "; ".join(answer.data)
    if answer.question.kind == "country":
        return country_name(answer.value)
    return answer.value


@register_erasure_step
def _forget_answers(erasure: Erasure) -> None:
    """ "Delete my data": every answer goes, sensitive ones included (they describe the person)."""
    db.session.execute(
        delete(FormAnswer).where(FormAnswer.participant_id == erasure.participant_id),
        execution_options={"synchronize_session": False},
    )
