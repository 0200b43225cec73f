"""Officer pages for an event's sessions (on the `manage` blueprint): add one, add a day
range (an e-forum) or a series (setup.py), edit, reorder, cancel.

The forms read input; forum.events.editing holds the rules (the JSON API calls the same
functions) and puts a refusal on the field it names. Asking the officer to confirm a
date in the past is this door's own question, not a rule: the API has no one to ask.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask import session as cookie
from flask_babel import gettext as _
from flask_babel import ngettext
from werkzeug.wrappers import Response
from wtforms import Field

from forum.core import clock
from forum.core.extensions import db
from forum.core.timezones import TimeInputError, format_date, format_time, to_zone, zone_label
from forum.events import editing
from forum.events import service as actions
from forum.models import Event
from forum.web.events.manage_common import Page, bad_request, bp, get_event, get_session, people
from forum.web.forms import ConfirmForm, DayRangeForm, SeriesForm, SessionForm, submitted


def sessions_page(
    ev: Event,
    form: SessionForm | None = None,
    days: DayRangeForm | None = None,
    status: int = 200,
    series: SeriesForm | None = None,
) -> tuple[str, int]:
    form = form or SessionForm(formdata=None, data={"timezone": ev.timezone})
    form.panelist_ids.choices = panelist_choices(ev)
    describe_title(form, ev)
    days = days or DayRangeForm(formdata=None, prefix="days", data={"timezone": ev.timezone})
    series = series or SeriesForm(formdata=None, prefix="series", data=series_defaults(ev))
    return render_template(
        "manage/sessions.html",
        event=ev,
        form=form,
        days=days,
        series=series,
        confirm=ConfirmForm(),
        warnings=actions.dst_warnings(ev),
        recipients=actions.calendar_recipients(ev),
    ), status


def series_defaults(ev: Event) -> dict[str, object]:
    """The series form keeps what the officer typed last time (title pattern, hours, join
    link: remembered in their session cookie), so the next batch is quick to add."""
    kept = cookie.get("series_form", {}).get(ev.slug, {})
    data: dict[str, object] = {"timezone": ev.timezone, "repeat": "weekly", "count": 6}
    for name in ("title_pattern", "join_url", "repeat", "timezone", "count"):
        if kept.get(name):
            data[name] = kept[name]
    for name in ("start_time", "end_time"):
        if kept.get(name):
            data[name] = datetime.strptime(kept[name], "%H:%M").time()
    return data


def describe_title(form: SessionForm, ev: Event) -> None:
    """The title's hint fits the event: an e-forum day may go untitled, a webinar is named."""
    form.title.description = (
        _("Optional for an e-forum day.") if ev.is_eforum else _("Shown on the event page and in calendars.")
    )


def panelist_choices(ev: Event) -> list[tuple[int, str]]:
    return [(link.panelist_id, link.panelist.name) for link in ev.panelist_links]


def refused(form: SessionForm, error: editing.EventChangeError) -> None:
    """Show a refused session change next to the field it is about (start or end time)."""
    field = form.end_time if error.field == "end_wall" else form.start_time
    field.errors = [*field.errors, str(error)]
    db.session.rollback()


def _saved_session(
    slug: str, form: SessionForm, change: Callable[[], list[str]], saved: Callable[[list[str]], None]
) -> Response | None:
    """Make a session change from the form: committed, `saved` says so (with the officer
    notes) and it is back to the sessions; refused, None (the form again, the refusal next
    to its field), or a page of its own when the event or session no longer takes changes."""
    try:
        notes = change()
    except editing.EventChangeError as exc:
        if exc.conflict:
            return refused_outright(slug, exc)
        refused(form, exc)
        return None
    db.session.commit()
    saved(notes)
    return redirect(url_for("manage.sessions", slug=slug))


