"""Evaluations on the web: the participant's personal page (signed link, no login) and the
officer's pages to define the questions and read the results (chart per question, table,
free text, CSV, response rate). The rules live in forum.evaluations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice

from forum.ce import evaluations
from forum.core import clock, timezones
from forum.core.extensions import db
from forum.core.validation import CheckedForm
from forum.mail import links
from forum.models import QUESTION_KINDS, EvaluationQuestion, Event
from forum.web.charts import answer_charts
from forum.web.events.manage_common import get_owned, officer_event
from forum.web.forms import ConfirmForm, submitted
from forum.web.helpers import button_post
from forum.web.subscriptions.pages import linked

bp = Blueprint("evaluations", __name__)


class _QuestionFields(CheckedForm):
    """A question's words, the same when it is added and when it is edited: both go to
    ce.evaluations, which checks them the one way."""

    prompt = StringField(_l("Question"))
    choices = TextAreaField(_l("Choices (multiple choice: one per line)"))
    required = BooleanField(_l("An answer is required"))


class QuestionForm(_QuestionFields):
    kind = SelectField(_l("Kind"), choices=[SelectChoice(k, v) for k, v in QUESTION_KINDS.items()])
    add = SubmitField(_l("Add the question"))


class EditForm(_QuestionFields):
    save_question = SubmitField(_l("Save"))


class SettingsForm(CheckedForm):
    intro = TextAreaField(_l("Introduction shown above the questions"))
    open_days = StringField(_l("Days it stays open after the last session"))
    save_days = SubmitField(_l("Save"))


# --- the participant's page -----------------------------------------------------------------


@bp.route("/evaluation/<token>", methods=["GET", "POST"])
def answer(token: str) -> Any:
    sub = linked("evaluation", lambda: evaluations.read_personal_token(token))
    evaluation = evaluations.evaluation_of(sub.event)
    if evaluation is None:
        return render_template("ce/evaluation_none.html", event=sub.event), 404
    response = evaluations.response_of(evaluation, sub)
    values = evaluations.form_values(response)
    form = ConfirmForm()
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        submitted(form)
        values = {k: v for k, v in request.form.items() if k.startswith("q")}
        try:
            evaluations.save_response(evaluation, sub, values)
        except evaluations.EvaluationError as exc:
            db.session.rollback()
            errors, status = exc.errors, 400
        else:
            db.session.commit()
            flash(_("Thank you: your answers are saved. You can change them until the evaluation closes."))
            return redirect(url_for(".answer", token=token), code=303)
    return render_template(
        "ce/evaluation_answer.html",
        event=sub.event,
        evaluation=evaluation,
        values=values,
        errors=errors,
        form=form,
        is_open=evaluations.is_open(evaluation),
        opens=evaluations.opens_at(evaluation),
        closes=evaluations.closes_at(evaluation),
        answered=response is not None,
        rating_labels=evaluations.rating_labels,
        preferences_url=links.preferences_url(sub.participant),
        zone=timezones.reader_zone(sub.participant.timezone, fallback=sub.event.timezone),
        now=clock.now(),
    ), status


# --- the officer's pages --------------------------------------------------------------------


def _question(event: Event, question_id: int) -> EvaluationQuestion:
    return get_owned(
        EvaluationQuestion,
        question_id,
        event,
        "That question is not part of this evaluation.",
        lambda question: question.evaluation.event_id,
    )


def _manage_page(
    event: Event, qform: QuestionForm | None = None, sform: SettingsForm | None = None, status: int = 200
) -> Any:
    evaluation = evaluations.evaluation_of(event)
    settings_form = sform or SettingsForm(
        formdata=None,
        data={
            "open_days": str(evaluation.open_days) if evaluation else "14",
            "intro": evaluation.intro if evaluation else "",
        },
    )
    return render_template(
        "ce/evaluation_manage.html",
        event=event,
        evaluation=evaluation,
        question_form=qform or QuestionForm(formdata=None),
        settings_form=settings_form,
        button=ConfirmForm(formdata=None),
        edit_form=EditForm(formdata=None),
        defaults=evaluations.default_questions(event) if evaluation is None else [],
        closes=evaluations.closes_at(evaluation) if evaluation else None,
        invited=evaluations.invitation_run(evaluation) if evaluation else None,
    ), status


@bp.route("/manage/events/<slug>/evaluation")
def manage(slug: str) -> Any:
    return _manage_page(officer_event(slug))


@bp.route("/manage/events/<slug>/evaluation/create", methods=["POST"])
def create(slug: str) -> Any:
    event = officer_event(slug)
    return button_post(
        lambda: evaluations.create(event),
        _("The evaluation is set up with the default questions; edit them below."),
        url_for(".manage", slug=slug),
    )


@bp.route("/manage/events/<slug>/evaluation/questions", methods=["POST"])
def add_question(slug: str) -> Any:
    event = officer_event(slug)
    evaluation = evaluations.evaluation_of(event) or evaluations.create(event)
    form = QuestionForm()
    if not form.validate_on_submit():
        return _manage_page(event, qform=form, status=400)
    return _saved(
        event,
        lambda: evaluations.add_question(
            evaluation,
            form.kind.data or "",
            form.prompt.data or "",
            form.choices.data or "",
            bool(form.required.data),
        ),
        _("Question added."),
        qform=form,
    )


def _saved(event: Event, change: Callable[[], object], done: str, **page_form: CheckedForm) -> Any:
    """Make `change` (an evaluations call): commit, say `done`, back to the page. Refused,
    its reasons go on the fields of the one form in `page_form` (`qform=` or `sform=`),
    shown on the page again with a 400."""
    try:
        change()
    except evaluations.EvaluationError as exc:
        db.session.rollback()
        (form,) = page_form.values()
        for name, message in exc.errors.items():
            getattr(form, name).errors = [message]
        return _manage_page(event, status=400, **page_form)
    db.session.commit()
    flash(done)
    return redirect(url_for(".manage", slug=event.slug), code=303)


@bp.route("/manage/events/<slug>/evaluation/questions/<int:question_id>/delete", methods=["POST"])
def remove_question(slug: str, question_id: int) -> Any:
    event = officer_event(slug)
    question = _question(event, question_id)
    return button_post(
        lambda: evaluations.remove_question(question),
        _("Question removed, with its answers."),
        url_for(".manage", slug=slug),
    )


@bp.route("/manage/events/<slug>/evaluation/questions/<int:question_id>", methods=["POST"])
def edit_question(slug: str, question_id: int) -> Any:
    event = officer_event(slug)
    question = _question(event, question_id)
    form = EditForm()
    submitted(form)
    try:
        evaluations.edit_question(
            question, form.prompt.data or "", form.choices.data or "", bool(form.required.data)
        )
    except evaluations.EvaluationError as exc:
        db.session.rollback()
        flash(_("Question not saved: %(exc)s", exc=exc), "error")
        return redirect(url_for(".manage", slug=slug) + f"#q-{question_id}", code=303)
    db.session.commit()
    flash(_("Question saved."))
    return redirect(url_for(".manage", slug=slug) + f"#q-{question_id}", code=303)


@bp.route("/manage/events/<slug>/evaluation/questions/<int:question_id>/move", methods=["POST"])
def move_question(slug: str, question_id: int) -> Any:
    event = officer_event(slug)
    question = _question(event, question_id)
    step = -1 if request.form.get("direction") == "up" else 1
    return button_post(
        lambda: evaluations.move_question(question, step), "", url_for(".manage", slug=slug) + f"#q-{question_id}"
    )


@bp.route("/manage/events/<slug>/evaluation/settings", methods=["POST"])
def settings(slug: str) -> Any:
    event = officer_event(slug)
    evaluation = evaluations.evaluation_of(event)
    if evaluation is None:
        abort(404, description=_l("Set up the evaluation first."))
    form = SettingsForm()
    if not form.validate_on_submit():
        return _manage_page(event, sform=form, status=400)

    def change() -> None:
        evaluations.set_open_days(evaluation, form.open_days.data or "")
        evaluations.set_intro(evaluation, form.intro.data or "")

    return _saved(event, change, _("Saved."), sform=form)


@bp.route("/manage/events/<slug>/evaluation/results")
def results(slug: str) -> Any:
    event = officer_event(slug)
    evaluation = evaluations.evaluation_of(event)
    if evaluation is None:
        return redirect(url_for(".manage", slug=slug), code=303)
    res = evaluations.results(evaluation)
    charts = answer_charts(res.questions)
    return render_template("ce/evaluation_results.html", event=event, results=res, charts=charts)


@bp.route("/manage/events/<slug>/evaluation/results.csv")
def results_csv(slug: str) -> Response:
    event = officer_event(slug)
    evaluation = evaluations.evaluation_of(event)
    if evaluation is None:
        abort(404, description=_l("This event has no evaluation."))
    return Response(
        evaluations.export_csv(evaluation),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{event.slug}-evaluation-{clock.now():%Y%m%d}.csv"'
        },
    )
