"""Participant-facing subscription pages: subscribe, confirm, preferences, unsubscribe.

No passwords: every page after the sign-up is reached through a signed link from a
mail (forum.links). Answers never reveal whether an address is known; what differs
goes by mail only (see forum.subscriptions).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time
from typing import Any, TypeVar

from babel import Locale
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import TooManyRequests
from wtforms import BooleanField, EmailField, Field, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, ValidationError

from forum.calendars import invites, leaving
from forum.core import clock, i18n, timezones
from forum.core.extensions import csrf, db, limiter
from forum.core.timezones import zone_picker
from forum.core.tokens import TokenError
from forum.core.validation import CheckedForm
from forum.discussion import thread_choices
from forum.mail import links
from forum.models import (
    DELIVERY_MODES,
    DIGEST_RHYTHMS,
    DIGEST_STYLES,
    WEEKDAYS,
    Event,
    Participant,
    Subscription,
)
from forum.registration import answers, questions
from forum.registration import service as registration
from forum.subscriptions import delivery, erasure, service
from forum.subscriptions.state import registration_state
from forum.web.forms import ConfirmForm
from forum.web.helpers import button_post, confirm_page, form_page
from forum.web.security import is_one_click

bp = Blueprint("subscriptions", __name__)

def mode_choices() -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in DELIVERY_MODES.items()]


def valid_address(form: FlaskForm, field: Field) -> None:
    """email-validator's own reason next to the field (no deliverability lookups)."""
    try:
        service.normalize_email(field.data or "")
    except service.SubscriptionError as exc:
        raise ValidationError(str(exc)) from None


def subscribe_limit() -> str:
    """Per client address, shared by the form and the JSON API (SUBSCRIBE_RATE_LIMIT)."""
    return current_app.config["SUBSCRIBE_RATE_LIMIT"]


def fresh_link_limit() -> str:
    return current_app.config["FRESH_LINK_RATE_LIMIT"]


subscribe_rate = limiter.shared_limit(subscribe_limit, scope="subscribe", methods=["POST"])


# --- forms -----------------------------------------------------------------------------


class SubscribeForm(CheckedForm):
    email = EmailField(_l("Email address"), validators=[InputRequired(_l("Enter an email address.")), valid_address])
    name = StringField(_l("Name (optional)"), validators=[Length(max=200)])
    mode = SelectField(_l("Delivery"), choices=mode_choices(), default="each")
    # Required only when the event has a code of conduct (checked by the service, which
    # knows the event); the template shows the box only then.
    conduct = BooleanField(_l("I have read and accept the code of conduct"))
    submit = SubmitField(_l("Subscribe"))


class EraseForm(CheckedForm):
    """The second, deliberate step of "delete my address and my data"."""

    submit = SubmitField(_l("Delete my address and my data"))


class FreshLinkForm(CheckedForm):
    email = EmailField(_l("Your email address"), validators=[InputRequired(_l("Enter your email address."))])
    submit = SubmitField(_l("Mail me a new link"))


class ProfileForm(CheckedForm):
    name = StringField(_l("Your name"), validators=[Length(max=200)])
    timezone = SelectField(_l("Your time zone"), render_kw={"data-zone-search": ""})
    language = SelectField(_l("Language of pages and mail"))
    save = SubmitField(_l("Save preferences"))
    leave_all = SubmitField(_l("Leave every event"))


def zone_choices() -> list[SelectChoice]:
    unset = SelectChoice("", "Not set: show each event's own zone")

    return [unset] + [
        SelectChoice(name, label, optgroup=group) for group, entries in zone_picker(clock.now()) for name, label in entries
    ]


def browser_zone(participant: Participant) -> str:
    """The zone to offer a participant who saved none: the one their browser told a page
    before (the `tz` cookie the discussion pages keep); empty when we know of none. The
    page's script offers the browser's own zone in the same way when there is no cookie."""
    if participant.timezone:
        return ""
    return timezones.reader_zone(request.cookies.get("tz"), fallback="")


