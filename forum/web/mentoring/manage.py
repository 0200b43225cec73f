"""Officer pages under /manage/mentoring: programmes, cycles, the member list, applications,
matching, the overview (chart and table, CSV), and mail to many.

Thin views: forms carry input, forum.mentoring makes every change (the API calls the same
functions), each POST ends in a redirect or re-renders with what was typed.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from forum.core import timezones
from forum.core.extensions import db
from forum.mentoring import (
    applications,
    evaluations,
    matching,
    outreach,
    pairs,
    programmes,
    reports,
    stories,
)
from forum.mentoring.programmes import MentoringError
from forum.models import (
    FORM_QUESTION_KINDS,
    MentoringApplication,
    MentoringCycle,
    MentoringMatch,
    MentoringProgramme,
)
from forum.registration import questions
from forum.team import scopes
from forum.web.charts import answer_charts, grouped_bars
from forum.web.events.manage_common import require_officer
from forum.web.forms import ConfirmForm
from forum.web.helpers import button_post, commit_or_flash, commit_or_show
from forum.web.mentoring.forms import (
    CycleForm,
    MailForm,
    MembersForm,
    ProgrammeForm,
    QuestionAddForm,
    QuestionEditForm,
    WeightsForm,
    weight_fields,
)

bp = Blueprint("mentoring_manage", __name__, url_prefix="/manage/mentoring")
bp.before_request(require_officer)


def _programme(slug: str) -> MentoringProgramme:
    item = MentoringProgramme.by_slug(slug)
    if item is None:
        abort(404, description=_("There is no mentoring programme at this address."))
    return item


def _cycle(slug: str, cycle_id: int) -> MentoringCycle:
    cycle = db.session.get(MentoringCycle, cycle_id)
    if cycle is None or cycle.programme.slug != slug:
        abort(404, description=_("There is no such cycle."))
    return cycle


def _match(slug: str, cycle_id: int, match_id: int) -> MentoringMatch:
    """One match of the cycle the path names (one row by key, not every match of the cycle)."""
    cycle = _cycle(slug, cycle_id)
    match = db.session.get(MentoringMatch, match_id)
    if match is None or match.cycle_id != cycle.id:
        abort(404)
    return match


def _field_error(form: Any, exc: MentoringError) -> None:
    field = getattr(form, exc.field, None) or next(f for f in form if f.name not in ("csrf_token",))
    field.errors = [*list(field.errors or []), str(exc)]


@bp.route("/", methods=["GET", "POST"])
def index() -> Any:
    form = ProgrammeForm()
    members = MembersForm(formdata=None)
    if form.validate_on_submit():
        try:
            item = programmes.create_programme({name: form[name].data for name in form._fields})
        except MentoringError as exc:
            db.session.rollback()
            _field_error(form, exc)
        else:
            db.session.commit()
            return redirect(url_for(".programme", slug=item.slug))
    return render_template(
        "mentoring/manage/index.html",
        programmes=[p for p in programmes.programmes() if scopes.can_on(current_user, scopes.OBJECT_VIEW, p)],
        form=form,
        members=members,
        member_count=applications.member_count(),
    ), (400 if form.errors else 200)


@bp.route("/members", methods=["POST"])
def members() -> Response:
    form = MembersForm()
    if form.validate_on_submit():
        added = applications.import_members(form.members.data or "", replace=bool(form.replace.data))
        db.session.commit()
        flash(_("%(n)d new entries on the member list.", n=added))
    return redirect(url_for(".index"))


def _question_form(formdata: Any = None) -> QuestionAddForm:
    form = QuestionAddForm(formdata=formdata)
    form.preset_id.choices = [SelectChoice("", _("— none: write it below —"))] + [
        SelectChoice(str(p.id), p.label) for p in questions.presets()
    ]
    form.kind.choices = [SelectChoice(k, v) for k, v in FORM_QUESTION_KINDS.items()]
    return form


@bp.route("/<slug>/questions", methods=["POST"])
def add_question(slug: str) -> Any:
    item = _programme(slug)
    form = _question_form(request.form)
    if form.validate_on_submit():
        role, data = form.role.data or "", {name: form[name].data for name in form._fields}
        if commit_or_flash(lambda: programmes.add_question(item, role, data), MentoringError):
            flash(_("Question added."))
    return redirect(url_for(".programme", slug=slug))


@bp.route("/<slug>/questions/<int:question_id>", methods=["GET", "POST"])
def edit_question(slug: str, question_id: int) -> Any:
    """Change an application question in place: fixing a typo no longer means removing the
    question (and every answer to it) and adding it again."""
    item = _programme(slug)
    try:
        question = programmes.programme_question(item, question_id)
    except MentoringError:
        abort(404, description=_("That question is not on this programme's applications."))
    form = QuestionEditForm(obj=question)  # choices: stored one per line, as the box shows them
    form.kind.choices = [SelectChoice(k, v) for k, v in FORM_QUESTION_KINDS.items()]
    data = {name: form[name].data for name in ("kind", "label", "choices", "required", "sensitive")}
    if form.validate_on_submit() and commit_or_show(
        lambda: programmes.update_question(item, question_id, data),
        MentoringError,
        lambda exc: _field_error(form, exc),
    ):
        flash(_("Question saved."))
        return redirect(url_for(".programme", slug=slug), code=303)
    page = render_template(
        "mentoring/manage/question_edit.html", programme=item, question=question, form=form
    )
    return page, (400 if form.errors else 200)


@bp.route("/<slug>/questions/<int:question_id>/<action>", methods=["POST"])
def change_question(slug: str, question_id: int, action: str) -> Response:
    """Move an application question up or down, or remove it."""
    item = _programme(slug)
    return button_post(
        lambda: programmes.change_question(item, question_id, action),
        _("Question removed.") if action == "delete" else "",
        url_for(".programme", slug=slug),
        MentoringError,
    )


@bp.route("/<slug>", methods=["GET", "POST"])
def programme(slug: str) -> Any:
    item = _programme(slug)
    form = CycleForm()
    if form.validate_on_submit():
        try:
            cycle = programmes.create_cycle(item, {name: form[name].data for name in form._fields})
        except MentoringError as exc:
            db.session.rollback()
            _field_error(form, exc)
        else:
            db.session.commit()
            return redirect(url_for(".cycle", slug=slug, cycle_id=cycle.id))
    return render_template(
        "mentoring/manage/programme.html",
        programme=item,
        form=form,
        state=programmes.window_state,
        question_form=_question_form(),
        button=ConfirmForm(formdata=None),
        forms={role: programmes.question_form(item, role).questions for role in ("mentee", "mentor")},
    ), (400 if form.errors else 200)


def _application_rows(cycle: MentoringCycle) -> list[MentoringApplication]:
    return sorted(cycle.applications, key=lambda a: (a.role, a.status, a.id))


@bp.route("/<slug>/cycles/<int:cycle_id>")
def cycle(slug: str, cycle_id: int) -> Any:
    item = _cycle(slug, cycle_id)
    data = reports.overview(item)
    months = [_("Month %(n)d", n=n) for n, _s, _a, _r in data.checkin_rates]
    charts = {
        "applications": grouped_bars(
            [timezones.format_short_date(d) for d, _m, _e in data.per_day],
            {
                "registered": (_("Mentor applications"), [m for _d, m, _e in data.per_day]),
                "attended": (_("Mentee applications"), [e for _d, _m, e in data.per_day]),
            },
        )
        if data.per_day
        else None,
        "checkins": grouped_bars(
            months,
            {
                "registered": (_("Sent"), [s for _n, s, _a, _r in data.checkin_rates]),
                "attended": (_("Answered"), [a for _n, _s, a, _r in data.checkin_rates]),
            },
        )
        if data.checkin_rates
        else None,
        "active": grouped_bars(
            [_("%(m)d months", m=m) for m in data.active_at],
            {"attended": (_("Pairs active"), list(data.active_at.values()))},
        ),
    }
    return render_template(
        "mentoring/manage/cycle.html",
        programme=item.programme,
        cycle=item,
        data=data,
        charts=charts,
        applications=_application_rows(item),
        matches=pairs.matches_of(item),
        state=programmes.window_state(item),
        window=programmes.window_text(item, item.programme.timezone),
        mail_form=MailForm(formdata=None),
        newsletters=outreach.newsletters(item),
        stories=stories.stories_of(item),
        button=ConfirmForm(formdata=None),
    )


@bp.route("/<slug>/cycles/<int:cycle_id>/overview.csv")
def overview_csv(slug: str, cycle_id: int) -> Response:
    item = _cycle(slug, cycle_id)
    return Response(
        reports.overview_csv(item),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="mentoring-{slug}-{cycle_id}.csv"'},
    )


@bp.route("/<slug>/cycles/<int:cycle_id>/matching", methods=["GET", "POST"])
def matching_page(slug: str, cycle_id: int) -> Any:
    """Suggestions with reasons; the officer keeps, swaps or overrides each mentee's mentor
    (a select per mentee, the suggestion preselected), and may rule a pair out."""
    item = _cycle(slug, cycle_id)
    form = WeightsForm()
    if request.method == "POST" and request.form.get("action") == "weights" and form.validate_on_submit():
        try:
            programmes.set_weights(item, request.form)
        except MentoringError as exc:
            db.session.rollback()
            flash(str(exc))
        else:
            db.session.commit()
        return redirect(url_for(".matching_page", slug=slug, cycle_id=cycle_id))
    weights = programmes.weights_of(item)
    result = matching.suggest(item, weights)
    suggested = {p.mentee: p for p in result.pairs}
    mentors = applications.active_applications(item, "mentor")
    done = matching.matched_mentee_ids(item)
    mentees = [m for m in applications.active_applications(item, "mentee") if m.id not in done]
    error = ""
    if request.method == "POST" and request.form.get("action") == "confirm" and form.validate_on_submit():
        chosen = []
        for mentee in mentees:
            raw = request.form.get(f"mentor-{mentee.id}", "")
            if not raw.isdigit() or len(raw) > 9:
                continue
            mentor_id = int(raw)
            pair = suggested.get(mentee.id)
            chosen.append((mentor_id, mentee.id, pair is None or pair.mentor != mentor_id))
        for ruled_out in request.form.getlist("decline"):
            left, _sep, right = ruled_out.partition(":")
            if not (left.isdigit() and right.isdigit() and len(left) < 10 and len(right) < 10):
                continue
            mentor = db.session.get(MentoringApplication, int(left))
            ruled = db.session.get(MentoringApplication, int(right))
            if mentor is not None and ruled is not None and ruled.cycle_id == item.id:
                pairs.decline(mentor, ruled)
                chosen = [c for c in chosen if (c[0], c[1]) != (mentor.id, ruled.id)]
        try:
            made = pairs.confirm_matches(item, chosen)
        except MentoringError as exc:
            db.session.rollback()
            error = str(exc)
        else:
            db.session.commit()
            flash(_("%(n)d matches confirmed; each pair has its introduction.", n=len(made)))
            return redirect(url_for(".matching_page", slug=slug, cycle_id=cycle_id))
    return render_template(
        "mentoring/manage/matching.html",
        programme=item.programme,
        cycle=item,
        form=form,
        weights=weights,
        weight_fields=weight_fields(),
        result=result,
        suggested=suggested,
        mentors=mentors,
        mentees=mentees,
        names={a.id: a.name for a in item.applications},
        matches=pairs.matches_of(item),
        closed=programmes.window_state(item) == "closed",
        error=error,
    ), (400 if error else 200)


@bp.route("/<slug>/cycles/<int:cycle_id>/matches/<int:match_id>/end", methods=["POST"])
def end_match(slug: str, cycle_id: int, match_id: int) -> Response:
    match = _match(slug, cycle_id, match_id)
    reason = request.form.get("reason", "")[:200] or _("ended by the organisers")
    return button_post(
        lambda: pairs.end_match(match, reason),
        _("The match has ended; both were told and the mentee can be matched again."),
        url_for(".cycle", slug=slug, cycle_id=cycle_id),
    )


@bp.route("/<slug>/cycles/<int:cycle_id>/matches/<int:match_id>/story", methods=["POST"])
def invite_story(slug: str, cycle_id: int, match_id: int) -> Response:
    match = _match(slug, cycle_id, match_id)
    return button_post(
        lambda: stories.invite_story(match, request.form.get("note", "")),
        _("Both were invited to share their story."),
        url_for(".cycle", slug=slug, cycle_id=cycle_id),
        MentoringError,
    )


@bp.route("/<slug>/cycles/<int:cycle_id>/mail/<kind>", methods=["POST"])
def mail(slug: str, cycle_id: int, kind: str) -> Response:
    """A call for mentors (now), or a newsletter to the cycle's pairs (now, or at a time)."""
    item = _cycle(slug, cycle_id)
    form = MailForm()
    if kind not in ("call", "news"):
        abort(404)
    if form.validate_on_submit():
        subject, body, when = form.subject.data or "", form.body.data or "", (form.send_at.data or "").strip()

        def send() -> object:
            if kind == "call":
                return outreach.call_for_mentors(item, subject, body)
            return outreach.newsletter(
                item, subject, body, programmes.parse_wall(when, "send_at") if when else None
            )

        if commit_or_flash(send, MentoringError):
            flash(_("The newsletter is scheduled.") if when else _("The message is on its way."))
    return redirect(url_for(".cycle", slug=slug, cycle_id=cycle_id))


@bp.route("/<slug>/cycles/<int:cycle_id>/evaluations/<period>")
def evaluation_results(slug: str, cycle_id: int, period: str) -> Any:
    """The mid-year or end-of-year evaluation's results: per question, a chart and its table."""
    item = _cycle(slug, cycle_id)
    if period not in evaluations.PERIODS:
        abort(404)
    results = evaluations.results(item, period)
    db.session.commit()  # the questionnaire, if this was its first use
    charts = answer_charts(results.questions)
    return render_template(
        "mentoring/manage/evaluation.html",
        programme=item.programme,
        cycle=item,
        label=evaluations.period_label(period),
        results=results,
        charts=charts,
    )
