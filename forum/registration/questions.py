"""What officers do to a form's questions and to the library of presets, whatever the door.

The rules live here: a label is needed, a choice question needs two choices, a condition
points to an earlier question that has choices and names some of them, a sensitive question
is never required. An event's form is made on first use; a duplicated event gets a copy of
its original's questions (the `event_duplicated` signal, so `events` never imports us).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from forum.common.signals import event_duplicated
from forum.core.extensions import db
from forum.models import (
    CHOICE_DISPLAYS,
    FORM_QUESTION_KINDS,
    Event,
    FormQuestion,
    QuestionForm,
    QuestionPreset,
)
from forum.models.registration import CHOICE_KINDS, lines

MAX_QUESTIONS = 50
MAX_CHOICES = 100
#: the library an empty site starts with (officers edit it on the presets page)
DEFAULT_PRESETS: tuple[dict[str, Any], ...] = (
    {"kind": "short", "label": "Job title"},
    {"kind": "short", "label": "Employer or institution"},
    {"kind": "short", "label": "Member number", "help": "As printed on your membership card."},
    {
        "kind": "choice",
        "label": "Region",
        "display": "list",
        "choices": "Northeast\nSoutheast\nMidwest\nSouthwest\nWest\nOutside the United States",
    },
    {
        "kind": "choice",
        "label": "Library type",
        "choices": "Academic\nPublic\nSchool\nSpecial\nGovernment\nOther",
    },
    {
        "kind": "long",
        "label": "Accommodation request",
        "help": "Tell us what would help you take part (captions, a sign language interpreter, "
        "materials in advance ...). Only the organisers see this, to arrange it.",
        "sensitive": True,
        "notify": True,
    },
    {
        "kind": "choice",
        "label": "How did you hear about us?",
        "choices": "A colleague\nAn email list\nOur website\nSocial media\nOther",
    },
)


class QuestionError(ValueError):
    """Input an officer can fix; `field` names the form field (or API property)."""

    def __init__(self, message: str, field: str = "label"):
        super().__init__(message)
        self.field = field


# --- forms ------------------------------------------------------------------------------------


def event_form(event: Event, *, create: bool = False) -> QuestionForm | None:
    """The event's registration form; made (empty) on first use when `create`."""
    form = db.session.scalar(select(QuestionForm).where(QuestionForm.event_id == event.id))
    if form is None and create:
        form = QuestionForm(owner="event", event_id=event.id)
        db.session.add(form)
        db.session.flush()
    return form


def new_form(owner: str) -> QuestionForm:
    """A form that belongs to no event (e.g. owner "mentoring-mentee"): the owning area keeps
    its id and calls the same question and answer functions."""
    if not owner or owner == "event" or len(owner) > 40:
        raise QuestionError(_("Name the form's owner (up to 40 characters, not “event”)."), field="owner")
    form = QuestionForm(owner=owner)
    db.session.add(form)
    db.session.flush()
    return form


def get_question(form: QuestionForm | None, question_id: int) -> FormQuestion | None:
    question = db.session.get(FormQuestion, question_id)
    if question is None or form is None or question.form_id != form.id:
        return None
    return question


# --- questions ----------------------------------------------------------------------------------


#: what a question copies from a preset (and a duplicate from its original)
WORDING = ("kind", "label", "help", "choices", "display", "sensitive", "notify")
QUESTION_FIELDS = ("kind", "label", "help", "choices", "display", "sensitive", "notify", "required")


def _text(data: Mapping[str, Any], name: str, limit: int) -> str:
    value = data.get(name)
    text = "" if value is None else str(value).strip()
    if len(text) > limit:
        raise QuestionError(_("Keep this under %(limit)s characters.", limit=limit), field=name)
    return text


