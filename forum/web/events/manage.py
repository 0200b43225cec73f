"""Officer pages under /manage: events, their sessions and panelists, publish and cancel.

Views are thin: forms validate input, forum.events makes every change (so calendar
updates follow), and each POST ends in a redirect or re-renders with what was typed.
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask import session as cookie
from flask_login import current_user
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response
from wtforms import Field

from forum.calendars import rsvp
from forum.core.extensions import db, login
from forum.core.timezones import TimeInputError, localize
from forum.events import service as actions
from forum.mail.addresses import rsvp_address
from forum.mail.health import bounce_counts, daily_mail
from forum.models import Event, EventPanelist, Panelist, Session
from forum.web.charts import delivery_chart, stacked_rows
from forum.web.events.public import event_context
from forum.web.forms import (
    AttachPanelistForm,
    ConfirmForm,
    DayRangeForm,
    EventForm,
    PanelistForm,
    PanelistOnEventForm,
    RoleForm,
    SeriesForm,
    SessionForm,
    slugify,
)

bp = Blueprint("manage", __name__, url_prefix="/manage")

PANELIST_FIELDS = ("name", "title", "affiliation", "pronouns", "email", "photo_url", "links", "bio")
NEW_EVENT_DEFAULTS = {
    "kind": "eforum",
    "timezone": "America/New_York",
    "moderation": "new",
    "non_member_posts": "hold",
    "archive_public": True,
    "reply_to_list": True,
    "digest_hour": 18,
    "reminder_offsets": "1440,60",
}

Page = str | tuple[str, int] | Response


@bp.before_request
def require_officer() -> Response | None:
    """Every page here is for signed-in officers only."""
    if not current_user.is_authenticated:
        return login.unauthorized()
    return None


def get_event(slug: str) -> Event:
    event = db.session.scalar(
        select(Event)
        .where(Event.slug == slug)
        .options(selectinload(Event.sessions), selectinload(Event.panelist_links))
    )
    if event is None:
        abort(404, description=f"There is no event at “{slug}”.")
    return event


def get_session(event: Event, session_id: int) -> Session:
    session = db.session.get(Session, session_id)
    if session is None or session.event_id != event.id:
        abort(404, description="That session is not part of this event.")
    return session


def bad_request(template: str, **context: object) -> tuple[str, int]:
    """Re-render a form page with its errors, as a 400 (nothing typed is lost)."""
    return render_template(template, **context), 400


# --- events -----------------------------------------------------------------------------


@bp.route("/")
def index() -> Page:
    rows = db.session.scalars(select(Event).options(selectinload(Event.sessions))).all()
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
    if form.validate_on_submit():
        event = Event()
        if _save_event(form, event):
            flash(f"Created “{event.title}”. Now add its sessions.", "success")
            return redirect(url_for("manage.sessions", slug=event.slug))
    if request.method == "POST":
        return bad_request("manage/event_form.html", form=form, event=None)
    return render_template("manage/event_form.html", form=form, event=None)


@bp.route("/events/<slug>")
def event(slug: str) -> Page:
    ev = get_event(slug)
    return render_template(
        "manage/event.html",
        event=ev,
        recipients=actions.calendar_recipients(ev),
        warnings=actions.dst_warnings(ev),
        publish_warnings=actions.publish_warnings(ev),
        form=ConfirmForm(),
        delivery=delivery_health(ev),
        rsvps=rsvp_answers(ev),
    )


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
    recipients = actions.calendar_recipients(ev)
    old_title = ev.title
    if form.validate_on_submit() and _save_event(form, ev):
        message = "Saved."
        if recipients and ev.title != old_title:
            message += f" The new title goes to {_people(recipients)} as a calendar update."
        flash(message, "success")
        return redirect(url_for("manage.event", slug=ev.slug))
    if request.method == "POST":
        db.session.rollback()
        return bad_request("manage/event_form.html", form=form, event=get_event(slug), recipients=recipients)
    return render_template("manage/event_form.html", form=form, event=ev, recipients=recipients)


def _save_event(form: EventForm, event: Event) -> bool:
    """Copy the form onto the event and commit; False (with a field error) if the slug is taken."""
    wanted = form.slug.data or ""
    if event.id is not None and event.status != "draft" and wanted and wanted != event.slug:
        form.slug.errors = [
            "The address cannot change after publishing: the list address and links in sent mail use it."
        ]
        return False
    if not wanted:
        wanted = event.slug if event.id is not None else _free_slug(slugify(form.title.data or ""))
    other = Event.by_slug(wanted)
    if other is not None and other.id != event.id:
        form.slug.errors = [f"“{wanted}” is already the address of “{other.title}”. Pick another."]
        return False
    old_title = event.title
    for name in actions.EVENT_FIELDS:
        setattr(event, name, form[name].data if form[name].data is not None else "")
    event.slug = wanted
    if event.id is not None and old_title != event.title:
        actions.event_renamed(event, old_title)
    if event.id is None:
        db.session.add(event)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        form.slug.errors = [f"“{wanted}” was just taken by another event. Pick another."]
        return False
    return True


def _free_slug(base: str) -> str:
    slug, number = base, 2
    while Event.by_slug(slug) is not None:
        suffix = f"-{number}"
        slug = base[: 80 - len(suffix)] + suffix
        number += 1
    return slug


@bp.route("/events/<slug>/publish", methods=["POST"])
def publish(slug: str) -> Response:
    ev = get_event(slug)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400, description="The form expired. Go back, reload the page and try again.")
    if ev.status == "cancelled":
        flash("A cancelled event cannot be published again.", "error")
    elif not ev.active_sessions:
        flash("Add at least one session before publishing: the page needs dates.", "error")
    else:
        actions.publish_event(ev)
        db.session.commit()
        flash(f"Published. The public page is live at {url_for('public.event', slug=ev.slug)}.", "success")
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
            f"“{ev.title}” is cancelled. Calendar cancellations go to {_people(recipients)}.",
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


def _people(count: int) -> str:
    return f"{count} {'person' if count == 1 else 'people'}"


# --- sessions ---------------------------------------------------------------------------


def _sessions_page(
    ev: Event,
    form: SessionForm | None = None,
    days: DayRangeForm | None = None,
    status: int = 200,
    series: SeriesForm | None = None,
) -> tuple[str, int]:
    form = form or SessionForm(formdata=None, data={"timezone": ev.timezone})
    form.panelist_ids.choices = panelist_choices(ev)
    days = days or DayRangeForm(formdata=None, prefix="days", data={"timezone": ev.timezone})
    series = series or SeriesForm(
        formdata=None, prefix="series", data=series_defaults(ev)
    )
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
    for name in ("title_pattern", "join_url", "repeat", "timezone"):
        if kept.get(name):
            data[name] = kept[name]
    for name in ("start_time", "end_time"):
        if kept.get(name):
            data[name] = datetime.strptime(kept[name], "%H:%M").time()
    return data


def panelist_choices(ev: Event) -> list[tuple[int, str]]:
    return [(link.panelist_id, link.panelist.name) for link in ev.panelist_links]


def _check_times(form: SessionForm | DayRangeForm, day_start: datetime, day_end: datetime) -> bool:
    """Put a refused wall time (spring-forward gap) next to the field that holds it."""
    ok = True
    for field, wall in ((form.start_time, day_start), (form.end_time, day_end)):
        try:
            localize(wall, form.timezone.data or "")
        except TimeInputError as exc:
            field.errors = [*field.errors, str(exc)]
            ok = False
    return ok


def confirm_past(form: SessionForm | SeriesForm, date_field: Field, start: datetime) -> bool:
    """A start that has already gone by is added only once the officer ticks the box."""
    if not actions.is_past(start, form.timezone.data or "") or form.confirm_past.data:
        return True
    date_field.errors = [
        *date_field.errors,
        "This date is in the past. Tick “" + form.confirm_past.label.text + "” below to add it anyway.",
    ]
    form.ask_past = True  # type: ignore[union-attr]
    return False


@bp.route("/events/<slug>/sessions", methods=["GET", "POST"])
def sessions(slug: str) -> Page:
    ev = get_event(slug)
    if request.method == "GET":
        return _sessions_page(ev)
    form = SessionForm()
    form.panelist_ids.choices = panelist_choices(ev)
    if ev.status == "cancelled":
        flash("This event is cancelled; it takes no new sessions.", "error")
        return redirect(url_for("manage.sessions", slug=slug))
    if form.validate_on_submit():
        start, end = actions.wall_span(form.date.data, form.start_time.data, form.end_time.data)
        if _check_times(form, start, end) and confirm_past(form, form.date, start):
            recipients = actions.calendar_recipients(ev)
            added, notes = actions.add_session(
                ev,
                start,
                end,
                form.timezone.data,
                title=form.title.data or "",
                join_url=form.join_url.data or "",
                description=form.description.data or "",
            )
            actions.set_session_panelists(added, form.panelist_ids.data or [])
            db.session.commit()
            _flash_saved("Session added.", notes, ev, recipients)
            return redirect(url_for("manage.sessions", slug=slug))
    return _sessions_page(ev, form=form, status=400)


@bp.route("/events/<slug>/sessions/days", methods=["POST"])
def add_days(slug: str) -> Page:
    ev = get_event(slug)
    days = DayRangeForm(prefix="days")
    if ev.status == "cancelled":
        flash("This event is cancelled; it takes no new sessions.", "error")
        return redirect(url_for("manage.sessions", slug=slug))
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
        except TimeInputError as exc:
            db.session.rollback()
            days.start_time.errors = [str(exc)]
            return _sessions_page(get_event(slug), days=days, status=400)
        recipients = actions.calendar_recipients(ev)
        db.session.commit()
        message = f"Added {len(created)} day{'s' if len(created) != 1 else ''}."
        if skipped:
            message += " Skipped days that already had a session: " + ", ".join(
                f"{d.month}/{d.day}" for d in skipped
            )
        _flash_saved(message, notes, ev, recipients if created else 0)
        return redirect(url_for("manage.sessions", slug=slug))
    return _sessions_page(ev, days=days, status=400)


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
        return render_template(
            "manage/session_form.html", event=ev, session=session, form=form, recipients=recipients
        )
    form = SessionForm()
    form.panelist_ids.choices = panelist_choices(ev)
    if session.status == "cancelled":
        flash("This session is cancelled; it can no longer be changed.", "error")
        return redirect(url_for("manage.sessions", slug=slug))
    if form.validate_on_submit():
        start, end = actions.wall_span(form.date.data, form.start_time.data, form.end_time.data)
        moved = (start, form.timezone.data) != (session.start_wall, session.timezone)
        if _check_times(form, start, end) and (not moved or confirm_past(form, form.date, start)):
            before = session.sequence
            notes = actions.update_session(
                session,
                start,
                end,
                form.timezone.data,
                title=form.title.data or "",
                join_url=form.join_url.data or "",
                description=form.description.data or "",
            )
            actions.set_session_panelists(session, form.panelist_ids.data or [])
            db.session.commit()
            changed = session.sequence != before
            _flash_saved("Session saved.", notes, ev, recipients if changed else 0)
            return redirect(url_for("manage.sessions", slug=slug))
    return bad_request(
        "manage/session_form.html", event=ev, session=session, form=form, recipients=recipients
    )


def _flash_saved(message: str, notes: list[str], ev: Event, recipients: int) -> None:
    if ev.status == "published" and recipients:
        message += f" Calendar updates go to {_people(recipients)}."
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
    if not ConfirmForm().validate_on_submit():
        abort(400, description="The form expired. Go back, reload the page and try again.")
    live = sorted(ev.active_sessions, key=lambda s: s.starts_at)
    step = -1 if request.form.get("direction") == "up" else 1
    if session in live and 0 <= live.index(session) + step < len(live):
        other = live[live.index(session) + step]
        recipients = actions.calendar_recipients(ev)
        actions.swap_session_slots(session, other)
        db.session.commit()
        _flash_saved(
            f"“{session.title or 'Session'}” now takes the {session.start_wall.month}/{session.start_wall.day} slot.",
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
            flash("Session removed.", "success")
        else:
            actions.cancel_session(session, reason=request.form.get("reason", "")[:2000])
            db.session.commit()
            flash(f"Session cancelled. Calendar cancellations go to {_people(recipients)}.", "success")
        return redirect(url_for("manage.sessions", slug=slug))
    return render_template(
        "manage/cancel_session.html", event=ev, session=session, form=form, recipients=recipients
    )


# --- panelists --------------------------------------------------------------------------


def search_panelists(query: str, limit: int = 20) -> list[Panelist]:
    """Panelists whose name, affiliation or email contains `query` (case-insensitive)."""
    needle = f"%{query.strip().lower()}%"
    return list(
        db.session.scalars(
            select(Panelist)
            .where(
                or_(
                    func.lower(Panelist.name).like(needle),
                    func.lower(Panelist.affiliation).like(needle),
                    func.lower(Panelist.email).like(needle),
                )
            )
            .order_by(Panelist.name)
            .limit(limit)
        )
    )


@bp.route("/events/<slug>/panelists")
def panelists(slug: str) -> Page:
    ev = get_event(slug)
    query = (request.args.get("q") or "").strip()
    on_event = {link.panelist_id for link in ev.panelist_links}
    results = [p for p in search_panelists(query) if p.id not in on_event] if query else []
    names = db.session.scalars(select(Panelist.name).order_by(Panelist.name).limit(500)).all()
    return render_template(
        "manage/panelists.html",
        event=ev,
        query=query,
        results=results,
        names=names,
        attach=AttachPanelistForm(formdata=None),
        role_form=RoleForm,
        confirm=ConfirmForm(),
    )


@bp.route("/events/<slug>/panelists/new", methods=["GET", "POST"])
def new_panelist(slug: str) -> Page:
    ev = get_event(slug)
    form = PanelistOnEventForm()
    if form.validate_on_submit():
        panelist = Panelist()
        _copy_panelist(form, panelist)
        db.session.add(panelist)
        actions.attach_panelist(ev, panelist, form.role.data)
        db.session.commit()
        flash(f"Added {panelist.name}.", "success")
        return redirect(url_for("manage.panelists", slug=slug))
    if request.method == "POST":
        return bad_request("manage/panelist_form.html", event=ev, form=form, panelist=None)
    return render_template("manage/panelist_form.html", event=ev, form=form, panelist=None)


def _copy_panelist(form: PanelistForm, panelist: Panelist) -> None:
    for name in PANELIST_FIELDS:
        setattr(panelist, name, form[name].data or "")
    panelist.email = (form.email.data or "").lower() or None


@bp.route("/events/<slug>/panelists/attach", methods=["POST"])
def attach_panelist(slug: str) -> Response:
    ev = get_event(slug)
    form = AttachPanelistForm()
    panelist = None
    if form.validate_on_submit() and (form.panelist_id.data or "").isdigit():
        panelist = db.session.get(Panelist, int(form.panelist_id.data))
    if panelist is None:
        abort(400, description="Pick a panelist from the search results.")
    actions.attach_panelist(ev, panelist, form.role.data)
    db.session.commit()
    flash(f"Added {panelist.name} as {form.role.data}.", "success")
    return redirect(url_for("manage.panelists", slug=slug))


@bp.route("/events/<slug>/panelists/<int:link_id>", methods=["POST"])
def panelist_link(slug: str, link_id: int) -> Response:
    """One row's buttons: change role, move up/down, remove from this event."""
    ev = get_event(slug)
    link = db.session.get(EventPanelist, link_id)
    if link is None or link.event_id != ev.id:
        abort(404, description="That panelist is not on this event.")
    form = RoleForm()
    if not form.validate_on_submit():
        abort(400, description="Unknown role, or the form expired.")
    action = request.form.get("action", "role")
    name = link.panelist.name
    if action == "up":
        actions.move_panelist(link, -1)
    elif action == "down":
        actions.move_panelist(link, 1)
    elif action == "remove":
        actions.detach_panelist(link)
        flash(f"Removed {name} from this event (their bio stays for other events).", "success")
    else:
        link.role = form.role.data
        flash(f"{name} is now {link.role_label.lower()}.", "success")
    db.session.commit()
    return redirect(url_for("manage.panelists", slug=slug))


@bp.route("/panelists/<int:panelist_id>/edit", methods=["GET", "POST"])
def edit_panelist(panelist_id: int) -> Page:
    panelist = db.session.get(Panelist, panelist_id)
    if panelist is None:
        abort(404, description="There is no such panelist.")
    slug = request.args.get("event") or ""
    ev = Event.by_slug(slug) if slug else None
    form = PanelistForm(obj=panelist)
    if form.validate_on_submit():
        _copy_panelist(form, panelist)
        db.session.commit()
        flash(f"Saved {panelist.name}.", "success")
        if ev is not None:
            return redirect(url_for("manage.panelists", slug=ev.slug))
        return redirect(url_for("manage.index"))
    context = {"event": ev, "form": form, "panelist": panelist}
    if request.method == "POST":
        return bad_request("manage/panelist_form.html", **context)
    return render_template("manage/panelist_form.html", **context)