def preferences_form(participant: Participant, subs: list[Subscription]) -> ProfileForm:
    """A form with the profile fields plus one leave box per subscription and, for each
    e-forum, a delivery picker (a series has no list mail to choose a delivery for, as at
    sign-up: see `_mode_for`)."""

    class Form(ProfileForm):
        pass

    data: dict[str, Any] = {"name": participant.name, "timezone": participant.timezone or browser_zone(participant)}
    for sub in subs:
        if sub.event.is_eforum:
            title = sub.event.title
            setattr(Form, f"mode_{sub.id}", SelectField(_("Delivery for %(event)s", event=title), choices=mode_choices()))
            for name, field in digest_fields(sub.event).items():
                setattr(Form, f"{name}_{sub.id}", field)
            data[f"mode_{sub.id}"] = sub.mode
            data.update({f"{name}_{sub.id}": value for name, value in delivery_form_values(sub).items()})
            for choice in thread_choices.choices_of(sub):
                setattr(
                    Form,
                    f"thread_{sub.id}_{choice.thread_id}",
                    BooleanField(_l("Back to usual delivery for “%(subject)s”", subject=choice.thread.subject)),
                )
        setattr(Form, f"leave_{sub.id}", BooleanField(_("Leave %(event)s", event=sub.event.title)))
    data["language"] = i18n.recipient_locale(participant.language)
    form = Form(data=data)
    form.timezone.choices = zone_choices()
    form.language.choices = language_choices(participant.language)
    return form


def language_choices(current: str | None) -> list[SelectChoice]:
    """The offered locales, plus the person's own when it is another region (`fr_BE` from
    their browser) so saving the page never changes it behind their back."""
    choices = list(i18n.LOCALE_CHOICES)
    mine = i18n.recipient_locale(current)
    if mine not in dict(choices):
        choices.insert(0, (mine, Locale.parse(mine).get_display_name(mine) or mine))
    return [SelectChoice(tag, name, render_kw={"lang": tag.replace("_", "-")}) for tag, name in choices]


def digest_fields(event: Event) -> dict[str, SelectField]:
    """The digest choices of one e-forum subscription on the preferences page."""
    forum_hour = timezones.format_time(datetime.combine(date(2000, 1, 1), time(hour=event.digest_hour)))
    hours = [SelectChoice("", _l("The e-forum's hour (%(hour)s, its own zone)", hour=forum_hour))]
    hours += [
        SelectChoice(str(h), timezones.format_time(datetime.combine(date(2000, 1, 1), time(hour=h))))
        for h in range(24)
    ]
    return {
        "digest_rhythm": SelectField(_l("Digest"), choices=[SelectChoice(k, v) for k, v in DIGEST_RHYTHMS.items()]),
        "digest_style": SelectField(_l("Digest holds"), choices=[SelectChoice(k, v) for k, v in DIGEST_STYLES.items()]),
        "digest_hour": SelectField(
            _l("Digest hour"), choices=hours, description=_l("In your own time zone (above), when you pick one.")
        ),
        "digest_weekday": SelectField(
            _l("Weekly digest day"), choices=[SelectChoice(str(n), day) for n, day in enumerate(WEEKDAYS)]
        ),
    }


def delivery_form_values(sub: Subscription) -> dict[str, str]:
    """A subscription's digest choices as the form's select fields hold them."""
    return {
        "digest_rhythm": sub.digest_rhythm,
        "digest_style": sub.digest_style,
        "digest_hour": "" if sub.digest_hour is None else str(sub.digest_hour),
        "digest_weekday": str(sub.digest_weekday),
    }


def delivery_from_form(form: ProfileForm, sub: Subscription) -> dict[str, Any]:
    """What `delivery.set_delivery` takes, read from the form's fields of one subscription."""
    hour = getattr(form, f"digest_hour_{sub.id}").data or ""
    weekday = getattr(form, f"digest_weekday_{sub.id}").data or "0"
    return {
        "mode": getattr(form, f"mode_{sub.id}").data,
        "digest_rhythm": getattr(form, f"digest_rhythm_{sub.id}").data,
        "digest_style": getattr(form, f"digest_style_{sub.id}").data,
        "digest_hour": int(hour) if hour.isdigit() else None,
        "digest_weekday": int(weekday) if weekday.isdigit() else 0,
    }


