"""Calendar files and feeds: per event, per session, and a secret per-participant feed.

Calendar programs poll feeds every few minutes to hours, so every answer carries an
ETag and Last-Modified computed from a cheap query of what the calendar contains
(ids, SEQUENCEs, updated_at), and a conditional request is answered 304 before any
iCalendar is built.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, abort, current_app, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from forum.calendars import calendar, catalog, feeds
from forum.calendars import links as calendar_links
from forum.common import branding
from forum.core import clock, i18n
from forum.core.extensions import db
from forum.models import Event, Material, Participant, Session, Subscription, Topic
from forum.web.page_cache import MemoryStore, cached_file
from forum.web.versions import Version, event_version, not_modified, panelist_rows, version_of

bp = Blueprint("feeds", __name__)
bp.add_app_template_global(calendar_links.session_links, "session_calendar_links")
bp.add_app_template_global(calendar_links.event_links, "event_calendar_links")
bp.add_app_template_global(calendar_links.feed_links, "feed_calendar_links")
bp.add_app_template_global(calendar_links.catalog_links, "catalog_calendar_links")

ICS_TYPE = "text/calendar; charset=utf-8"
#: the query arguments a public calendar's bytes depend on (`_in_readers_language`): the page
#: cache's key keeps these and leaves out any other
READS = ("lang",)


def _participant_version(participant: Participant) -> Version:
    rows: list[tuple[Any, ...]] = [
        tuple(r)
        for r in db.session.execute(
            select(
                Event.id,
                Event.status,
                Event.updated_at,
                Session.id,
                Session.sequence,
                Session.updated_at,
                Session.uid,
            )
            .join(Subscription, Subscription.event_id == Event.id)
            .join(Session, Session.event_id == Event.id)
            .where(feeds.in_personal_feed(participant))
            .order_by(Event.id, Session.id)
        )
    ]
    panelists = panelist_rows(sorted({r[0] for r in rows}))
    subscribed = db.session.scalar(
        select(func.max(Subscription.updated_at)).where(Subscription.participant_id == participant.id)
    )
    stamps = [subscribed, participant.updated_at, *(r[2] for r in rows), *(r[5] for r in rows)]
    stamps += [r[-1] for r in panelists]
    webinar = _webinar_rows(participant)  # personal join links and recordings change the file too
    stamps += [r[-1] for r in webinar if r[0] != "ended"]
    return version_of(
        [("participant", participant.id, participant.display), *rows, *panelists, *webinar], stamps
    )


def _webinar_rows(participant: Participant) -> list[tuple[Any, ...]]:
    """Which of their sessions are over (the join link gives way to the recording), and the
    materials of those sessions."""
    now = clock.now()
    # In the ETag only: the end of a session drops its join link from the file, but a
    # Last-Modified at that moment would claim changes the officer never made.
    ended = [
        ("ended", session_id)
        for session_id, ends_at in db.session.execute(
            select(Session.id, Session.ends_at)
            .join(Subscription, Subscription.event_id == Session.event_id)
            .where(Subscription.participant_id == participant.id, Subscription.is_active)
        )
        if ends_at <= now
    ]
    materials = [
        tuple(r)
        for r in db.session.execute(
            select(Material.session_id, Material.id, Material.url, Material.created_at)
            .join(Session, Session.id == Material.session_id)
            .join(Subscription, Subscription.event_id == Session.event_id)
            .where(Subscription.participant_id == participant.id, Subscription.is_active)
            .order_by(Material.id)
        )
    ]
    return [*sorted(ended), *materials]


# Recently built calendars by ETag, so polling without validators costs a query.
#
# Google Calendar and others re-fetch feeds without If-None-Match; the ETag covers
# everything a calendar is built from (the clock only matters to a personal feed, through
# which sessions are over, and its ETag covers that),
# so a body cached under it is exactly what a rebuild would produce.  Per process,
# bounded.
# (page_cache.MemoryStore: the one bounded LRU of bytes.)


def body_cache() -> MemoryStore:
    """This app's cache (tests build many apps in one process)."""
    return current_app.extensions.setdefault("forum_feed_bodies", MemoryStore(128))


def _respond(
    version: Version,
    build: Callable[[], bytes],
    *,
    filename: str | None = None,
    private: bool = False,
    conditional: bool = True,
) -> Response:
    """A calendar answer (or 304) with validators; `build` makes the body only if needed.
    `conditional=False`: always the whole file (`page_cache.cached_file` decides on 304).

    The words the app writes in a calendar follow its reader's language, so the language
    is part of the validator and of the cached body's key (English keeps the bare ETag)."""
    language = i18n.current_language()
    if language != i18n.DEFAULT_LANGUAGE:
        version = Version(etag=f"{version.etag}-{language}", last_modified=version.last_modified)
    if conditional and not_modified(version):
        response = Response(status=304)
    else:
        key = f"{request.endpoint}|{request.path}|{version.etag}"
        body = body_cache().get(key)
        if body is None:
            body = build()
            body_cache().put(key, body)
        response = Response(body, mimetype=None, content_type=ICS_TYPE)
        if filename:
            response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.set_etag(version.etag)
    if version.last_modified is not None:
        response.last_modified = version.last_modified
    if private:
        response.headers["Cache-Control"] = "private, no-cache"
        response.headers["X-Robots-Tag"] = "noindex, nofollow"
        response.headers["Referrer-Policy"] = "no-referrer"
    else:
        response.headers["Cache-Control"] = "public, no-cache"
        response.vary.add("Accept-Language")
    return response


