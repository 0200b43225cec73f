"""Public pages: the event list, an event's page, a panelist's bio, and the error pages.

An event page says everything the announcement does: dates, each session's time in the
home zone and the configured zone list, the viewer's own zone (static/js/zones.js,
with a server-rendered fallback chosen by `?tz=`), outcomes, panelists, contact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from flask import Blueprint, abort, current_app, jsonify, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from forum.core import clock, i18n, timezones
from forum.core.extensions import db
from forum.models import Event, EventPanelist, Panelist, Session
from forum.team import roles
from forum.web.conditional import conditional_page, event_page_version, index_version, panelist_version
from forum.web.helpers import display_zones
from forum.web.page_cache import cached_page

bp = Blueprint("public", __name__)


@dataclass
class ScheduleBlock:
    """One heading (a date or a date range) with its zone lines; several sessions share
    a block when they run at the same hours every day (an e-forum)."""

    heading: str
    title: str
    lines: list[str]
    viewer_line: str  # one line per distinct range (an e-forum's days), shown line by line
    zones: list[str] = field(default_factory=list)  # the zone of each of `lines`
    sessions: list[Session] = field(default_factory=list)
    cancelled: bool = False


def schedule_sessions(event: Event) -> list[Session]:
    """Sessions to date the event by: the live ones, or all of them once it is cancelled."""
    return event.active_sessions or list(event.sessions)


def event_dates(event: Event) -> str:
    """`Tuesday, 9/10/2019 - Wednesday, 9/11/2019`, in the event's home zone."""
    sessions = schedule_sessions(event)
    if not sessions:
        return "Dates to be announced"
    first = timezones.to_zone(min(s.starts_at for s in sessions), event.timezone).date()
    last = timezones.to_zone(max(s.ends_at for s in sessions), event.timezone).date()
    if first == last:
        return timezones.format_date(first)
    return timezones.format_date_range(first, last)


def line_zones(home_zone: str) -> list[str]:
    """The zone of each line `zone_lines_for` gives: the home zone first when it is not listed."""
    listed = [z.name for z in display_zones()]
    return listed if home_zone in listed else [home_zone, *listed]


def zone_lines_for(session: Session, home_zone: str, viewer_zone: str) -> tuple[list[str], str]:
    """The announcement's lines (home zone first when it is not in the list) and the viewer's line."""
    zones = display_zones()
    home_date = timezones.to_zone(session.starts_at, home_zone).date()
    lines = timezones.zone_lines(session.starts_at, session.ends_at, zones, home_date)
    if home_zone not in {z.name for z in zones}:
        home = timezones.format_range(
            session.starts_at, session.ends_at, home_zone, timezones.zone_label(home_zone), home_date
        )
        lines.insert(0, home)
    viewer = timezones.format_range(
        session.starts_at, session.ends_at, viewer_zone, timezones.zone_label(viewer_zone), home_date
    )
    return lines, viewer


def build_schedule(event: Event, viewer_zone: str) -> list[ScheduleBlock]:
    """The sessions as the announcement shows them: one block when every day has the same
    hours in every listed zone, otherwise one block per session (cancelled ones marked)."""
    live = event.active_sessions
    rendered = {s.id: zone_lines_for(s, event.timezone, viewer_zone) for s in event.sessions}
    if len(live) > 1 and event.is_eforum and not any(s.title for s in live):
        first_lines = rendered[live[0].id][0]
        if all(rendered[s.id][0] == first_lines for s in live):
            return [
                ScheduleBlock(
                    heading=event_dates(event),
                    title="",
                    lines=first_lines,
                    viewer_line="\n".join(dict.fromkeys(rendered[s.id][1] for s in live)),
                    zones=line_zones(event.timezone),
                    sessions=live,
                )
            ]
    blocks = []
    for session in event.sessions if event.status == "cancelled" else sorted(event.sessions, key=_order):
        lines, viewer = rendered[session.id]
        local = timezones.to_zone(session.starts_at, event.timezone)
        blocks.append(
            ScheduleBlock(
                heading=timezones.format_date(local),
                title=session.title,
                lines=lines,
                viewer_line=viewer,
                zones=line_zones(event.timezone),
                sessions=[session],
                cancelled=session.status == "cancelled",
            )
        )
    return blocks


def _order(session: Session) -> tuple[datetime, int]:
    return session.starts_at, session.position or 0


def viewer_zone_from_request() -> str:
    """The `?tz=` a no-JS visitor picked, else UTC; the script replaces it in the browser."""
    return timezones.reader_zone((request.args.get("tz") or "").strip(), fallback="UTC")


def use_event_language(event: Event) -> None:
    """An event's pages default to its language: a reader whose browser asks for the event's
    primary or second language gets theirs (with its region's formats); anyone else the
    event's own. A signed-in officer keeps the language they chose."""
    if getattr(current_user, "is_authenticated", False) and getattr(current_user, "language", None):
        return
    browser = i18n.browser_locale()
    if browser and i18n.language_of(browser) in {event.language, event.second_language}:
        return
    i18n.use_locale(event.language)


def event_context(event: Event) -> dict[str, object]:
    """Everything templates/public/event.html needs (shared with the officer preview).
    The page is in the event's language unless the reader's is its second one (or an
    officer chose theirs)."""
    use_event_language(event)
    viewer_zone = viewer_zone_from_request()
    return {
        "event": event,
        "dates": event_dates(event),
        "schedule": build_schedule(event, viewer_zone),
        "viewer_zone": viewer_zone,
        "zone_names": timezones.all_zone_names(),
        "panelists": [link for link in event.panelist_links],
        "preview": False,
    }