@bp.app_context_processor
def _subscribe_form_factory() -> dict[str, Any]:
    """`new_subscribe_form()` and `registration_state(event)` for `_subscribe_form.html` and
    the event page's head, on pages other blueprints render."""
    return {
        "new_subscribe_form": lambda: SubscribeForm(formdata=None),
        "registration_state": registration_state,
    }


def _mode_for(event: Event, wanted: str | None) -> str:
    """A webinar series has no list mail to choose a delivery for: registrants get each
    notice. E-forums keep the choice."""
    return (wanted or "each") if event.is_eforum else "each"


# --- subscribe ---------------------------------------------------------------------------


def _open_event(slug: str) -> Event:
    event = Event.by_slug(slug)
    if event is None or event.status != "published":
        abort(404, description=_l("There is no open event at this address."))
    return event


@bp.route("/events/<slug>/subscribe", methods=["GET", "POST"])
@subscribe_rate
def subscribe(slug: str) -> Any:
    event = _open_event(slug)
    form = SubscribeForm()
    raw = answers.raw_from_form(questions.event_form(event), request.form)
    answer_errors: dict[int, str] = {}
    if request.method == "POST":
        # checked with the other fields, so every mistake shows at once
        answer_errors = registration.check(event, raw).errors
    if form.validate_on_submit() and not answer_errors:
        try:
            registration.register(
                event,
                form.email.data or "",
                raw,
                name=form.name.data or "",
                mode=_mode_for(event, form.mode.data),
                conduct_accepted=bool(form.conduct.data),
                source="web",
                language=i18n.browser_locale(),
            )
        except service.SubscriptionError as exc:
            db.session.rollback()
            getattr(form, exc.field, form.email).errors = [str(exc)]
        except registration.AnswerErrors as exc:
            db.session.rollback()
            answer_errors = exc.errors
        else:
            db.session.commit()
            return render_template("subscriptions/check_inbox.html", event=event)
    status = 400 if form.errors or answer_errors else 200
    return render_template(
        "subscriptions/subscribe.html",
        event=event,
        subscribe_form=form,
        answer_values=raw if request.method == "POST" else {},
        answer_errors=answer_errors,
    ), status


# --- confirm -----------------------------------------------------------------------------


def link_problem(exc: TokenError, purpose: str) -> tuple[str, int]:
    """A clear page for a cut/changed link (400) or an old one (410, with a way forward)."""
    event = None
    if exc.expired and purpose == "confirm" and isinstance(exc.payload, int):
        sub = db.session.get(Subscription, exc.payload)
        event = sub.event if sub else None
    page = render_template(
        "subscriptions/link_problem.html",
        expired=exc.expired,
        purpose=purpose,
        message=str(exc),
        event=event,
        fresh_form=FreshLinkForm(formdata=None),
    )
    return page, 410 if exc.expired else 400


