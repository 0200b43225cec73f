"""Officer pages for an event's registration questions and the library of presets.

Thin: the forms translate input, forum.registration.questions makes every change (the same
functions the JSON API calls), and each POST ends in a redirect or re-renders with errors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from forum.core.extensions import db
from forum.models import Event, FormQuestion, QuestionPreset
from forum.models.registration import CHOICE_KINDS, lines
from forum.registration import answers, approval
from forum.registration import questions as service
from forum.registration.export import tallies
from forum.web.events.manage_common import Page, get_event, officer_blueprint
from forum.web.forms import ConfirmForm
from forum.web.helpers import button_post
from forum.web.registration.forms import (
    ApprovalSettingForm,
    FromPresetForm,
    PresetFieldsForm,
    QuestionEditForm,
)

bp = officer_blueprint("registration", __name__, "/manage")



@bp.app_context_processor
def _question_helpers() -> dict[str, Any]:
    """What `registration/_questions.html` needs on any page that shows a sign-up form."""

    def registration_questions(event: Event) -> list[FormQuestion]:
        form = service.event_form(event) if event is not None and event.id else None
        return list(form.questions) if form is not None else []

    return {
        "registration_questions": registration_questions,
        "question_choices": answers.choices_of,
        "country_choices": answers.country_choices,
    }


def _condition_choices(form: Any, question: FormQuestion | None) -> list[SelectChoice]:
    """Earlier questions with choices: the ones a condition may test."""
    options = [SelectChoice("", "(always show)")]
    for other in form.questions if form is not None else []:
        if question is not None and (other.position, other.id) >= (question.position, question.id):
            continue
        if other.kind in CHOICE_KINDS:
            options.append(
                SelectChoice(str(other.id), f"{other.label[:60]} ({', '.join(other.choice_list)[:60]})")
            )
    return options


def _data(form: PresetFieldsForm) -> dict[str, Any]:
    """A submitted question form as the service's dict (the API sends the same keys)."""
    data: dict[str, Any] = {name: getattr(form, name).data for name in service.WORDING}
    if isinstance(form, QuestionEditForm):
        data["required"] = form.required.data
        data["condition_question"] = form.condition_question.data or None
        data["condition_values"] = lines(form.condition_values.data or "")
    return data


def _field_error(form: PresetFieldsForm, exc: service.QuestionError) -> None:
    field = getattr(form, exc.field, None) or form.label
    field.errors = [*field.errors, str(exc)]


def _saved(form: PresetFieldsForm, change: Callable[[], object], message: str) -> bool:
    """Run the service `change`: committed and flashed, or rolled back with its error on the
    field it names. Every question and preset form saves this way."""
    try:
        change()
    except service.QuestionError as exc:
        db.session.rollback()
        _field_error(form, exc)
        return False
    db.session.commit()
    flash(message)
    return True


def _get_question(event: Event, question_id: int) -> FormQuestion:
    question = service.get_question(service.event_form(event), question_id)
    if question is None:
        abort(404, description=_l("That question is not on this event's form."))
    return question


# --- an event's questions ------------------------------------------------------------------


@bp.route("/events/<slug>/questions", methods=["GET", "POST"])
def questions(slug: str) -> Page:
    event = get_event(slug)
    qform = service.event_form(event)
    form = QuestionEditForm()
    form.condition_question.choices = _condition_choices(qform, None)
    if form.validate_on_submit():
        target = service.event_form(event, create=True)
        assert target is not None  # made just now if it was missing
        if _saved(form, lambda: service.add_question(target, _data(form)), _("Question added.")):
            return redirect(url_for(".questions", slug=slug), code=303)
    return _questions_page(event, form), 400 if form.errors else 200


def _questions_page(event: Event, form: QuestionEditForm) -> str:
    preset_form = FromPresetForm(formdata=None)
    preset_form.preset.choices = [SelectChoice(p.id, p.label) for p in service.presets()]
    db.session.commit()  # the default presets, made on first sight
    qform = service.event_form(event)
    return render_template(
        "registration/questions.html",
        event=event,
        questions=list(qform.questions) if qform else [],
        form=form,
        preset_form=preset_form,
        setting_form=ApprovalSettingForm(formdata=None, needs_approval=event.needs_approval),
        button=ConfirmForm(formdata=None),
        tallies=tallies(event, include_sensitive=True),
    )


