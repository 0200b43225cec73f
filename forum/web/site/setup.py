"""Officer pages that speed up setting an event up: a series of sessions in one step,
duplicating an event as a new draft, and deleting a draft that was never published.

A blueprint of its own (under /manage, officers only) so manage.py stays one concern:
editing what exists. Every change goes through forum.events.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask import session as cookie
from flask_babel import gettext as _
from flask_babel import ngettext

from forum.core.extensions import db
from forum.core.text import slugify
from forum.core.timezones import TimeInputError
from forum.events import editing
from forum.events import service as actions
from forum.web.events.manage_common import Page, get_event, officer_blueprint
from forum.web.events.manage_sessions import (
    confirm_past,
    flash_saved,
    refused_outright,
    sessions_page,
)
from forum.web.forms import ConfirmForm, DuplicateForm, SeriesForm

bp = officer_blueprint("setup", __name__, "/manage")



@bp.route("/events/<slug>/sessions/series", methods=["POST"])
def add_series(slug: str) -> Page:
    ev = get_event(slug)
    form = SeriesForm(prefix="series")
    if not form.validate_on_submit():
        return sessions_page(ev, series=form, status=400)
    start, _ = actions.wall_span(form.first_date.data, form.start_time.data, form.end_time.data)
    try:
        if not confirm_past(form, form.first_date, start):
            return sessions_page(ev, series=form, status=400)
        recipients = actions.calendar_recipients(ev)
        created, notes = actions.add_session_series(
            ev,
            form.first_date.data,
            form.start_time.data,
            form.end_time.data,
            form.timezone.data,
            repeat=form.repeat.data,
            count=form.count.data,
            title_pattern=form.title_pattern.data or "",
            join_url=form.join_url.data or "",
        )
    except TimeInputError as exc:  # a date in a spring-forward gap: the message names it
        db.session.rollback()
        form.start_time.errors = [*form.start_time.errors, str(exc)]
        return sessions_page(get_event(slug), series=form, status=400)
    except editing.EventChangeError as exc:  # the event is cancelled
        return refused_outright(slug, exc)
    db.session.commit()
    kept = dict(cookie.get("series_form", {}))
    kept[slug] = {
        "title_pattern": form.title_pattern.data or "",
        "join_url": form.join_url.data or "",
        "repeat": form.repeat.data,
        "count": form.count.data,
        "timezone": form.timezone.data,
        "start_time": form.start_time.data.strftime("%H:%M"),
        "end_time": form.end_time.data.strftime("%H:%M"),
    }
    cookie["series_form"] = kept
    flash_saved(ngettext("Added %(num)d session.", "Added %(num)d sessions.", len(created)), notes, ev, recipients)
    return redirect(url_for("manage.sessions", slug=slug) + "#add-series")


@bp.route("/events/<slug>/duplicate", methods=["GET", "POST"])
def duplicate(slug: str) -> Page:
    original = get_event(slug)
    form = DuplicateForm(data={"title": f"{original.title} (copy)"[:200]})
    if form.validate_on_submit():
        wanted = form.slug.data or editing.free_slug(slugify(form.title.data or "", "event"))
        try:
            editing.check_address(wanted)
        except editing.EventChangeError as exc:
            form.slug.errors = [str(exc)]
        else:
            try:
                copy = actions.duplicate_event(
                    original, title=form.title.data, slug=wanted, first_day=form.first_date.data
                )
            except TimeInputError as exc:
                db.session.rollback()
                form.first_date.errors = [str(exc)]
            else:
                db.session.commit()
                flash(
                    _("“%(title)s” is a new draft with %(sessions)s sessions and %(panelist_links)s panelists. Check it, then publish.", title=copy.title, sessions=len(copy.sessions), panelist_links=len(copy.panelist_links)),
                    "success",
                )
                for warning in actions.dst_warnings(copy):
                    flash(warning, "warning")
                return redirect(url_for("manage.event", slug=copy.slug))
    status = 400 if request.method == "POST" else 200
    return render_template("manage/duplicate.html", event=original, form=form), status


@bp.route("/events/<slug>/delete", methods=["GET", "POST"])
def delete_draft(slug: str) -> Page:
    ev = get_event(slug)
    if ev.published_at is not None or ev.status == "published":
        flash(_("A published event cannot be deleted (people may have it in their calendars); cancel it instead."), "error")
        return redirect(url_for("manage.event", slug=slug))
    form = ConfirmForm()
    if form.validate_on_submit():
        title = ev.title
        actions.delete_draft(ev)
        db.session.commit()
        flash(_("Deleted the draft “%(title)s”. Its panelists are still available for other events.", title=title), "success")
        return redirect(url_for("manage.index"))
    return render_template("manage/delete_event.html", event=ev, form=form)