@bp.route("/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str) -> Any:
    """GET shows a button and POST confirms: link scanners that fetch URLs in mail
    must not be able to confirm on someone's behalf."""
    subscription = linked("confirm", lambda: service.read_link("confirm", token))
    return confirm_page(
        "subscriptions/confirm.html",
        subscription,
        service.confirm,
        subscription=subscription,
        event=subscription.event,
        preferences_url=links.preferences_url(subscription.participant),
    )


# --- preferences -------------------------------------------------------------------------


_Linked = TypeVar("_Linked", Participant, Subscription)


def linked(purpose: str, read: Callable[[], _Linked | None]) -> _Linked:
    """What a signed `purpose` link names (`read` reads it), or the page to show instead
    (the request ends there): an expired or tampered link, a row gone, a participant who
    erased their data. Every page reached from a personal link in mail starts with this, and
    is then in the language of the participant it names."""
    try:
        found = read()
    except TokenError as exc:
        abort(make_response(link_problem(exc, purpose)))
    if found is None:
        abort(make_response(render_template("subscriptions/gone.html"), 404))
    person = found if isinstance(found, Participant) else found.participant
    if erasure.is_erased(person):
        abort(make_response(removed()))
    i18n.use_locale(person.language)
    return found


def linked_participant(token: str) -> Participant:
    """The participant a preferences link names (see `linked`)."""
    return linked("preferences", lambda: service.read_link("preferences", token))


def linked_subscription(token: str) -> Subscription:
    """The subscription an unsubscribe link names (see `linked`)."""
    return linked("unsubscribe", lambda: service.read_link("unsubscribe", token))


@bp.route("/preferences/<token>", methods=["GET", "POST"])
def preferences(token: str) -> Any:
    participant = linked_participant(token)
    subs = service.live_subscriptions(participant)
    form = preferences_form(participant, subs)
    if form.validate_on_submit():
        if form.leave_all.data:
            leaving_now = service.live_subscriptions(participant)
            left = service.unsubscribe_all(participant)
            db.session.commit()
            removals = sum(leaving.removals_sent(sub) for sub in leaving_now)
            flash(
                ngettext("You have left %(num)d event.", "You have left %(num)d events.", left)
                + " "
                + after_leaving(removals, several=True)
            )
            return redirect(url_for(".preferences", token=token), code=303)
        service.set_profile(
            participant, name=form.name.data or "", timezone=form.timezone.data, language=form.language.data
        )
        left = 0
        try:
            for sub in subs:
                if sub.event.is_eforum:
                    delivery.set_delivery(sub, **delivery_from_form(form, sub))
                    for choice in thread_choices.choices_of(sub):
                        if getattr(form, f"thread_{sub.id}_{choice.thread_id}").data:
                            thread_choices.choose(sub, choice.thread_id, None)
                if getattr(form, f"leave_{sub.id}").data:
                    service.unsubscribe(sub)
                    left += 1
        except service.SubscriptionError as exc:
            db.session.rollback()
            return _preferences_page(participant, subs, form, token, {sub.id: str(exc)})
        db.session.commit()
        if left:
            flash(ngettext("Your preferences are saved. You left %(num)d event.", "Your preferences are saved. You left %(num)d events.", left))
        else:
            flash(_("Your preferences are saved."))
        return redirect(url_for(".preferences", token=token), code=303)
    return _preferences_page(participant, subs, form, token)


def _preferences_page(
    participant: Participant, subs: list[Subscription], form: ProfileForm, token: str, errors: dict[int, str] | None = None
) -> tuple[str, int]:
    past = [s for s in participant.subscriptions if s not in subs]
    page, status = form_page(
        "subscriptions/preferences.html",
        form,
        participant=participant,
        subs=subs,
        past=past,
        token=token,
        button=ConfirmForm(formdata=None),
        suggested_zone=browser_zone(participant),
        delivery_errors=errors or {},
        thread_choices={sub.id: thread_choices.choices_of(sub) for sub in subs if sub.event.is_eforum},
        threads_url=links.threads_url,
    )
    return page, 400 if errors else status


def removed(status: int = 410) -> tuple[str, int]:
    """What every old link of an erased participant shows (410: gone on purpose)."""
    return render_template("subscriptions/removed.html"), status


@bp.route("/preferences/<token>/erase", methods=["GET", "POST"])
def erase(token: str) -> Any:
    """GET says exactly what erasing does; only the POST (with CSRF) erases."""
    participant = linked_participant(token)
    form = EraseForm()
    if form.validate_on_submit():
        erasure.erase_participant(participant)
        db.session.commit()
        return render_template("subscriptions/erased.html")
    return form_page(
        "subscriptions/erase.html",
        form,
        participant=participant,
        subs=service.live_subscriptions(participant),
        token=token,
    )


@bp.route("/preferences/<token>/invite/<int:sub_id>", methods=["POST"])
def send_invite(token: str, sub_id: int) -> Any:
    """Mail a calendar invite for one event's upcoming sessions (e-forums get none unasked)."""
    participant = linked_participant(token)
    sub = db.session.get(Subscription, sub_id)
    if sub is None or sub.participant_id != participant.id:
        return render_template("subscriptions/gone.html"), 404
    if ConfirmForm().validate_on_submit():
        queued = invites.send_invite(sub)
        db.session.commit()
        flash(
            _("A calendar invite for %(event)s is on its way.", event=sub.event.title)
            if queued
            else _("No new invite was sent for %(event)s: nothing upcoming, or one went out today.", event=sub.event.title)
        )
    return redirect(url_for(".preferences", token=token), code=303)


@bp.route("/preferences/new-link", methods=["GET", "POST"])
@limiter.limit(fresh_link_limit, methods=["POST"])
def fresh_link() -> Any:
    """Ask for a new preferences link; the answer is the same whether the address is known."""
    form = FreshLinkForm()
    if form.validate_on_submit():
        service.send_fresh_link(form.email.data or "")
        db.session.commit()
        return render_template("subscriptions/fresh_link_sent.html")
    return render_template("subscriptions/fresh_link.html", fresh_form=form), 400 if form.errors else 200


# --- unsubscribe -------------------------------------------------------------------------


def after_leaving(removals: int, several: bool = False) -> str:
    """What mail still comes after leaving: the calendar removals, one per session, then none
    (`several`: after leaving every event at once)."""
    if removals == 0:
        return _("No more mail will come from them.") if several else _("No more mail will come from it.")
    if several:
        return ngettext(
            "One last message removes its session from your calendar; after that no more mail will come from them.",
            "We are removing %(num)d sessions from your calendar: you will get one message per session "
            "(%(num)d in all), then no more mail from them.",
            removals,
        )
    return ngettext(
        "One last message removes its session from your calendar; after that no more mail will come from it.",
        "We are removing %(num)d sessions from your calendar: you will get one message per session "
        "(%(num)d in all), then no more mail from it.",
        removals,
    )


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt
def unsubscribe(token: str) -> Any:
    """Leave one event. Exempt from CSRFProtect only so that mail providers' one-click
    POSTs (no cookies, no token) work; every other POST is checked right here."""
    if request.method == "POST" and not is_one_click():
        csrf.protect()
    try:
        subscription = service.read_link("unsubscribe", token)
    except TokenError as exc:
        return link_problem(exc, "unsubscribe")
    if subscription is None:
        return render_template("subscriptions/gone.html"), 200 if request.method == "POST" else 404
    if erasure.is_erased(subscription.participant):
        # A one-click POST gets a 200 too: the address is off every list already.
        return removed(200 if request.method == "POST" else 410)
    if request.method == "POST":
        service.unsubscribe(subscription)
        db.session.commit()
    live = subscription.status in ("active", "pending")
    return render_template(
        "subscriptions/unsubscribe.html",
        subscription=subscription,
        event=subscription.event,
        # what comes after the click, said truly: one calendar removal per session
        calendar_sessions=len(leaving.calendar_sessions(subscription)) if live else 0,
        removals=0 if live else leaving.removals_sent(subscription),
        after_leaving=after_leaving,
        token=token,
        form=ConfirmForm(formdata=None),
        preferences_url=links.preferences_url(subscription.participant),
    )


@bp.route("/unsubscribe/<token>/rejoin", methods=["POST"])
def resubscribe(token: str) -> Any:
    """Undo a leave from the same signed link."""
    subscription = linked_subscription(token)
    return button_post(lambda: service.resubscribe(subscription), "", url_for(".unsubscribe", token=token))


# --- errors ------------------------------------------------------------------------------


def _wants_json() -> bool:
    return request.path.startswith("/api/")


@bp.errorhandler(429)
def too_many(exc: TooManyRequests) -> Any:
    message = "Too many requests from your network. Please wait a minute and try again."
    if _wants_json():
        return jsonify(error=message), 429
    return render_template("subscriptions/too_many.html", message=message), 429


@bp.errorhandler(CSRFError)
def csrf_failed(exc: CSRFError) -> Any:
    if _wants_json():
        return jsonify(error=exc.description), 400
    return render_template("subscriptions/csrf.html", reason=exc.description), 400


@bp.errorhandler(404)
def not_found(exc: Exception) -> Any:
    if _wants_json():
        return jsonify(error="Not found."), 404
    return render_template("subscriptions/gone.html"), 404