def times_exist(form: SessionForm, start: datetime, end: datetime) -> bool:
    """Refuse a wall time in a spring-forward gap before asking anything else about it."""
    try:
        editing.check_wall_times(start, end, form.timezone.data or "")
    except editing.EventChangeError as exc:
        refused(form, exc)
        return False
    return True


def confirm_past(form: SessionForm | SeriesForm, date_field: Field, start: datetime) -> bool:
    """A start that has already gone by is added only once the officer ticks the box."""
    zone = form.timezone.data or ""
    if not actions.is_past(start, zone) or form.confirm_past.data:
        return True
    if start.date() == to_zone(clock.now(), zone).date():  # today: it is the hour that went by
        message = _(
            "%(time)s today has already gone by in %(zone)s. Tick “%(confirm)s” below to add it anyway.",
            time=format_time(start),
            zone=zone_label(zone),
            confirm=form.confirm_past.label.text,
        )
    else:
        message = _(
            "This date is in the past. Tick “%(confirm)s” below to add it anyway.",
            confirm=form.confirm_past.label.text,
        )
    date_field.errors = [*date_field.errors, message]
    form.ask_past = True  # type: ignore[union-attr]
    return False


@bp.route("/events/<slug>/sessions", methods=["GET", "POST"])
def sessions(slug: str) -> Page:
    ev = get_event(slug)
    if request.method == "GET":
        return sessions_page(ev)
    form = SessionForm()
    form.panelist_ids.choices = panelist_choices(ev)
    describe_title(form, ev)
    if form.validate_on_submit():
        start, end = actions.wall_span(form.date.data, form.start_time.data, form.end_time.data)
        if times_exist(form, start, end) and confirm_past(form, form.date, start):
            recipients = actions.calendar_recipients(ev)
            done = _saved_session(
                slug,
                form,
                lambda: editing.new_session(ev, start, end, form.timezone.data, **_session_values(form))[1],
                lambda notes: flash_saved(_("Session added."), notes, ev, recipients),
            )
            if done is not None:
                return done
    return sessions_page(get_event(slug), form=form, status=400)


def _session_values(form: SessionForm) -> dict[str, Any]:
    """The session form's wording and panelists as `editing.new_session`/`edit_session` take them."""
    return {
        "title": form.title.data or "",
        "join_url": form.join_url.data or "",
        "description": form.description.data or "",
        "panelist_ids": form.panelist_ids.data or [],
    }


def refused_outright(slug: str, error: editing.EventChangeError) -> Response:
    """A change the event's state forbids (cancelled): said at the top of the sessions page."""
    db.session.rollback()
    flash(str(error), "error")
    return redirect(url_for("manage.sessions", slug=slug))


@bp.route("/events/<slug>/sessions/days", methods=["POST"])
def add_days(slug: str) -> Page:
    ev = get_event(slug)
    days = DayRangeForm(prefix="days")
    if days.validate_on_submit():
        try:
            created, notes, skipped = actions.add_daily_sessions(
                ev,
                days.first_date.data,
                days.last_date.data,
                days.start_time.data,
                days.end_time.data,
                days.timezone.data,
            )
        except editing.EventChangeError as exc:  # the event is cancelled
            return refused_outright(slug, exc)
        except TimeInputError as exc:  # a day in a spring-forward gap: it names the day
            db.session.rollback()
            days.start_time.errors = [*days.start_time.errors, str(exc)]
            return sessions_page(get_event(slug), days=days, status=400)
        recipients = actions.calendar_recipients(ev)
        db.session.commit()
        message = ngettext("Added %(num)d day.", "Added %(num)d days.", len(created))
        if skipped:
            days_taken = ", ".join(format_date(d, weekday=False) for d in skipped)
            message += " " + _("Skipped days that already had a session: %(days)s", days=days_taken)
        flash_saved(message, notes, ev, recipients if created else 0)
        return redirect(url_for("manage.sessions", slug=slug))
    return sessions_page(ev, days=days, status=400)


