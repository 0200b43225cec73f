"""The organisation-wide calendar page (/calendar): every upcoming session of every
published event, filterable by topic (`?topic=<slug>`) and kind (`?kind=eforum|series`),
each time in the event's home zone and the reader's own (static/js/zones.js, with `?tz=`
as the server-rendered fallback, like the event pages), with subscribe links for the
public feed of everything or of the chosen topic.

Served through the public page cache (`web/page_cache.py`): the key holds the query
string, so each filter is its own copy; a change to a topic, an event or a session bumps
the version counter in its own transaction (`common/page_versions.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import Blueprint, abort, render_template, request
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from forum.calendars import catalog
from forum.common import topics as topic_list
from forum.core import clock, timezones
from forum.models import EVENT_KINDS, Session, Topic
from forum.web.conditional import conditional_page
from forum.web.events.public import viewer_zone_from_request, zone_lines_for
from forum.web.page_cache import cached_page
from forum.web.versions import Version, version_of

bp = Blueprint("calendar", __name__)


@dataclass
class Entry:
    """One session as the page lists it."""

    session: Session
    lines: list[str]
    viewer_line: str


@dataclass
class Day:
    """The sessions starting on one day (in the reader's zone)."""

    day: date
    heading: str
    entries: list[Entry]


def _filters() -> tuple[Topic | None, str | None]:
    """The topic and kind asked for; an unknown one is a 404 (a stale link), not all events."""
    slug = (request.args.get("topic") or "").strip()
    kind = (request.args.get("kind") or "").strip() or None
    topic = Topic.by_slug(slug) if slug else None
    if slug and topic is None:
        abort(404, description=_("There is no such topic. Pick one from the calendar's list."))
    if kind is not None and kind not in EVENT_KINDS:
        abort(404, description=_("There is no such kind of event. Pick e-forums or webinar series."))
    return topic, kind


def _days(sessions: list[Session], viewer_zone: str) -> list[Day]:
    days: dict[date, Day] = {}
    for session in sessions:
        home = session.event.timezone
        lines, viewer = zone_lines_for(session, home, viewer_zone)
        local = timezones.to_zone(session.starts_at, viewer_zone).date()
        if local not in days:
            days[local] = Day(local, timezones.format_date(local), [])
        days[local].entries.append(Entry(session, lines, viewer))
    return list(days.values())


def _render() -> str:
    topic, kind = _filters()
    viewer_zone = viewer_zone_from_request()
    sessions = catalog.upcoming(clock.now(), topic, kind)
    return render_template(
        "calendar/overview.html",
        days=_days(sessions, viewer_zone),
        topic=topic,
        kind=kind,
        kinds=EVENT_KINDS,
        topics=topic_list.all_topics(),
        viewer_zone=viewer_zone,
        more=len(sessions) >= catalog.PAGE_LIMIT,
    )


def _version() -> Version:
    """For readers the shared cache does not serve (officers): the feed's rows, the topic
    list and the minute (sessions leave the page as they end)."""
    now = clock.now()
    topics = [(t.id, t.slug, t.name, t.updated_at) for t in topic_list.all_topics()]
    rows = catalog.feed_rows(now, None)
    head = ("calendar", request.full_path, now.replace(second=0, microsecond=0).isoformat())
    return version_of([head, *topics, *rows], [*(r[2] for r in rows), *(r[6] for r in rows)])


@bp.route("/calendar")
def index() -> Response:
    # `_filters` and `viewer_zone_from_request`; the template's links keep ?tz= too
    return cached_page(_render, lambda: conditional_page(_version(), _render), reads=("topic", "kind", "tz"))
