"""Public and signed-link mentoring pages: the programme, applying, confirming, a guardian's
permission, the applicant's own page (edit, withdraw), the monthly check-in, "tell me".

No accounts: after the public forms, every page is reached through a signed link; GET only
shows a button, POST acts, so mail scanners that fetch links change nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from forum.ce import evaluations as ce_evaluations
from forum.core import i18n, timezones
from forum.core.extensions import db, limiter
from forum.core.tokens import TokenError
from forum.mentoring import applications, evaluations, outreach, pairs, programmes, stories
from forum.mentoring.applications import AnswerErrors
from forum.mentoring.programmes import MentoringError
from forum.models import MentoringApplication, MentoringProgramme, QuestionForm
from forum.models.mentoring import CHECKIN_ANSWERS, ROLES
from forum.registration import answers
from forum.web.forms import ConfirmForm
from forum.web.helpers import commit_or_show
from forum.web.mentoring.forms import ApplicationForm, CheckInForm, EditForm, StoryForm, WatchForm

bp = Blueprint("mentoring", __name__, url_prefix="/mentoring")
T = TypeVar("T")


def _rate() -> str:
    return str(current_app.config["SUBSCRIBE_RATE_LIMIT"])


def _programme(slug: str) -> MentoringProgramme:
    item = db.session.scalar(
        db.select(MentoringProgramme)
        .where(MentoringProgramme.slug == slug)
        .options(selectinload(MentoringProgramme.cycles))
    )
    if item is None:
        abort(404, description=_("There is no mentoring programme at this address."))
    return item


def reader_zone(programme: MentoringProgramme) -> str:
    return timezones.reader_zone(
        request.args.get("tz"), request.cookies.get("tz"), fallback=programme.timezone
    )


@bp.route("/<slug>")
def programme(slug: str) -> Any:
    item = _programme(slug)
    cycle = programmes.current_cycle(item)
    zone = reader_zone(item)
    state = programmes.window_state(cycle) if cycle else "none"
    until = None
    if cycle is not None and state != "closed":
        until = cycle.closes_at if state == "open" else cycle.opens_at
    return render_template(
        "mentoring/programme.html",
        programme=item,
        cycle=cycle,
        state=state,
        window=programmes.window_text(cycle, zone) if cycle else None,
        countdown=programmes.countdown(until) if until else "",
        until=until,
        zone=zone,
        watch_form=WatchForm(formdata=None),
    )


@bp.route("/<slug>/worksheet")
def worksheet(slug: str) -> Any:
    return render_template("mentoring/worksheet.html", programme=_programme(slug))


@bp.route("/<slug>/watch", methods=["POST"])
@limiter.limit(_rate)
def watch(slug: str) -> Any:
    item = _programme(slug)
    form = WatchForm()
    if form.validate_on_submit():
        try:
            outreach.watch(item, form.email.data or "", i18n.browser_locale())
        except MentoringError as exc:
            db.session.rollback()
            form.email.errors = [str(exc)]
        else:
            db.session.commit()
            return render_template("mentoring/check_inbox.html", programme=item, watching=True)
    return render_template("mentoring/watch.html", programme=item, form=form), 400


def _answer_context(
    item: MentoringProgramme, role: str, raw: dict[int, Any], errors: dict[int, str]
) -> dict[str, Any]:
    form = db.session.get(QuestionForm, item.form_id(role)) if item.form_id(role) else None
    return {
        "question_list": list(form.questions) if form else [],
        "answer_values": raw,
        "answer_errors": errors,
    }


def _show_error(form: Any, exc: MentoringError) -> None:
    field = getattr(form, exc.field, None) or getattr(form, "email", None) or form.name
    field.errors = [*field.errors, str(exc)] if isinstance(field.errors, list) else [str(exc)]


def _applicant_change(form: Any, change: Callable[[], T]) -> tuple[T | None, dict[int, str]]:
    """Apply or edit, committed: (what it gave, {}), or (None, the questions' errors) with a
    field's refusal shown next to the field, nothing kept."""
    try:
        value = change()
    except AnswerErrors as exc:
        db.session.rollback()
        return None, exc.errors
    except MentoringError as exc:
        db.session.rollback()
        _show_error(form, exc)
        return None, {}
    db.session.commit()
    return value, {}


@bp.route("/<slug>/apply/<role>", methods=["GET", "POST"])
@limiter.limit(_rate, methods=["POST"])
def apply(slug: str, role: str) -> Any:
    item = _programme(slug)
    if role not in ROLES:
        abort(404)
    cycle = programmes.current_cycle(item)
    form = ApplicationForm()
    qform = db.session.get(QuestionForm, item.form_id(role)) if item.form_id(role) else None
    raw = answers.raw_from_form(qform, request.form) if request.method == "POST" else {}
    errors: dict[int, str] = {}
    if cycle is None or not programmes.is_open(cycle):
        return render_template(
            "mentoring/closed.html",
            programme=item,
            cycle=cycle,
            opens=outreach.next_opening_text(item, reader_zone(item)),
            watch_form=WatchForm(formdata=None),
        )
    if form.validate_on_submit():
        data = {
            name: form[name].data for name in form._fields if name not in ("csrf_token", "submit", "email")
        }
        email = form.email.data or ""
        done, errors = _applicant_change(
            form, lambda: applications.apply(cycle, role, email, data, raw, language=i18n.browser_locale())
        )
        if done is not None:
            return render_template(
                "mentoring/check_inbox.html", programme=item, application=done.application, watching=False
            )
    status = 400 if request.method == "POST" else 200
    return (
        render_template(
            "mentoring/apply.html",
            programme=item,
            cycle=cycle,
            role=role,
            form=form,
            window=programmes.window_text(cycle, reader_zone(item)),
            **_answer_context(item, role, raw, errors),
        ),
        status,
    )


def _linked(read: Callable[[], T | None], person: Callable[[T], MentoringApplication]) -> T:
    """What a signed link names (an expired one is a 410, a cut or stale one a 404), with the
    rest of the request in the language of the person it belongs to, as their mail was."""
    try:
        found = read()
    except TokenError as exc:
        abort(410 if exc.expired else 404, description=str(exc))
    if found is None:
        abort(404, description=_("This link no longer leads anywhere: what it named was removed."))
    i18n.use_locale(person(found).participant.language)
    return found


def _by_token(purpose: str, token: str) -> MentoringApplication:
    return _linked(lambda: applications.read_token_of(purpose, token), lambda item: item)


def _one_button(
    purpose: str,
    token: str,
    change: Callable[[MentoringApplication], object],
    then: Callable[[MentoringApplication], Any],
    *,
    guardian: bool,
) -> Any:
    """A signed link's page (the applicant's confirmation, the guardian's consent): GET shows
    mentoring/confirm.html's one button, so a mail scanner that follows links changes nothing;
    its POST makes `change`, commits and answers `then`."""
    item = _by_token(purpose, token)
    form = ConfirmForm()
    if form.validate_on_submit():
        change(item)
        db.session.commit()
        return then(item)
    return render_template("mentoring/confirm.html", application=item, form=form, guardian=guardian)


@bp.route("/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str) -> Any:
    def to_manage(item: MentoringApplication) -> Any:
        return redirect(urlsplit(applications.manage_url(item)).path)

    return _one_button("mentoring-confirm", token, applications.confirm, to_manage, guardian=False)


@bp.route("/guardian/<token>", methods=["GET", "POST"])
def guardian(token: str) -> Any:
    def done(item: MentoringApplication) -> str:
        return render_template("mentoring/guardian_done.html", application=item)

    return _one_button("mentoring-guardian", token, applications.guardian_confirm, done, guardian=True)


def _application(token: str) -> MentoringApplication:
    return _linked(lambda: applications.read_manage_token(token), lambda item: item)


@bp.route("/application/<token>", methods=["GET", "POST"])
def application(token: str) -> Any:
    item = _application(token)
    programme_row = item.cycle.programme
    form = EditForm(obj=None if request.method == "POST" else item)
    if request.method == "GET":
        form.availability.data = item.availability_list
        form.prefer_same.data = item.prefer_list
        form.interests.data = ", ".join(item.interest_list)
    qform = (
        db.session.get(QuestionForm, programme_row.form_id(item.role))
        if programme_row.form_id(item.role)
        else None
    )
    if request.method == "POST":
        raw: dict[int, Any] = answers.raw_from_form(qform, request.form)
    else:
        raw = answers.answers_by_question(qform, item.participant_id) if qform else {}
    errors: dict[int, str] = {}
    if request.form.get("action") == "withdraw" and ConfirmForm().validate_on_submit():
        applications.withdraw(item)
        db.session.commit()
        flash(_("Your application is withdrawn."))
        return redirect(request.url)
    if request.form.get("action") != "withdraw" and form.validate_on_submit():
        data = {name: form[name].data for name in form._fields if name not in ("csrf_token", "submit")}
        edited, errors = _applicant_change(form, lambda: applications.edit(item, data, raw))
        if edited:
            flash(_("Your changes are saved."))
            return redirect(request.url)
    return render_template(
        "mentoring/application.html",
        application=item,
        programme=programme_row,
        form=form,
        button=ConfirmForm(formdata=None),
        editable=item.status != "withdrawn" and programmes.is_open(item.cycle),
        match=pairs.current_match(item),
        **_answer_context(programme_row, item.role, raw, errors),
    ), (400 if request.method == "POST" else 200)


@bp.route("/check-in/<token>", methods=["GET", "POST"])
def checkin(token: str) -> Any:
    item = _linked(lambda: pairs.read_checkin_token(token), lambda checkin: checkin.application)
    form = CheckInForm()
    form.answer.choices = [SelectChoice(a, pairs.answer_label(a)) for a in CHECKIN_ANSWERS]
    if request.method == "GET":
        wanted = request.args.get("answer")
        form.answer.data = wanted if wanted in CHECKIN_ANSWERS else item.answer
        form.note.data = item.note
    if form.validate_on_submit():
        try:
            pairs.record_answer(item, form.answer.data or "", form.note.data or "")
        except MentoringError as exc:
            db.session.rollback()
            _show_error(form, exc)
        else:
            db.session.commit()
            return render_template("mentoring/checkin_done.html", checkin=item)
    return render_template("mentoring/checkin.html", checkin=item, form=form)


@bp.route("/evaluation/<token>", methods=["GET", "POST"])
def evaluation(token: str) -> Any:
    """A pair member's mid-year or end-of-year evaluation (signed link, no login)."""
    item, period = _linked(lambda: evaluations.read_personal_token(token), lambda found: found[0])
    questionnaire = evaluations.evaluation_of(item.cycle, period, create=True)
    response = evaluations.response_of(item, period)
    values = ce_evaluations.form_values(response)
    form = ConfirmForm()
    errors: dict[str, str] = {}
    if request.method == "POST" and form.validate_on_submit():
        values = {k: v for k, v in request.form.items() if k.startswith("q")}
        try:
            evaluations.answer(item, period, values)
        except ce_evaluations.EvaluationError as exc:
            db.session.rollback()
            errors = exc.errors
        else:
            db.session.commit()
            flash(_("Thank you: your answers are saved."))
            return redirect(request.url, code=303)
    db.session.commit()  # the questionnaire, if this was its first use
    return render_template(
        "mentoring/evaluation.html",
        programme=item.cycle.programme,
        label=evaluations.period_label(period),
        evaluation=questionnaire,
        values=values,
        errors=errors,
        form=form,
        is_open=evaluations.is_open(item, period),
        answered=response is not None,
        rating_labels=ce_evaluations.rating_labels,
    ), (400 if errors or request.method == "POST" else 200)


@bp.route("/story/<token>", methods=["GET", "POST"])
def story(token: str) -> Any:
    """A pair member writes their story for the newsletter (signed link from the invitation)."""
    match, item = _linked(lambda: stories.read_story_token(token), lambda found: found[1])
    form = StoryForm()
    if request.method == "GET":
        saved = stories.story_of(match, item)
        form.text.data = saved.text if saved else ""
        form.may_publish.data = saved.may_publish if saved else False
    if form.validate_on_submit() and commit_or_show(
        lambda: stories.submit_story(match, item, form.text.data or "", bool(form.may_publish.data)),
        MentoringError,
        lambda exc: _show_error(form, exc),
    ):
        flash(_("Thank you: your story reached the organisers."))
        return redirect(request.url, code=303)
    return render_template("mentoring/story.html", programme=match.cycle.programme, form=form), (
        400 if request.method == "POST" else 200
    )


@bp.route("/watch/<token>", methods=["GET", "POST"])
def watch_confirm(token: str) -> Any:
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            item = outreach.confirm_watch(token)
        except TokenError as exc:
            abort(410 if exc.expired else 404, description=str(exc))
        if item is None:
            abort(404)
        db.session.commit()
        return render_template("mentoring/watch_done.html")
    return render_template("mentoring/watch_confirm.html", form=form)


@bp.after_request
def _private(response: Response) -> Response:
    """Signed-link pages: no token to other sites in a Referer, and nothing cached."""
    if request.endpoint in (
        "mentoring.confirm",
        "mentoring.guardian",
        "mentoring.application",
        "mentoring.checkin",
        "mentoring.evaluation",
        "mentoring.story",
        "mentoring.watch_confirm",
    ):
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["Cache-Control"] = "no-store"
    return response