@bp.route("/events/<slug>/sessions/<int:session_id>", methods=["GET", "POST"])
def edit_session(slug: str, session_id: int) -> Page:
    ev = get_event(slug)
    session = get_session(ev, session_id)
    recipients = actions.calendar_recipients(ev)
    if request.method == "GET":
        form = SessionForm(
            obj=session,
            data={
                "date": session.start_wall.date(),
                "start_time": session.start_wall.time(),
                "end_time": session.end_wall.time(),
                "panelist_ids": [p.id for p in session.panelists],
            },
        )
        form.panelist_ids.choices = panelist_choices(ev)
        describe_title(form, ev)
        return render_template(
            "manage/session_form.html", event=ev, session=session, form=form, recipients=recipients
        )
    form = SessionForm()
    form.panelist_ids.choices = panelist_choices(ev)
    describe_title(form, ev)
    if form.validate_on_submit():
        start, end = actions.wall_span(form.date.data, form.start_time.data, form.end_time.data)
        moved = (start, form.timezone.data) != (session.start_wall, session.timezone)
        if times_exist(form, start, end) and (not moved or confirm_past(form, form.date, start)):
            before = session.sequence
            done = _saved_session(
                slug,
                form,
                lambda: editing.edit_session(session, start, end, form.timezone.data, **_session_values(form)),
                lambda notes: flash_saved(_("Session saved."), notes, ev, recipients if session.sequence != before else 0),
            )
            if done is not None:
                return done
    return bad_request(
        "manage/session_form.html", event=ev, session=session, form=form, recipients=recipients
    )


def flash_saved(message: str, notes: list[str], ev: Event, recipients: int) -> None:
    if ev.status == "published" and recipients:
        message += " " + _("Calendar updates go to %(recipients)s.", recipients=people(recipients))
    flash(message, "success")
    for note in notes:
        flash(note, "warning")
    for warning in actions.dst_warnings(ev):
        flash(warning, "warning")


@bp.route("/events/<slug>/sessions/<int:session_id>/move", methods=["POST"])
def move_session(slug: str, session_id: int) -> Response:
    """Reorder: trade date and time with the previous (up) or next (down) live session."""
    ev = get_event(slug)
    session = get_session(ev, session_id)
    submitted(ConfirmForm(), _("The form expired. Go back, reload the page and try again."))
    live = sorted(ev.active_sessions, key=lambda s: s.starts_at)
    step = -1 if request.form.get("direction") == "up" else 1
    if session in live and 0 <= live.index(session) + step < len(live):
        other = live[live.index(session) + step]
        recipients = actions.calendar_recipients(ev)
        actions.swap_session_slots(session, other)
        db.session.commit()
        flash_saved(
            _(
                "“%(title)s” now takes the %(month)s/%(day)s slot.",
                title=session.title or _("Session"),
                month=session.start_wall.month,
                day=session.start_wall.day,
            ),
            [],
            ev,
            recipients,
        )
    return redirect(url_for("manage.sessions", slug=slug))


@bp.route("/events/<slug>/sessions/<int:session_id>/cancel", methods=["GET", "POST"])
def cancel_session(slug: str, session_id: int) -> Page:
    ev = get_event(slug)
    session = get_session(ev, session_id)
    form = ConfirmForm()
    recipients = actions.calendar_recipients(ev)
    if form.validate_on_submit():
        if ev.status == "draft":
            actions.remove_session(session)
            db.session.commit()
            flash(_("Session removed."), "success")
        else:
            editing.cancel_session(session, reason=request.form.get("reason", ""))
            db.session.commit()
            flash(_("Session cancelled. Calendar cancellations go to %(recipients)s.", recipients=people(recipients)), "success")
        return redirect(url_for("manage.sessions", slug=slug))
    return render_template(
        "manage/cancel_session.html", event=ev, session=session, form=form, recipients=recipients
    )