def _public(version: Version, build: Callable[[], bytes], *, filename: str | None = None) -> Response:
    """A public calendar, whole: `page_cache.cached_file` stores it and answers 304."""
    return _respond(version, build, filename=filename, conditional=False)


def _in_readers_language(default: str | None = None) -> None:
    """Write a calendar in its reader's language: `?lang=fr` (calendar apps poll without the
    browser's Accept-Language, so a subscribe link can carry it), else `default` (a personal
    feed's participant), else the request's (Accept-Language)."""
    chosen = i18n.normalize(request.args.get("lang")) or i18n.normalize(default)
    if chosen:
        i18n.use_locale(chosen)


def _visible_event(slug: str) -> Event:
    """Published and cancelled events have calendars; drafts (and unknown slugs) 404."""
    event = Event.by_slug(slug)
    if event is None or not event.is_public:
        abort(404, description=_l("No published event has this address."))
    return event


@bp.get("/events/<slug>.ics")
def event_ics(slug: str) -> Response:
    """Download every session of an event as one .ics file."""
    def make() -> Response:
        event = _visible_event(slug)
        _in_readers_language()
        return _public(event_version(event), lambda: calendar.event_file(event), filename=f"{event.slug}.ics")

    return cached_file(make, reads=READS)


@bp.get("/events/<slug>/sessions/<int:session_id>.ics")
def session_ics(slug: str, session_id: int) -> Response:
    """Download one session as an .ics file."""
    def make() -> Response:
        event = _visible_event(slug)
        session = db.session.get(Session, session_id)
        if session is None or session.event_id != event.id:
            abort(404, description=_l("This event has no such session."))
        _in_readers_language()
        return _public(
            event_version(event),
            lambda: calendar.session_file(session),
            filename=f"{event.slug}-{session.id}.ics",
        )

    return cached_file(make, reads=READS)


@bp.get("/feeds/events/<slug>.ics")
def event_feed(slug: str) -> Response:
    """The public feed of one event, for calendar subscriptions (webcal://)."""
    def make() -> Response:
        event = _visible_event(slug)
        _in_readers_language()
        return _public(event_version(event), lambda: feeds.event_feed(event))

    return cached_file(make, reads=READS)


@bp.get("/feeds/<token>.ics")
def personal(token: str) -> Response:
    """A participant's secret feed: every session of everything they are subscribed to."""
    participant = db.session.scalar(select(Participant).where(Participant.feed_token == token))
    if participant is None:
        abort(
            404,
            description=_l("This calendar feed does not exist. Copy the link again from your preferences page."),
        )
    _in_readers_language(participant.language)
    return _respond(
        _participant_version(participant),
        lambda: feeds.participant_feed(participant),
        private=True,
    )


def _catalog_version(topic: Topic | None) -> Version:
    """Every session in the feed (SEQUENCE, status, last change), its events' panelists,
    the topic's name and the site's (the calendar's NAME), and the day the window starts."""
    now = clock.now()
    rows = catalog.feed_rows(now, topic)
    panelists = panelist_rows(sorted({r[0] for r in rows}))
    head: tuple[object, ...] = ("catalog", catalog.feed_cutoff(now).isoformat(), branding.current().name)
    if topic is not None:
        head += (topic.id, topic.name, topic.updated_at)
    stamps = [*(r[2] for r in rows), *(r[6] for r in rows), *(r[-1] for r in panelists)]
    if topic is not None:
        stamps.append(topic.updated_at)
    return version_of([head, *rows, *panelists], stamps)


@bp.get("/feeds/calendar.ics")
def calendar_feed() -> Response:
    """The organisation's public feed: every published session of every event."""
    def make() -> Response:
        _in_readers_language()
        return _public(_catalog_version(None), lambda: catalog.feed(clock.now(), branding.current().name))

    return cached_file(make, reads=READS)


@bp.get("/feeds/topics/<slug>.ics")
def topic_feed(slug: str) -> Response:
    """One topic's public feed: the sessions of the events filed under it."""
    def make() -> Response:
        topic = Topic.by_slug(slug)
        if topic is None:
            abort(404, description=_("There is no topic at this address."))
        _in_readers_language()
        return _public(_catalog_version(topic), lambda: catalog.feed(clock.now(), branding.current().name, topic))

    return cached_file(make, reads=READS)
