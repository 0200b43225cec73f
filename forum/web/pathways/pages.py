"""Public pathway pages, following by email, and the signed links in step mails.

`/pathways` serves both ways people learn: by learning need (a sequence: what first, what
next) and by topic or search (point of need). `/pathways/<slug>` shows a pathway's steps
with upcoming sessions in the reader's zone. Every page after the follow form is reached
through a signed link; GET only shows a button, POST acts, so mail scanners that fetch
links change nothing.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import BooleanField, EmailField, SelectField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired

from forum.core import clock, timezones
from forum.core.extensions import csrf, db, limiter
from forum.core.tokens import TokenError, read_token
from forum.core.validation import CheckedForm
from forum.mail import links
from forum.models import Participant
from forum.models.pathways import INTERVALS, WEEKDAYS, Pathway, PathwayFollow
from forum.pathways import follow as following
from forum.pathways import service
from forum.team import scopes
from forum.web.events.public import line_zones, viewer_zone_from_request, zone_lines_for
from forum.web.forms import CachedSelect, ConfirmForm
from forum.web.helpers import commit_or_flash, confirm_page, form_page
from forum.web.page_cache import cached_page
from forum.web.security import is_one_click

bp = Blueprint("pathways", __name__)


def _follow_limit() -> str:
    return current_app.config["SUBSCRIBE_RATE_LIMIT"]


class PaceFields(CheckedForm):
    interval_days = SelectField(
        _l("How often"), coerce=int, choices=[SelectChoice(k, v) for k, v in INTERVALS.items()], default=7
    )
    weekday = SelectField(
        _l("Day of the week"),
        coerce=int,
        choices=[SelectChoice(i, day) for i, day in enumerate(WEEKDAYS)],
        default=0,
    )
    hour = SelectField(
        _l("Hour"),
        coerce=int,
        choices=[SelectChoice(h, f"{(h % 12) or 12}:00 {'AM' if h < 12 else 'PM'}") for h in range(24)],
        default=9,
    )
    timezone = SelectField(_l("Time zone"), default="America/New_York", widget=CachedSelect())
    advance_on_done = BooleanField(_l("When I mark a step done, send the next one straight away"), default=True)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.timezone.choices = [SelectChoice(z, z.replace("_", " ")) for z in timezones.all_zone_names()]


class FollowForm(PaceFields):
    email = EmailField(_l("Email address"), validators=[InputRequired(_l("Enter an email address."))])
    submit = SubmitField(_l("Follow by email"))


class PaceForm(PaceFields):
    save = SubmitField(_l("Save"))
    pause = SubmitField(_l("Pause"))
    resume = SubmitField(_l("Resume"))
    leave = SubmitField(_l("Stop following"))
    restart = SubmitField(_l("Follow again"))


# --- browsing ------------------------------------------------------------------------------------


@bp.route("/pathways")
def index() -> Any:
    """From the page cache (a search too: its words are in the key)."""
    return cached_page(_index_html, _index_html, reads=("q", "topic"))


def _index_html() -> str:
    query = (request.args.get("q") or "").strip()[:200]
    topic = (request.args.get("topic") or "").strip()[:100]
    searching = bool(query or topic)
    resources, matching = service.search(query, topic) if searching else ([], [])
    return render_template(
        "pathways/index.html",
        needs=service.needs_with_pathways(),
        topics=service.topic_counts(),
        query=query,
        topic=topic,
        searching=searching,
        resources=resources,
        matching=matching,
        pathways_with=service.pathways_with,
        minutes_of=service.minutes_of,
    )


def _visible(slug: str) -> Pathway:
    pathway = service.pathway_for_page(slug)
    officer = current_user if current_user.is_authenticated else None
    if pathway is None or not (pathway.is_published or scopes.can_on(officer, scopes.OBJECT_VIEW, pathway)):
        abort(404, description=_l("There is no published pathway at this address."))
    return pathway


def step_views(pathway: Pathway, viewer_zone: str) -> list[dict[str, Any]]:
    """What the page shows for each step: state, time, upcoming sessions in the zones."""
    now = clock.now()
    views = []
    for number, step in enumerate(pathway.steps, start=1):
        resource = step.resource
        state = service.step_state(resource, now)
        sessions = []
        for session in service.upcoming_sessions(resource, now) if state == "upcoming" else []:
            lines, viewer = zone_lines_for(session, session.timezone, viewer_zone)
            zones = line_zones(session.timezone)
            sessions.append({"session": session, "lines": lines, "viewer": viewer, "zones": zones})
        views.append(
            {
                "number": number,
                "step": step,
                "resource": resource,
                "title": service.public_title(resource),
                "state": state,
                "minutes": service.minutes_of(resource),
                "sessions": sessions,
                "event": resource.the_event,
                "recording_url": service.recording_url(resource) if state == "past" else None,
            }
        )
    return views


@bp.route("/pathways/<slug>", methods=["GET", "POST"])
@limiter.limit(_follow_limit, methods=["POST"])
def pathway(slug: str) -> Any:
    if request.method == "GET":  # the same for every reader but its form's token: cached

        def page() -> str:
            return _pathway_page(_visible(slug), FollowForm())[0]

        def uncached() -> tuple[str, int]:
            return _pathway_page(_visible(slug), FollowForm())

        return cached_page(page, uncached, csrf_form=True, reads=("tz",))  # tz: `_pathway_page`
    item = _visible(slug)
    form = FollowForm()
    if form.validate_on_submit():
        try:
            following.follow(item, form.email.data or "", **_pace(form))
        except following.FollowError as exc:
            db.session.rollback()
            getattr(form, exc.field, form.email).errors = [str(exc)]
        else:
            db.session.commit()
            return render_template("pathways/check_inbox.html", pathway=item)
    return _pathway_page(item, form)


def _pathway_page(item: Pathway, form: FollowForm) -> tuple[str, int]:
    if request.method == "GET":
        form.timezone.data = viewer_zone_from_request() if request.args.get("tz") else "America/New_York"
    viewer_zone = viewer_zone_from_request()
    views = step_views(item, viewer_zone)
    by_step = {v["step"].id: v for v in views}
    return form_page(
        "pathways/pathway.html",
        form,
        pathway=item,
        stages=[(name, [by_step[s.id] for s in steps]) for name, steps in service.stages(item)],
        total=service.total_minutes(item),
        viewer_zone=viewer_zone,
        has_sessions=any(v["sessions"] for v in views),
    )


# --- signed links ---------------------------------------------------------------------------------


def _link_problem(exc: TokenError) -> tuple[str, int]:
    page = render_template("pathways/link_problem.html", expired=exc.expired, message=str(exc))
    return page, 410 if exc.expired else 400


def _pace(form: Any) -> dict[str, Any]:
    """The pace a follow form asks for (the follow and pace forms share these fields)."""
    return {
        "interval_days": form.interval_days.data,
        "weekday": form.weekday.data,
        "hour": form.hour.data,
        "zone": form.timezone.data,
        "advance_on_done": bool(form.advance_on_done.data),
    }


def _gone() -> tuple[str, int]:
    return render_template(
        "pathways/link_problem.html", expired=False, message=_l("This follow no longer exists.")
    ), 404


def _followed(purpose: str, token: str) -> PathwayFollow | tuple[str, int]:
    """The follow a signed link names, or the page that says why the link no longer works."""
    try:
        item = following.read_follow_token(purpose, token)
    except TokenError as exc:
        return _link_problem(exc)
    if item is None or not item.participant.email:
        return _gone()
    return item


@bp.route("/pathways/follow/<token>", methods=["GET", "POST"])
def confirm(token: str) -> Any:
    item = _followed("pathway-confirm", token)
    if not isinstance(item, PathwayFollow):
        return item
    return confirm_page(
        "pathways/confirm.html",
        item,
        following.confirm,
        follow=item,
        preferences_url=links.preferences_url(item.participant),
    )


@bp.route("/pathways/step/<token>/<action>", methods=["GET", "POST"])
def step_action(token: str, action: str) -> Any:
    """Done, skip or pause from a step mail: GET asks, POST does it."""
    if action not in following.ACTIONS:
        abort(404)
    try:
        found = following.read_step_token(token)
    except TokenError as exc:
        return _link_problem(exc)
    if found is None or not found[0].participant.email:
        return _gone()
    item, step = found
    form = ConfirmForm()
    acted = False
    if form.validate_on_submit():
        if action == "pause":
            following.pause(item)
        else:
            following.mark(item, step, "done" if action == "done" else "skipped")
        db.session.commit()
        acted = True
    return render_template(
        "pathways/step_action.html",
        follow=item,
        step=step,
        action=action,
        label=following.ACTIONS[action],
        acted=acted,
        form=form,
        next_due=following.next_due_text(item),
        soon=item.next_due_at is not None and item.next_due_at <= clock.now(),
        preferences_url=links.preferences_url(item.participant),
    )


@bp.route("/pathways/leave/<token>", methods=["GET", "POST"])
@csrf.exempt
def leave(token: str) -> Any:
    """Stop following. Exempt from CSRFProtect only for RFC 8058 one-click POSTs (a mail
    provider's, with no cookie); the page's own button still checks its form's token."""
    item = _followed("pathway-leave", token)
    if not isinstance(item, PathwayFollow):
        return item
    form = ConfirmForm()
    if is_one_click() or form.validate_on_submit():
        following.leave(item)
        db.session.commit()
    return render_template(
        "pathways/leave.html", follow=item, form=form, preferences_url=links.preferences_url(item.participant)
    )


# --- the preferences page's "Pathways" section ----------------------------------------------------


def pace_form(item: PathwayFollow) -> PaceForm:
    form = PaceForm(
        formdata=None,
        data={
            "interval_days": item.interval_days,
            "weekday": item.weekday,
            "hour": item.hour,
            "timezone": item.timezone,
            "advance_on_done": item.advance_on_done,
        },
        prefix=f"f{item.id}",
    )
    return form


@bp.app_context_processor
def _preferences_helpers() -> dict[str, Any]:
    """`pathway_follows(participant)` for the include on the preferences page."""

    def pathway_follows(participant: Participant) -> list[dict[str, Any]]:
        return [
            {
                "follow": item,
                "form": pace_form(item),
                "next_due": following.next_due_text(item),
                "done": sum(1 for p in item.progress if p.state == "done"),
            }
            for item in following.follows_of(participant)
        ]

    return {"pathway_follows": pathway_follows}


@bp.route("/preferences/<token>/pathways/<int:follow_id>", methods=["POST"])
def settings(token: str, follow_id: int) -> Any:
    """Pace, pause, resume or stop, from the preferences page (its signed link)."""
    try:
        participant_id = read_token("preferences", token, links.token_max_age("preferences"))
    except TokenError as exc:
        return _link_problem(exc)
    item = db.session.get(PathwayFollow, follow_id)
    if item is None or item.participant_id != participant_id or not item.participant.email:
        return _gone()
    form = PaceForm(prefix=f"f{item.id}")
    back = redirect(url_for("subscriptions.preferences", token=token) + "#pathways", code=303)
    if not form.validate_on_submit():
        flash(
            _("That change could not be saved: ") + "; ".join(e for errs in form.errors.values() for e in errs),
            "error",
        )
        return back
    if form.leave.data:
        following.leave(item)
        flash(_("You no longer follow %(pathway)s.", pathway=item.pathway.title))
    elif form.pause.data:
        following.pause(item)
        flash(_("%(pathway)s is paused.", pathway=item.pathway.title))
    elif form.resume.data:
        following.resume(item)
        flash(_("%(pathway)s continues.", pathway=item.pathway.title))
    elif form.restart.data and item.status == "left" and item.pathway.is_published:
        following.start(item)
        flash(_("You follow %(pathway)s again, from where you stopped.", pathway=item.pathway.title))
    else:
        if not commit_or_flash(lambda: following.set_pace(item, **_pace(form)), following.FollowError):
            return back
        flash(_("Your pace for %(pathway)s is saved.", pathway=item.pathway.title))
    db.session.commit()
    return back
