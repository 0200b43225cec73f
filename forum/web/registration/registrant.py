"""The registrant's own answers, from their preferences link (no account): seen and changed
until the event starts. The same checks as at sign-up (forum.registration.service)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from forum.core import clock
from forum.core.extensions import db
from forum.models import Subscription
from forum.registration import answers, questions
from forum.registration import service as registration
from forum.web.forms import ConfirmForm
from forum.web.subscriptions.pages import linked_participant

bp = Blueprint("registrant_answers", __name__)


def editable(subscription: Subscription) -> bool:
    """Answers can change until the event's first session starts (the officers' cut-off)."""
    start = subscription.event.starts_at
    return subscription.status in ("pending", "awaiting", "active", "waitlisted") and (
        start is None or clock.now() < start
    )


@bp.route("/preferences/<token>/answers/<int:sub_id>", methods=["GET", "POST"])
def edit(token: str, sub_id: int) -> str | tuple[str, int] | Response:
    participant = linked_participant(token)
    sub = db.session.get(Subscription, sub_id)
    if sub is None or sub.participant_id != participant.id:
        return render_template("subscriptions/gone.html"), 404
    form = ConfirmForm()
    given = {a.question_id: a.data for a in answers.answers_of(sub)}
    qform = questions.event_form(sub.event)
    offered = answers.earlier_preset_answers(qform, participant.id) if qform is not None else {}
    offered = {qid: value for qid, value in offered.items() if qid not in given}
    given.update(offered)
    errors: dict[int, str] = {}
    if request.method == "POST" and editable(sub) and form.validate_on_submit():
        raw = answers.raw_from_form(questions.event_form(sub.event), request.form)
        try:
            registration.edit_answers(sub, raw)
        except registration.AnswerErrors as exc:
            db.session.rollback()
            errors, given = exc.errors, dict(raw)
        else:
            db.session.commit()
            flash(_("Your answers for %(title)s are saved.", title=sub.event.title))
            return redirect(url_for("subscriptions.preferences", token=token), code=303)
    page = render_template(
        "registration/my_answers.html",
        event=sub.event,
        sub=sub,
        token=token,
        form=form,
        editable=editable(sub),
        offered=bool(offered),
        answer_values=given,
        answer_errors=errors,
    )
    return page, 400 if errors else 200
