"""The changes an officer makes to an event, its sessions and its seats, whichever door
they come in by (the officer web pages, the JSON API, the CLI).

The doors only translate input (form fields, JSON) and call these; every rule about
what may change lives here, so the two doors cannot drift apart again: a published
event keeps its address (the list address and every link in sent mail use it), a new
title reaches attendees' calendars, a cancelled event takes no new sessions and a
cancelled session no changes, a raised seat limit seats the waiting list. A refusal is
one `EventChangeError` naming the field at fault, which the web shows next to that
field and the API returns as a 422 (409 for a clash with another row or state).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Unpack, cast

from flask_babel import gettext as _
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from forum.common import topics
from forum.core.extensions import db
from forum.core.text import slugify
from forum.core.timezones import TimeInputError, localize
from forum.events import panelists, service
from forum.events.service import EventChangeError
from forum.models import Event, Session, Subscription, Topic
from forum.models.events import SEARCH_LANGUAGES, SPAM_SCORE_RANGE
from forum.webinars import seats

#: what a door may set on an event: the officer's form fields, its address, the webinar settings
EDITABLE = frozenset((*service.EVENT_FIELDS, "slug", "seat_limit", "door_minutes", "topics"))
ADDRESS_FIXED = "The address cannot change after publishing: the list address and links in sent mail use it."


@dataclass
class EventChange:
    """What an update did that the officer should be told about."""

    renamed: bool = False
    promoted: list[Subscription] = field(default_factory=list)  # seated from the waiting list


# --- events -------------------------------------------------------------------------------


def free_slug(base: str) -> str:
    """`base`, or `base-2`, `base-3`... whichever no event uses yet (at most 80 characters)."""
    slug, number = base, 2
    while Event.by_slug(slug) is not None:
        suffix = f"-{number}"
        slug = base[: 80 - len(suffix)] + suffix
        number += 1
    return slug


def check_address(slug: str, event: Event | None = None) -> None:
    """Refuse an address another event uses (a 409 at the API: a clash, not a typo)."""
    other = Event.by_slug(slug)
    if other is not None and other is not event:
        raise EventChangeError(
            _("“%(slug)s” is already the address of “%(title)s”. Pick one not taken by another event.", slug=slug, title=other.title),
            "slug",
            conflict=True,
        )


def _flush(slug: str) -> None:
    """Write the change now, so an address taken by a concurrent request (the unique index)
    is refused like any other taken address instead of failing at commit."""
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise EventChangeError(
            _("“%(slug)s” was just taken by another event. Pick another.", slug=slug), "slug", conflict=True
        ) from None


def create_event(values: Mapping[str, Any]) -> Event:
    """A new draft from the officer's values; without a `slug`, one is made from the title.

    Raises EventChangeError (nothing added) when the address is taken.
    """
    _only_editable(values)
    slug = values.get("slug") or free_slug(slugify(values.get("title") or "", "event"))
    check_address(slug, None)
    chosen = _topics(values)
    event = Event()
    for name, value in values.items():
        if name != "topics":
            setattr(event, name, value)
    if chosen is not None:
        event.topics = chosen
    event.slug = slug
    db.session.add(event)
    _flush(slug)
    return event


def update_event(event: Event, changes: Mapping[str, Any]) -> EventChange:
    """Apply `changes` (field name -> new value) to an event, with every rule that goes with it.

    Raises EventChangeError before anything changes: a published (or once published) event
    keeps its address; an address another event uses is refused. A new title sends each
    session's calendar entry as an update; a raised seat limit seats the waiting list, each
    with welcome and invitations (`seats.set_limit`); all in this transaction.
    """
    _only_editable(changes)
    slug = changes.get("slug") or event.slug
    if slug != event.slug:
        check_address(slug, event)
        if event.status != "draft" or event.published_at is not None:
            raise EventChangeError(ADDRESS_FIXED, "slug")
    if "seat_limit" in changes and changes["seat_limit"] is not None and changes["seat_limit"] < 1:
        raise EventChangeError(
            _("A seat limit is a whole number of at least 1 (empty: unlimited)."), "seat_limit"
        )
    chosen = _topics(changes)
    result = EventChange()
    old_title, old_language = event.title, event.search_language
    if changes.get("seat_limit") is not None and changes["seat_limit"] < 1:
        raise EventChangeError(_("A seat limit is a whole number of at least 1 (empty: unlimited)."), "seat_limit")
    for name, value in changes.items():
        if name not in ("slug", "seat_limit", "topics"):
            setattr(event, name, value)
    if chosen is not None:
        event.topics = chosen
    event.slug = slug
    if event.title != old_title:
        service.event_renamed(event, old_title)
        result.renamed = True
    if "seat_limit" in changes and changes["seat_limit"] != event.seat_limit:
        result.promoted = seats.set_limit(event, changes["seat_limit"])
    _flush(slug)
    if event.search_language != old_language:
        _reindex(event)
    return result


def _topics(values: Mapping[str, Any]) -> list[Topic] | None:
    """The topics named by slug (None: not part of this change); unknown ones are refused."""
    if "topics" not in values or values["topics"] is None:
        return None
    try:
        return topics.by_slugs(values["topics"])
    except topics.TopicError as exc:
        raise EventChangeError(str(exc), "topics", missing=True) from None


def _only_editable(values: Mapping[str, Any]) -> None:
    unknown = set(values) - EDITABLE
    if unknown:  # a door's bug, not the officer's: say which names it passed
        raise ValueError(f"not fields an officer edits: {', '.join(sorted(unknown))}")
    if "search_language" in values and values["search_language"] not in SEARCH_LANGUAGES:
        raise EventChangeError(
            _("“%(language)s” is not a search language; use one of %(languages)s.", language=values['search_language'], languages=', '.join(SEARCH_LANGUAGES)),
            "search_language",
        )
    if "spam_score_limit" in values:
        low, high = SPAM_SCORE_RANGE
        score = values["spam_score_limit"]
        if isinstance(score, bool) or not isinstance(score, int | float) or not low <= score <= high:
            raise EventChangeError(_("Use a spam score from 0 to 100."), "spam_score_limit")


def _reindex(event: Event) -> None:
    """A new search language: PostgreSQL re-stems the forum's posts (their generated
    `search_vector` follows `post.search_language`, copied from the event at insert).
    SQLite's FTS5 index has no language, so there is nothing to do there."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(
            text("UPDATE post SET search_language = CAST(:lang AS regconfig) WHERE event_id = :id"),
            {"lang": event.search_language, "id": event.id},
        )


