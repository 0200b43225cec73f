"""Officers write announcements and workshop lessons now and schedule them for later.

The scheduler (forum/events/jobs.py) sends each one once, at its time, to the event's
active subscribers who take mail.  The send time is typed as a wall time in the
event's own zone, like session times.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from werkzeug.wrappers import Response
from wtforms import DateField, SelectField, StringField, SubmitField, TextAreaField, TimeField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from forum.core import clock, timezones
from forum.core.extensions import db
from forum.core.validation import CheckedForm
from forum.models import Announcement, Event, Subscription
from forum.models.scheduling import ANNOUNCEMENT_KINDS
from forum.web.events.manage_common import get_event, get_owned
from forum.web.helpers import form_page

bp = Blueprint("announcements", __name__, url_prefix="/manage/events/<slug>/announcements")


class AnnouncementForm(CheckedForm):
    kind = SelectField(
        _l("Type"),
        choices=[SelectChoice(v, label) for v, label in ANNOUNCEMENT_KINDS.items()],
        default="announcement",
    )
    subject = StringField(
        _l("Subject"), validators=[DataRequired(_l("Give the message a subject.")), Length(max=200)]
    )
    body = TextAreaField(
        _l("Message"),
        validators=[DataRequired(_l("Write the message.")), Length(max=100_000)],
        render_kw={"rows": 12},
    )
    send_date = DateField(_l("Send on"), validators=[DataRequired(_l("Pick the day it goes out."))])
    send_time = TimeField(_l("at"), validators=[DataRequired(_l("Pick the time it goes out."))])
    submit = SubmitField(_l("Schedule"))


def _page(template: str, event: Event, form: AnnouncementForm, **context: Any) -> Any:
    """An announcements page: who it reaches and the event's zone beside the form (422 when
    the form comes back with errors)."""
    return form_page(
        template,
        form,
        invalid=422,
        event=event,
        audience=_audience(event),
        zone_label=timezones.zone_label(event.timezone),
        **context,
    )


def _announcement(event: Event, announcement_id: int) -> Announcement:
    return get_owned(Announcement, announcement_id, event, "There is no such announcement for this event.")


def _audience(event: Event) -> int:
    """How many people an announcement would go to now (active, taking mail)."""
    stmt = select(func.count(Subscription.id)).where(
        Subscription.event_id == event.id, Subscription.is_active, Subscription.mode != "none"
    )
    return db.session.scalar(stmt) or 0


def _save(form: AnnouncementForm, announcement: Announcement, event: Event) -> bool:
    """Copy the form into the announcement; False (with the error on the field) if the time is impossible."""
    wall = datetime.combine(form.send_date.data, form.send_time.data)
    try:
        note = announcement.set_send_time(wall, event.timezone)
    except timezones.TimeInputError as exc:
        form.send_time.errors = [*form.send_time.errors, str(exc)]
        return False
    announcement.kind = form.kind.data
    announcement.subject = form.subject.data.strip()
    announcement.body = form.body.data
    announcement.status = "scheduled"
    if note:
        flash(note, "warning")
    if announcement.send_at <= clock.now():
        flash(_("That time has already passed, so it goes out within a minute."), "warning")
    return True


@bp.route("", methods=["GET", "POST"])
@login_required
def index(slug: str) -> str | Response:
    """The event's announcements and lessons, and the form to schedule a new one."""
    event = get_event(slug)
    form = AnnouncementForm()
    if form.validate_on_submit():
        announcement = Announcement(event=event)
        if _save(form, announcement, event):
            db.session.add(announcement)
            db.session.commit()
            when = _when(announcement)
            flash(_("“%(subject)s” is scheduled for %(when)s.", subject=announcement.subject, when=when), "success")
            return redirect(url_for(".index", slug=slug))
    rows = list(
        db.session.scalars(
            select(Announcement)
            .where(Announcement.event_id == event.id)
            .order_by(Announcement.send_at, Announcement.id)
        )
    )
    return _page("announcements/index.html", event, form, announcements=rows, when=_when)


@bp.route("/<int:announcement_id>", methods=["GET", "POST"])
@login_required
def edit(slug: str, announcement_id: int) -> str | Response:
    event = get_event(slug)
    announcement = _announcement(event, announcement_id)
    if not announcement.editable:
        flash(
            _("This %(kind_label)s was %(status)s and can no longer change.", kind_label=announcement.kind_label.lower(), status=announcement.status),
            "error",
        )
        return redirect(url_for(".index", slug=slug))
    form = AnnouncementForm(obj=announcement)
    if not form.is_submitted():
        form.send_date.data = announcement.send_wall.date()
        form.send_time.data = announcement.send_wall.time()
    if form.validate_on_submit() and _save(form, announcement, event):
        db.session.commit()
        flash(_("Saved; it goes out %(announcement)s.", announcement=_when(announcement)), "success")
        return redirect(url_for(".index", slug=slug))
    return _page("announcements/edit.html", event, form, announcement=announcement)


@bp.route("/<int:announcement_id>/cancel", methods=["POST"])
@login_required
def cancel(slug: str, announcement_id: int) -> Response:
    event = get_event(slug)
    announcement = _announcement(event, announcement_id)
    if FlaskForm().validate_on_submit() and announcement.editable:
        announcement.status = "cancelled"
        db.session.commit()
        flash(_("“%(subject)s” is cancelled and will not be sent.", subject=announcement.subject), "success")
    elif announcement.status == "sent":
        flash(_("It was already sent."), "error")
    return redirect(url_for(".index", slug=slug))


def _when(announcement: Announcement) -> str:
    local = announcement.send_local
    return f"{timezones.format_date(local)} {timezones.format_time(local)} {local.tzname()}"
