"""Webinar pages: the personal join link, and the officer's seats and recordings pages.

`/join/<token>` is reached from mail and personal calendars (no-referrer, no-store, as
every page whose URL carries a token); it redirects to the platform only when
`forum.join_links.follow` opens the door. The officer pages sit under the event's
subscribers area; every change goes through forum/webinars/seats.py / recordings.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from wtforms import BooleanField, IntegerField, SelectField, StringField, SubmitField, URLField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from forum.core import clock, i18n
from forum.core.extensions import db
from forum.core.tokens import TokenError
from forum.core.validation import CheckedForm
from forum.events import editing
from forum.models import Event, Material, Session, Subscription
from forum.models.events import MATERIAL_KINDS, MATERIAL_VISIBILITY
from forum.subscriptions import service as subscriptions
from forum.web.charts import seat_bar
from forum.web.events.manage_common import officer_event
from forum.web.forms import ConfirmForm
from forum.web.helpers import button_post, form_page, viewer_data
from forum.webinars import captions, join_links, recordings, seats

bp = Blueprint("webinars", __name__)


@bp.app_template_filter("platform")
def _platform(url: str) -> str:
    return join_links.platform_name(url or "")


@bp.app_context_processor
def _globals() -> dict[str, Any]:
    """For the public event page: public recordings and the seats left."""
    return {
        "public_materials": recordings.public_materials,
        "seat_counts": seats.counts,
        "waitlist_position": seats.waitlist_position,
        "registrant_materials": recordings.registrant_materials,
        "captions_href": captions.captions_href,  # pages and mail: a material's captions/transcript
        "transcript_href": captions.transcript_href,
        "personal_join_link": join_links.join_url,
        "now": clock.now,
    }


# --- the join link -------------------------------------------------------------------------


JOIN_STATUS = {
    "early": 200,
    "ended": 200,
    "no-room": 200,
    "cancelled": 410,
    "not-active": 403,
    "waitlisted": 403,
    "unknown": 404,
}


@bp.route("/join/<token>")
def join(token: str) -> Any:
    try:
        subscription, session = join_links.read(token)
    except TokenError as exc:
        return render_template("webinars/join.html", door=None, problem=str(exc)), 410 if exc.expired else 400
    if subscription is not None:
        i18n.use_locale(subscription.participant.language)
    door = join_links.follow(subscription, session, record=request.method != "HEAD")
    if door.url:
        db.session.commit()  # the attendance row
        return redirect(door.url, code=303)
    return render_template(
        "webinars/join.html",
        door=door,
        problem=None,
        viewer=viewer_data([door.session], door.session.timezone) if door.session else [],
    ), JOIN_STATUS.get(door.state, 200)


# --- officer pages -------------------------------------------------------------------------


def _officer_event(slug: str) -> Event:
    """The series these officer pages are about: seats, join doors and recordings belong to
    webinar series only (an e-forum has no tab for them, and a typed URL gets a 404)."""
    event = officer_event(slug)
    if event.is_eforum:
        abort(404, description=_l("Seats, join links and recordings are for webinar series; this is an e-forum."))
    return event


class SeatsForm(CheckedForm):
    seat_limit = IntegerField(
        _l("Seat limit (empty: unlimited)"),
        validators=[Optional(), NumberRange(min=1, max=1_000_000, message=_l("A whole number of at least 1."))],
    )
    door_minutes = IntegerField(
        _l("Join links open this many minutes before each session"),
        validators=[InputRequired(_l("Give a number of minutes.")), NumberRange(min=0, max=24 * 60)],
    )
    save = SubmitField(_l("Save"))




def _seats_page(event: Event, form: SeatsForm, status: int = 200) -> Any:
    return render_template(
        "webinars/seats.html",
        event=event,
        form=form,
        counts=seats.counts(event),
        waiting=seats.waiting_list(event),
        button=ConfirmForm(formdata=None),
        seat_bar=seat_bar,
    ), status


@bp.route("/manage/events/<slug>/seats", methods=["GET", "POST"])
def seats_page(slug: str) -> Any:
    event = _officer_event(slug)
    form = SeatsForm(data={"seat_limit": event.seat_limit, "door_minutes": event.door_minutes})
    if form.validate_on_submit():
        try:  # a raised limit seats the waiting list, each with welcome and invitations
            change = editing.update_event(
                event, {"seat_limit": form.seat_limit.data, "door_minutes": form.door_minutes.data or 0}
            )
        except editing.EventChangeError as exc:
            db.session.rollback()
            form[exc.field].errors = [*form[exc.field].errors, str(exc)]
            return _seats_page(event, form, 400)
        promoted = change.promoted
        db.session.commit()
        flash(
            ngettext(
                "Saved. %(num)d person from the waiting list got a seat and their invitations.",
                "Saved. %(num)d people from the waiting list got a seat and their invitations.",
                len(promoted),
            )
            if promoted
            else _("Saved.")
        )
        return redirect(url_for(".seats_page", slug=slug), code=303)
    return _seats_page(event, form, 400 if form.errors else 200)


def _waiting(event: Event, sub_id: int) -> Subscription:
    sub = db.session.get(Subscription, sub_id)
    if sub is None or sub.event_id != event.id or sub.status != "waitlisted":
        abort(404, description=_l("That person is not on this waiting list (any more)."))
    return sub


def _for_waiting(
    slug: str, sub_id: int, action: Callable[[Subscription], object], done: Callable[[str], str]
) -> Any:
    """An officer's button for one person on the waiting list; `done(email)` says what was
    done to them (a function, so the sentence is translated whole, the address inside it)."""
    sub = _waiting(_officer_event(slug), sub_id)
    return button_post(lambda: action(sub), done(sub.participant.email), url_for(".seats_page", slug=slug))


def _promoted(email: str) -> str:
    return _("%(email)s has a seat now; their welcome and invitations are on the way.", email=email)


def _removed(email: str) -> str:
    return _("%(email)s was taken off the waiting list.", email=email)


@bp.route("/manage/events/<slug>/seats/<int:sub_id>/promote", methods=["POST"])
def promote(slug: str, sub_id: int) -> Any:
    return _for_waiting(slug, sub_id, subscriptions.promote_by_hand, _promoted)


@bp.route("/manage/events/<slug>/seats/<int:sub_id>/remove", methods=["POST"])
def remove(slug: str, sub_id: int) -> Any:
    return _for_waiting(slug, sub_id, subscriptions.unsubscribe, _removed)


class MaterialForm(CheckedForm):
    session_id = SelectField(_l("Session"), coerce=int)
    kind = SelectField(
        _l("What"), choices=[SelectChoice(k, v) for k, v in MATERIAL_KINDS.items()], default="recording"
    )
    title = StringField(_l("Title (optional)"), validators=[Length(max=200)])
    url = URLField(_l("Link"), validators=[InputRequired(_l("Give the link (https://...).")), Length(max=500)])
    public = SelectField(
        _l("Who may see it"),
        choices=[SelectChoice(k, v) for k, v in MATERIAL_VISIBILITY.items()],
        default="registrants",
    )
    hold_for_captions = BooleanField(_l("Send the “recording available” mail when captions are ready"))
    add = SubmitField(_l("Add"))


def _material_form(event: Event) -> MaterialForm:
    form = MaterialForm()
    form.session_id.choices = [
        (s.id, f"{s.display_title} ({s.start_local:%Y-%m-%d})") for s in event.sessions
    ]
    return form


@bp.route("/manage/events/<slug>/recordings", methods=["GET", "POST"])
def recordings_page(slug: str) -> Any:
    event = _officer_event(slug)
    form = _material_form(event)
    if form.validate_on_submit():
        session = db.session.get(Session, form.session_id.data)
        if session is None or session.event_id != event.id:
            abort(404)
        try:
            recordings.add_material(
                session,
                url=form.url.data or "",
                kind=form.kind.data,
                title=form.title.data or "",
                public=form.public.data == "public",
                hold_for_captions=bool(form.hold_for_captions.data),
            )
        except recordings.MaterialError as exc:
            db.session.rollback()
            getattr(form, exc.field).errors = [str(exc)]
        else:
            db.session.commit()
            flash(
                _("Added to %(display_title)s. Registrants get one “recording available” mail per session once it is over.", display_title=session.display_title)
            )
            return redirect(url_for(".recordings_page", slug=slug), code=303)
    signup = SignupForm(formdata=None, data={"offer": event.recordings_signup})
    return form_page("webinars/recordings.html", form, event=event, button=ConfirmForm(formdata=None), signup=signup)


class SignupForm(CheckedForm):
    offer = BooleanField(_l("After the last session, offer “Register for the recordings” on the event page"))
    save = SubmitField(_l("Save"))


@bp.route("/manage/events/<slug>/recordings/signup", methods=["POST"])
def recordings_signup(slug: str) -> Any:
    event = _officer_event(slug)
    form = SignupForm()
    if not form.validate_on_submit():
        abort(400, description=_("The form expired. Go back, reload the page and try again."))
    recordings.offer_to_new_registrants(event, bool(form.offer.data))
    db.session.commit()
    flash(
        _("Once the event is over, its page offers “Register for the recordings”.")
        if event.recordings_signup
        else _("Once the event is over, its page takes no registrations.")
    )
    return redirect(url_for(".recordings_page", slug=slug), code=303)


@bp.route("/manage/events/<slug>/recordings/<int:material_id>/delete", methods=["POST"])
def delete_material(slug: str, material_id: int) -> Any:
    event = _officer_event(slug)
    material = db.session.get(Material, material_id)
    if material is None or material.session.event_id != event.id:
        abort(404)
    return button_post(
        lambda: recordings.remove_material(material), _("Removed."), url_for(".recordings_page", slug=slug)
    )