def load_event(slug: str) -> Event | None:
    return db.session.scalar(
        select(Event)
        .where(Event.slug == slug)
        .options(
            # what the page shows per session (panelists, materials) in one query each, not one per session
            selectinload(Event.sessions).selectinload(Session.panelists),
            selectinload(Event.sessions).selectinload(Session.materials),
            selectinload(Event.panelist_links).selectinload(EventPanelist.panelist),
        )
    )


@bp.route("/")
def index() -> Response:
    return cached_page(_render_index, lambda: conditional_page(index_version(), _render_index))


def _render_index() -> str:
    events = db.session.scalars(
        select(Event).where(Event.public_clause()).options(selectinload(Event.sessions))
    ).all()
    now = clock.now()
    upcoming: list[Event] = []
    past: list[Event] = []
    for event in events:
        sessions = schedule_sessions(event)
        if not sessions:
            continue
        end = max(s.ends_at for s in sessions)
        (upcoming if end >= now else past).append(event)
    upcoming.sort(key=lambda e: min(s.starts_at for s in schedule_sessions(e)))
    past.sort(key=lambda e: max(s.ends_at for s in schedule_sessions(e)), reverse=True)
    return render_template("public/index.html", upcoming=upcoming, past=past, event_dates=event_dates)


@bp.route("/events/<slug>")
def event(slug: str) -> Response:
    def render() -> str:
        full = load_event(slug)  # sessions, panelists and materials in a few more queries
        if full is None or not full.is_public:
            abort(404, description=_l("There is no published event at this address."))
        return render_template("public/event.html", **event_context(full))

    def uncached() -> Response:
        ev = Event.by_slug(slug)  # the row only: a 304 needs no more
        if ev is None or not ev.is_public:
            abort(404, description=_l("There is no published event at this address."))
        return conditional_page(event_page_version(ev), render, csrf_form=True)

    # csrf: the subscribe form; tz: the zone the schedule is shown in (`viewer_zone_from_request`)
    return cached_page(render, uncached, csrf_form=True, reads=("tz",))


@bp.route("/panelists/<int:panelist_id>")
def panelist(panelist_id: int) -> Response:
    def render() -> str:
        person, links = _panelist(panelist_id)
        return render_template("public/panelist.html", panelist=person, links=links, event_dates=event_dates)

    def uncached() -> Response:
        person, links = _panelist(panelist_id)
        return conditional_page(
            panelist_version(person),
            lambda: render_template(
                "public/panelist.html", panelist=person, links=links, event_dates=event_dates
            ),
        )

    return cached_page(render, uncached)


def _panelist(panelist_id: int) -> tuple[Panelist, list[EventPanelist]]:
    """The panelist and the events of theirs this reader may see (404 when none)."""
    person = db.session.get(  # with their events and those events' sessions: no query per event
        Panelist,
        panelist_id,
        options=[
            selectinload(Panelist.event_links).selectinload(EventPanelist.event).selectinload(Event.sessions)
        ],
    )
    links = [
        link
        for link in (person.event_links if person else [])
        if link.event.is_public
        or (current_user.is_authenticated and roles.can(current_user, roles.EVENT_VIEW, link.event))
    ]
    if person is None or not links:
        abort(404, description=_l("There is no such panelist page."))
    links.sort(key=lambda link: _first_day(link.event) or date.max, reverse=True)
    return person, links


def _first_day(event: Event) -> date | None:
    sessions = schedule_sessions(event)
    if not sessions:
        return None
    return timezones.to_zone(min(s.starts_at for s in sessions), event.timezone).date()


# --- error pages ------------------------------------------------------------------------

ERROR_TEXT = {
    400: ("Something in that request was not right", "Go back, check what you entered and try again."),
    403: ("You cannot do that here", "Your account does not allow this page or action."),
    404: ("Page not found", "The page may have moved, or the event may not be published yet."),
    405: ("That does not work here", "This address does not accept that kind of request."),
    413: ("That is too large", "The file or form you sent is larger than this site accepts; send a smaller one."),
    429: ("Too many tries", "Please wait a minute, then try again."),
    500: ("Something went wrong on our side", "It has been logged. Please try again in a few minutes."),
}


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def render_error(code: int, detail: str | None = None) -> tuple[str | Response, int]:
    title, advice = ERROR_TEXT.get(code, ERROR_TEXT[400 if code < 500 else 500])
    try:
        return render_template(
            "errors/error.html", code=code, title=title, advice=advice, detail=detail
        ), code
    except Exception:  # the error page itself must never fail (e.g. the database is down)
        current_app.logger.exception("error page failed to render")
        return f"{code} {title}. {advice}", code


def _detail(error: HTTPException) -> str | None:
    """The view's own description (abort(404, description=...)), not werkzeug's stock text."""
    default = type(error).description
    return error.description if error.description and error.description != default else None


@bp.app_errorhandler(CSRFError)
def csrf_error(error: CSRFError) -> tuple[str | Response, int]:
    return render_error(400, _("The form expired or was sent from another site. Reload the page and try again."))


def _http_error(error: HTTPException) -> tuple[str | Response, int] | Response:
    if _wants_json():
        api = current_app.extensions.get("forum_api")
        if api is not None:
            return api.handle_http_exception(error)
        return jsonify(code=error.code, status=error.name, message=error.description), error.code or 500
    return render_error(error.code or 500, _detail(error))


for _code in (400, 403, 404, 405, 413, 429):
    bp.app_errorhandler(_code)(_http_error)


@bp.app_errorhandler(500)
def server_error(error: Exception) -> tuple[str | Response, int] | Response:
    db.session.rollback()
    if _wants_json():
        return jsonify(code=500, status="Internal Server Error", message=_l("Something went wrong.")), 500
    return render_error(500)