def publish_event(event: Event) -> None:
    """Make the event's page public: refused for a cancelled event or one with no sessions."""
    if event.status == "cancelled":
        raise EventChangeError(_("A cancelled event cannot be published again."), "status", conflict=True)
    if not event.active_sessions:
        raise EventChangeError(
            _("Add at least one session before publishing: the page needs dates."), "sessions", conflict=True
        )
    service.publish_event(event)


# --- sessions -----------------------------------------------------------------------------


def check_wall_times(start_wall: datetime, end_wall: datetime, zone: str) -> None:
    """Refuse a wall time that does not exist (a spring-forward gap) or an unknown zone,
    naming the field at fault: `start_wall` or `end_wall`."""
    for name, wall in (("start_wall", start_wall), ("end_wall", end_wall)):
        try:
            localize(wall, zone)
        except TimeInputError as exc:
            raise EventChangeError(str(exc), name) from None


class SessionChange(service.SessionText, total=False):
    """A session's words (`SessionText`), who presents it and where it stands in the list:
    what the officer form and the API send for a session besides its times."""

    panelist_ids: Iterable[int] | None
    position: int | None


def new_session(
    event: Event, start_wall: datetime, end_wall: datetime, zone: str, **change: Unpack[SessionChange]
) -> tuple[Session, list[str]]:
    """Add a session; returns it and notes for the officer (an ambiguous time taken as the
    first). A published event's subscribers get it as a calendar update."""
    check_wall_times(start_wall, end_wall, zone)
    try:
        session, notes = service.add_session(event, start_wall, end_wall, zone, **_text(change))
    except TimeInputError as exc:  # what is left: the end is not after the start
        raise EventChangeError(str(exc), "end_wall") from None
    _place(session, change)
    return session, notes


def edit_session(
    session: Session, start_wall: datetime, end_wall: datetime, zone: str, **change: Unpack[SessionChange]
) -> list[str]:
    """Change a session; attendees' calendars get one update if anything they see changed."""
    if session.status == "cancelled":
        raise EventChangeError(
            _("This session is cancelled; it can no longer be changed (add a new one instead)."),
            "status",
            conflict=True,
        )
    check_wall_times(start_wall, end_wall, zone)
    try:
        notes = service.update_session(session, start_wall, end_wall, zone, **_text(change))
    except TimeInputError as exc:
        raise EventChangeError(str(exc), "end_wall") from None
    _place(session, change)
    return notes


def _text(change: SessionChange) -> service.SessionText:
    """The words of the change, as the service takes them."""
    return cast("service.SessionText", {k: v for k, v in change.items() if k in service.SessionText.__annotations__})


def _place(session: Session, change: SessionChange) -> None:
    """Who presents the session and where it stands, when the change says."""
    panelist_ids, position = change.get("panelist_ids"), change.get("position")
    if panelist_ids is not None:
        panelists.set_session_panelists(session, list(panelist_ids))
    if position is not None:
        session.position = position


def cancel_session(session: Session, reason: str = "") -> None:
    """Cancel a session: subscribers' calendars get a CANCEL carrying the officer's reason."""
    service.cancel_session(session, reason=reason[:2000])
