"""Validators (ETag, Last-Modified) of what a response is built from: the calendar feeds'
and the public pages' (`web/conditional.py`) one way to say "unchanged", and to answer 304.

Shared by two doors, so it sits beside them in `forum/web/` rather than in either: a cheap
query of the rows a response is built from, hashed with the calendar format's version and
the site's addresses (a change of BASE_URL or LIST_DOMAIN changes every file).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app, request
from sqlalchemy import select
from werkzeug.wrappers import Request

from forum.calendars import calendar
from forum.core.extensions import db
from forum.models import Event, EventPanelist, Panelist, Session


@dataclass(frozen=True)
class Version:
    """What a calendar response is built from, reduced to validators."""

    etag: str
    last_modified: datetime | None


def version_of(rows: Iterable[tuple[object, ...]], stamps: Iterable[datetime | None]) -> Version:
    cfg = current_app.config
    digest = hashlib.sha1(usedforsecurity=False)
    digest.update(f"{calendar.FORMAT_VERSION}|{cfg['BASE_URL']}|{cfg['LIST_DOMAIN']}".encode())
    for row in rows:
        digest.update(repr(row).encode())
    known = [s for s in stamps if s is not None]
    return Version(etag=digest.hexdigest()[:32], last_modified=max(known) if known else None)


def event_version(event: Event) -> Version:
    sessions = db.session.execute(
        select(Session.id, Session.sequence, Session.status, Session.updated_at, Session.uid)
        .where(Session.event_id == event.id)
        .order_by(Session.id)
    ).all()
    panelists = panelist_rows([event.id])
    rows = [("event", event.id, event.status, event.updated_at), *sessions, *panelists]
    stamps = [event.updated_at, *(r[3] for r in sessions), *(r[-1] for r in panelists)]
    return version_of(rows, stamps)


def panelist_rows(event_ids: list[int]) -> list[tuple[int, int, str, datetime]]:
    if not event_ids:
        return []
    return [
        (event_id, link_id, role, updated_at)
        for event_id, link_id, role, updated_at in db.session.execute(
            select(EventPanelist.event_id, EventPanelist.id, EventPanelist.role, Panelist.updated_at)
            .join(Panelist, Panelist.id == EventPanelist.panelist_id)
            .where(EventPanelist.event_id.in_(event_ids))
            .order_by(EventPanelist.event_id, EventPanelist.id)
        )
    ]


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def not_modified(version: Version) -> bool:
    """RFC 9110: If-None-Match decides when present; otherwise If-Modified-Since."""
    return not_modified_by(request, version)


def not_modified_by(req: Request, version: Version) -> bool:
    """`not_modified` for a request outside Flask's (`web/fast_pages.py`)."""
    if req.if_none_match:
        return req.if_none_match.contains_weak(version.etag)
    since = _aware(req.if_modified_since)
    if since is None or version.last_modified is None:
        return False
    return version.last_modified.replace(microsecond=0) <= since