@bp.route("/events/<slug>/questions/from-preset", methods=["POST"])
def add_from_preset(slug: str) -> Response:
    event = get_event(slug)
    form = FromPresetForm()
    form.preset.choices = [SelectChoice(p.id, p.label) for p in service.presets()]
    if form.validate_on_submit():
        preset = db.session.get(QuestionPreset, form.preset.data)
        if preset is not None:
            form_row = service.event_form(event, create=True)
            assert form_row is not None
            service.add_from_preset(form_row, preset, required=bool(form.preset_required.data))
            db.session.commit()
            flash(_("Added “%(label)s”.", label=preset.label))
    return redirect(url_for(".questions", slug=slug), code=303)


@bp.route("/events/<slug>/questions/<int:question_id>", methods=["GET", "POST"])
def edit_question(slug: str, question_id: int) -> Page:
    event = get_event(slug)
    question = _get_question(event, question_id)
    form = QuestionEditForm(
        obj=question,
        data=None
        if request.method == "POST"
        else {
            "condition_question": str(question.condition_question_id or ""),
            "condition_values": question.condition_values,
        },
    )
    form.condition_question.choices = _condition_choices(question.form, question)
    if form.validate_on_submit() and _saved(
        form, lambda: service.update_question(question, _data(form)), _("Question saved.")
    ):
        return redirect(url_for(".questions", slug=slug), code=303)
    page = render_template("registration/question_edit.html", event=event, question=question, form=form)
    return page, 400 if form.errors else 200


@bp.route("/events/<slug>/questions/<int:question_id>/<action>", methods=["POST"])
def question_action(slug: str, question_id: int, action: str) -> Response:
    event = get_event(slug)
    question = _get_question(event, question_id)
    if action not in ("up", "down", "delete"):
        abort(404)

    def change() -> None:
        if action == "delete":
            service.delete_question(question)
        else:
            service.move_question(question, -1 if action == "up" else 1)

    return button_post(change, "", url_for(".questions", slug=slug), service.QuestionError)


@bp.route("/events/<slug>/approval-setting", methods=["POST"])
def approval_setting(slug: str) -> Response:
    event = get_event(slug)
    form = ApprovalSettingForm()
    if form.validate_on_submit():
        let_in = approval.set_needs_approval(event, bool(form.needs_approval.data))
        db.session.commit()
        flash(
            _("Registrations now need approval.")
            if event.needs_approval
            else ngettext(
                "Registrations no longer need approval. %(num)d waiting registration was approved.",
                "Registrations no longer need approval. %(num)d waiting registrations were approved.",
                let_in,
            )
            if let_in
            else _("Registrations no longer need approval.")
        )
    return redirect(url_for(".questions", slug=slug), code=303)


# --- the preset library --------------------------------------------------------------------


@bp.route("/presets", methods=["GET", "POST"])
def presets() -> Page:
    form = PresetFieldsForm()
    if form.validate_on_submit() and _saved(
        form, lambda: service.save_preset(None, _data(form)), _("Preset added to the library.")
    ):
        return redirect(url_for(".presets"), code=303)
    rows = service.presets()
    db.session.commit()
    page = render_template(
        "registration/presets.html", presets=rows, form=form, button=ConfirmForm(formdata=None)
    )
    return page, 400 if form.errors else 200


@bp.route("/presets/<int:preset_id>", methods=["GET", "POST"])
def edit_preset(preset_id: int) -> Page:
    preset = db.get_or_404(QuestionPreset, preset_id, description=_l("There is no such preset."))
    form = PresetFieldsForm(obj=preset)
    if form.validate_on_submit() and _saved(
        form, lambda: service.save_preset(preset, _data(form)), _("Preset saved.")
    ):
        return redirect(url_for(".presets"), code=303)
    page = render_template("registration/preset_edit.html", preset=preset, form=form)
    return page, 400 if form.errors else 200


@bp.route("/presets/<int:preset_id>/delete", methods=["POST"])
def delete_preset(preset_id: int) -> Response:
    preset = db.session.get(QuestionPreset, preset_id)
    if preset is not None and ConfirmForm().validate_on_submit():
        service.delete_preset(preset)
        db.session.commit()
        flash(_("Preset removed; questions made from it keep their wording."))
    return redirect(url_for(".presets"), code=303)
