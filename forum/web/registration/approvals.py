"""Officer pages: registrations waiting for approval (one by one or in bulk), and every
registrant's answers with a count per choice. Officers only: answers never reach public pages."""

from __future__ import annotations

from typing import cast

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from forum.core.extensions import db
from forum.models import Event, FormAnswer, FormQuestion, Subscription
from forum.registration import approval
from forum.registration.answers import shown
from forum.registration.export import tallies
from forum.web.charts import CountChart, count_bars
from forum.web.events.manage_common import Page, get_event, officer_blueprint
from forum.web.helpers import form_page
from forum.web.registration.forms import DecisionForm

bp = officer_blueprint("approvals", __name__, "/manage/events/<slug>")

PAGE_SIZE = 200



def answers_for(subscriptions: list[Subscription]) -> dict[int, list[tuple[str, str, bool]]]:
    """{subscription id: [(question, answer as read, sensitive)]} in one query."""
    found: dict[int, list[tuple[str, str, bool]]] = {s.id: [] for s in subscriptions}
    if not found:
        return found
    rows = db.session.scalars(
        select(FormAnswer)
        .where(FormAnswer.subscription_id.in_(list(found)))
        .options(selectinload(FormAnswer.question))
    ).all()
    for answer in sorted(rows, key=lambda a: (a.question.position, a.question.id)):
        if answer.subscription_id is not None:
            found[answer.subscription_id].append(
                (answer.question.label, shown(answer), answer.question.sensitive)
            )
    return found


@bp.route("/approvals", methods=["GET", "POST"])
def approvals(slug: str) -> Page:
    event = get_event(slug)
    form = DecisionForm()
    if form.validate_on_submit():
        wanted = {int(v) for v in request.form.getlist("sub") if v.isdigit() and len(v) < 11}
        chosen = [s for s in approval.awaiting(event) if s.id in wanted]
        if not chosen:
            form.message.errors = [_("Tick at least one registration.")]
        else:
            decide = approval.approve if form.approve.data else approval.decline
            try:
                done = decide(chosen, form.message.data or "")
            except approval.ApprovalError as exc:
                db.session.rollback()
                form.message.errors = [str(exc)]
            else:
                db.session.commit()
                if form.approve.data:
                    told = ngettext(
                        "%(num)d registration approved; each person is told by mail.",
                        "%(num)d registrations approved; each person is told by mail.",
                        len(done),
                    )
                else:
                    told = ngettext(
                        "%(num)d registration declined; each person is told by mail.",
                        "%(num)d registrations declined; each person is told by mail.",
                        len(done),
                    )
                flash(told)
                return redirect(url_for(".approvals", slug=slug), code=303)
    waiting = approval.awaiting(event)[:PAGE_SIZE]
    return form_page(
        "registration/approvals.html",
        form,
        event=event,
        waiting=waiting,
        answers=answers_for(waiting),
        counts=approval.counts(event),
    )


@bp.route("/answers")
def answers(slug: str) -> Page:
    event: Event = get_event(slug)
    subs = list(
        db.session.scalars(
            select(Subscription)
            .where(Subscription.event_id == event.id)
            .options(selectinload(Subscription.participant))
            .order_by(Subscription.id)
            .limit(PAGE_SIZE)
        )
    )
    counted = tallies(event, include_sensitive=True)
    return render_template(
        "registration/answers.html",
        event=event,
        subs=subs,
        answers=answers_for(subs),
        tallies=counted,
        charts=_charts(counted),
        counts=approval.counts(event),
    )


def _charts(counted: list[dict[str, object]]) -> dict[int, CountChart]:
    """One bar chart per choice question whose counts are shown (the table below it is the
    accessible alternative); "fewer than 5" draws as an empty bar."""
    charts = {}
    for tally in counted:
        if tally["suppressed"]:
            continue
        question = cast(FormQuestion, tally["question"])
        rows = cast(list[tuple[str, int | None]], tally["rows"])
        charts[question.id] = count_bars([(choice, n or 0) for choice, n in rows])
    return charts