def _apply(question: FormQuestion | QuestionPreset, data: Mapping[str, Any]) -> None:
    """Check and set the wording fields shared by questions and presets."""
    kind = str(data.get("kind") or question.kind or "short")
    if kind not in FORM_QUESTION_KINDS:
        raise QuestionError(_("“%(kind)s” is not a kind of question.", kind=kind[:40]), field="kind")
    label = _text(data, "label", 300)
    if not label:
        raise QuestionError(_("Write the question."), field="label")
    help_text = _text(data, "help", 1000)
    choice_text = data.get("choices") or ""
    if isinstance(choice_text, list):
        choice_text = "\n".join(str(c) for c in choice_text)
    choices = list(dict.fromkeys(lines(str(choice_text))))
    if kind in ("choice", "multi"):
        if len(choices) < 2:
            raise QuestionError(_("Give at least two choices, one per line."), field="choices")
        if len(choices) > MAX_CHOICES or any(len(c) > 200 for c in choices):
            raise QuestionError(_("At most %(count)s choices of up to 200 characters.", count=MAX_CHOICES), field="choices")
    else:
        choices = []
    display = str(data.get("display") or "radio")
    if display not in CHOICE_DISPLAYS:
        raise QuestionError(_("Show the choices as radio buttons or a list."), field="display")
    question.kind, question.label, question.help = kind, label, help_text
    question.choices, question.display = "\n".join(choices), display
    question.sensitive = bool(data.get("sensitive"))
    question.notify = bool(data.get("notify"))


def _set_condition(question: FormQuestion, form: QuestionForm, data: Mapping[str, Any]) -> None:
    """`condition_question` (an id or empty) and `condition_values` (list or lines)."""
    raw_id = data.get("condition_question")
    if raw_id in (None, "", 0, "0"):
        question.condition_question_id, question.condition_values = None, ""
        return
    try:
        parent = get_question(form, int(raw_id))
    except (TypeError, ValueError):
        parent = None
    if parent is None or parent.id == question.id:
        raise QuestionError(_("Choose another question on this form."), field="condition_question")
    if parent.kind not in CHOICE_KINDS:
        raise QuestionError(_("A condition can only test a question with choices."), field="condition_question")
    if (parent.position, parent.id) >= (question.position, question.id or 10**12):
        raise QuestionError(
            _("A condition can only test a question asked before this one."), field="condition_question"
        )
    values = data.get("condition_values") or []
    wanted = values if isinstance(values, list) else lines(str(values))
    known = {c.casefold(): c for c in parent.choice_list}
    picked = [known[str(v).strip().casefold()] for v in wanted if str(v).strip().casefold() in known]
    if not picked or len(picked) != len([v for v in wanted if str(v).strip()]):
        raise QuestionError(
            _("Pick one or more answers of “%(label)s”: %(choices)s.", label=parent.label[:60], choices=', '.join(parent.choice_list)),
            field="condition_values",
        )
    question.condition_question_id, question.condition_values = parent.id, "\n".join(picked)


def add_question(form: QuestionForm, data: Mapping[str, Any]) -> FormQuestion:
    if len(form.questions) >= MAX_QUESTIONS:
        raise QuestionError(_("A form has at most %(count)s questions.", count=MAX_QUESTIONS))
    last = db.session.scalar(select(func.max(FormQuestion.position)).where(FormQuestion.form_id == form.id))
    question = FormQuestion(form_id=form.id, position=(last or 0) + 1)
    _apply(question, data)
    question.required = bool(data.get("required")) and not question.sensitive
    preset_id = data.get("preset_id")
    question.preset_id = preset_id if isinstance(preset_id, int) else None
    _set_condition(question, form, data)  # before it joins the session: a refusal leaves nothing
    db.session.add(question)
    db.session.flush()
    db.session.expire(form, ["questions"])
    return question


def update_question(question: FormQuestion, data: Mapping[str, Any]) -> None:
    """Change a question; fields not in `data` keep their values (the API's PATCH)."""
    merged = {name: getattr(question, name) for name in QUESTION_FIELDS}
    merged.update(
        condition_question=question.condition_question_id, condition_values=lines(question.condition_values)
    )
    merged.update(data)
    _apply(question, merged)
    question.required = bool(merged.get("required")) and not question.sensitive
    _set_condition(question, question.form, merged)
    _drop_broken_conditions(question.form)
    db.session.flush()


