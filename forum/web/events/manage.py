"""Officer pages under /manage for an event itself: the list, new and edit, publish,
cancel and preview. Sessions and panelists have their own modules on the same blueprint
(manage_sessions.py, manage_panelists.py; imported below so their routes are on it when
the app registers it).

Views are thin: forms validate input, forum.events.editing makes every change and holds
every rule about it (the JSON API calls the same functions), and each POST ends in a
redirect or re-renders with what was typed.
"""

from __future__ import annotations

from datetime import datetime

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from forum.calendars import rsvp
from forum.core.extensions import db
from forum.events import editing, readiness
from forum.events import service as actions
from forum.mail.addresses import rsvp_address
from forum.mail.health import bounce_counts, daily_mail
from forum.models import Event
from forum.subscriptions.state import status_counts
from forum.team import roles
from forum.web.charts import delivery_chart, stacked_rows
from forum.web.events import manage_panelists, manage_sessions, manage_topics  # noqa: F401  (their routes join bp)
from forum.web.events.manage_common import (
    Page,
    bad_request,
    bp,
    get_event,
    people,
    show_error,
)
from forum.web.events.public import event_context
from forum.web.forms import ConfirmForm, EventForm, submitted, topics_choices
from forum.web.helpers import commit_or_flash
from forum.webinars import seats

NEW_EVENT_DEFAULTS = {
    "kind": "eforum",
    "timezone": "America/New_York",
    "moderation": "new",
    "non_member_posts": "hold",
    "spam_score_limit": 5.0,
    "search_language": "english",
    "archive_public": True,
    "reply_to_list": True,
    "digest_hour": 18,
    "reminder_offsets": "1440,60",
}


# --- events -----------------------------------------------------------------------------


@bp.route("/")
def index() -> Page:
    mine = roles.visible_events(current_user)  # an administrator sees all; others their roles' events
    rows = db.session.scalars(select(Event).where(mine).options(selectinload(Event.sessions))).all()
    groups: dict[str, list[Event]] = {"draft": [], "published": [], "cancelled": []}
    for event in rows:
        groups.setdefault(event.status, []).append(event)
    far = datetime.max.replace(tzinfo=None)
    for items in groups.values():
        items.sort(key=lambda e: (_first_start(e) or far, e.title.lower()))
    return render_template("manage/index.html", groups=groups)


def _first_start(event: Event) -> datetime | None:
    starts = [s.start_wall for s in event.sessions]
    return min(starts) if starts else None


@bp.route("/events/new", methods=["GET", "POST"])
def new_event() -> Page:
    form = EventForm(data=NEW_EVENT_DEFAULTS)
    form.topics.choices = topics_choices()
    if form.validate_on_submit():
        try:
            event = editing.create_event(_form_values(form))
        except editing.EventChangeError as exc:
            show_error(form[exc.field], exc)
        else:
            db.session.commit()
            flash(_("Created “%(title)s”. Now add its sessions.", title=event.title), "success")
            return redirect(url_for("manage.sessions", slug=event.slug))
    if request.method == "POST":
        return bad_request("manage/event_form.html", form=form, event=None)
    return render_template("manage/event_form.html", form=form, event=None)


@bp.route("/events/<slug>")
def event(slug: str) -> Page:
    ev = get_event(slug)
    draft = ev.status == "draft"
    return render_template(
        "manage/event.html",
        event=ev,
        recipients=actions.calendar_recipients(ev),
        warnings=actions.dst_warnings(ev),
        form=ConfirmForm(),
        # a draft has sent nothing: its overview is what is ready and what publishing sends
        readiness=readiness.checks(ev) if draft else None,
        publishing_sends=readiness.what_publishing_sends(ev) if draft else "",
        delivery=None if draft else delivery_health(ev),
        registrations=None if draft else registration_summary(ev),
        rsvps=rsvp_answers(ev),
    )


def registration_summary(event: Event) -> dict[str, object]:
    """The overview's registrations: by status, and a series' seats and waiting list."""
    by_status = status_counts(event)
    limited = event.kind == "series" and event.seat_limit is not None
    return {"by_status": by_status, "seats": seats.counts(event) if limited else None}


def rsvp_answers(event: Event) -> dict[str, object] | None:
    """The overview's calendar answers per session (chart + table), or None before any."""
    rows = rsvp.counts(event)
    if not rows:
        return None
    chart = stacked_rows([(r.label, dict(r.counts)) for r in rows], ("accepted", "tentative", "declined"))
    return {"rows": rows, "chart": chart, "address": rsvp_address(event)}


def delivery_health(event: Event) -> dict[str, object]:
    """The overview's mail delivery chart (last 30 days) and bounce counts."""
    return {"chart": delivery_chart(daily_mail(event)), "bounces": bounce_counts(event)}


@bp.route("/events/<slug>/edit", methods=["GET", "POST"])
def edit_event(slug: str) -> Page:
    ev = get_event(slug)
    form = EventForm(obj=ev)
    form.topics.choices = topics_choices()
    if not form.is_submitted():
        form.topics.data = [t.slug for t in ev.topics]
    recipients = actions.calendar_recipients(ev)
    if form.validate_on_submit():
        try:
            change = editing.update_event(ev, _form_values(form))
        except editing.EventChangeError as exc:
            show_error(form[exc.field], exc)
        else:
            db.session.commit()
            message = _("Saved.")
            if recipients and change.renamed:
                message += " " + _("The new title goes to %(recipients)s as a calendar update.", recipients=people(recipients))
            flash(message, "success")
            return redirect(url_for("manage.event", slug=ev.slug))
    if request.method == "POST":
        db.session.rollback()
        return bad_request("manage/event_form.html", form=form, event=get_event(slug), recipients=recipients)
    return render_template("manage/event_form.html", form=form, event=ev, recipients=recipients)


def _form_values(form: EventForm) -> dict[str, object]:
    """The form's fields as the service takes them (an empty box is an empty string)."""
    values: dict[str, object] = {
        name: form[name].data if form[name].data is not None else "" for name in actions.EVENT_FIELDS
    }
    values["slug"] = form.slug.data or ""
    values["topics"] = form.topics.data or []
    return values


@bp.route("/events/<slug>/publish", methods=["POST"])
def publish(slug: str) -> Response:
    ev = get_event(slug)
    form = ConfirmForm()
    submitted(form, _("The form expired. Go back, reload the page and try again."))
    if commit_or_flash(lambda: editing.publish_event(ev), editing.EventChangeError):
        flash(_("Published. The public page is live at %(slug)s.", slug=url_for('public.event', slug=ev.slug)), "success")
        for warning in actions.publish_warnings(ev):
            flash(warning, "warning")
    return redirect(url_for("manage.event", slug=ev.slug))


@bp.route("/events/<slug>/cancel", methods=["GET", "POST"])
def cancel_event(slug: str) -> Page:
    ev = get_event(slug)
    form = ConfirmForm()
    if form.validate_on_submit():
        recipients = actions.calendar_recipients(ev)
        actions.cancel_event(ev)
        db.session.commit()
        flash(
            _("“%(title)s” is cancelled. Calendar cancellations go to %(recipients)s.", title=ev.title, recipients=people(recipients)),
            "success",
        )
        return redirect(url_for("manage.event", slug=ev.slug))
    return render_template(
        "manage/cancel_event.html", event=ev, form=form, recipients=actions.calendar_recipients(ev)
    )


@bp.route("/events/<slug>/preview")
def preview(slug: str) -> Page:
    ev = get_event(slug)
    return render_template("public/event.html", **{**event_context(ev), "preview": True})