def _drop_broken_conditions(form: QuestionForm) -> None:
    """A condition whose question lost its choices or the named values goes (never a trap)."""
    for other in form.questions:
        parent = other.condition_question
        if parent is None:
            continue
        values = {v.casefold() for v in lines(other.condition_values)}
        if parent.kind not in CHOICE_KINDS or not values & {c.casefold() for c in parent.choice_list}:
            other.condition_question_id, other.condition_values = None, ""


def delete_question(question: FormQuestion) -> None:
    """Remove a question with its answers; questions that depended on it lose the condition."""
    for other in question.form.questions:
        if other.condition_question_id == question.id:
            other.condition_question_id, other.condition_values = None, ""
    db.session.delete(question)
    db.session.flush()


def move_question(question: FormQuestion, step: int) -> None:
    """Swap with the neighbour above (-1) or below (+1), unless a condition forbids it."""
    ordered = sorted(question.form.questions, key=lambda q: (q.position, q.id))
    index = ordered.index(question)
    other_index = index + (1 if step > 0 else -1)
    if not 0 <= other_index < len(ordered):
        return
    other = ordered[other_index]
    first, second = (question, other) if step > 0 else (other, question)
    if second.condition_question_id == first.id:
        raise QuestionError(_("“%(label)s” depends on the answer above it; it must stay below.", label=second.label[:60]))
    for number, item in enumerate(ordered, start=1):
        item.position = number
    question.position, other.position = other.position, question.position
    db.session.flush()
    db.session.expire(question.form, ["questions"])  # the list is ordered when loaded


# --- presets ------------------------------------------------------------------------------------


def presets() -> list[QuestionPreset]:
    """The library, filled with the defaults the first time anyone looks at it."""
    rows = list(
        db.session.scalars(select(QuestionPreset).order_by(QuestionPreset.position, QuestionPreset.id))
    )
    if rows or db.session.scalar(
        select(func.count(FormQuestion.id)).where(FormQuestion.preset_id.is_not(None))
    ):
        return rows
    for number, values in enumerate(DEFAULT_PRESETS, start=1):
        preset = QuestionPreset(position=number)
        _apply(preset, values)
        db.session.add(preset)
    db.session.flush()
    return list(
        db.session.scalars(select(QuestionPreset).order_by(QuestionPreset.position, QuestionPreset.id))
    )


def save_preset(preset: QuestionPreset | None, data: Mapping[str, Any]) -> QuestionPreset:
    if preset is None:
        last = db.session.scalar(select(func.max(QuestionPreset.position)))
        preset = QuestionPreset(position=(last or 0) + 1)
        db.session.add(preset)
    merged = {name: getattr(preset, name, None) for name in QUESTION_FIELDS if name != "required"}
    merged.update(data)
    _apply(preset, merged)
    db.session.flush()
    return preset


def delete_preset(preset: QuestionPreset) -> None:
    db.session.delete(preset)  # questions made from it keep their copy
    db.session.flush()


def add_from_preset(form: QuestionForm, preset: QuestionPreset, *, required: bool = False) -> FormQuestion:
    data = {name: getattr(preset, name) for name in WORDING}
    return add_question(form, {**data, "required": required, "preset_id": preset.id})


# --- duplication --------------------------------------------------------------------------------


def copy_form(original: QuestionForm, target: QuestionForm) -> None:
    """Copy every question (conditions pointing to the copies) onto an empty form."""
    copies: dict[int, FormQuestion] = {}
    for question in original.questions:
        new = FormQuestion(
            form=target,
            position=question.position,
            required=question.required,
            preset_id=question.preset_id,
            condition_values=question.condition_values,
            **{name: getattr(question, name) for name in WORDING},
        )
        db.session.add(new)
        copies[question.id] = new
    db.session.flush()
    for question in original.questions:
        if question.condition_question_id in copies:
            copies[question.id].condition_question_id = copies[question.condition_question_id].id
    db.session.flush()


@event_duplicated.connect
def _copy_on_duplicate(original: Event, copy: Event, **_: Any) -> None:
    """A duplicated event asks the same questions and keeps the approval setting."""
    copy.needs_approval = original.needs_approval
    form = event_form(original)
    if form is not None and form.questions:
        copy_form(form, event_form(copy, create=True) or QuestionForm())
