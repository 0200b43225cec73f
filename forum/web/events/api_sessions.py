"""JSON API under /api/v1, on the events API's blueprint: an event's sessions (add,
change, cancel) and panelists (their bios, and who is on which event).

Changes go through forum.events.editing, as on the officer pages: a refused wall time
(a spring-forward gap) is a 422 on the field at fault, a cancelled event takes no new
sessions and a cancelled session no changes (409), a cancellation sends CANCELs.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify
from flask_babel import gettext as _

from forum.core.extensions import db
from forum.events import editing, panelists
from forum.models import Event, Officer, Panelist, Session
from forum.team import roles
from forum.web.events.api_common import (
    abort,
    answers,
    bp,
    commit_or_409,
    event_json,
    officer_event,
    panelist_or_404,
    refusing,
    require_officer,
    session_or_404,
    token_officer,
)
from forum.web.events.api_schemas import (
    OfficerEventSchema,
    OfficerSessionSchema,
    PanelistInSchema,
    PanelistLinkInSchema,
    PanelistPatchSchema,
    PanelistSchema,
    SessionInSchema,
    SessionPatchSchema,
)

# --- sessions ---------------------------------------------------------------------------


def _session_json(session: Session, notes: list[str], status: int) -> Response:
    """Commit the change and answer with the session and what the officer should know."""
    db.session.commit()
    session.api_notes = notes  # type: ignore[attr-defined]  # shown once, never stored
    response = jsonify(OfficerSessionSchema().dump(session))
    response.status_code = status
    return response


def _text(data: dict[str, Any], name: str, default: str) -> str:
    return data[name].strip() if name in data else default


@bp.post("/events/<slug>/sessions")
@bp.arguments(SessionInSchema)
@answers(bp, 201, OfficerSessionSchema)
def create_session(data: dict[str, Any], slug: str) -> Response:
    """Add a session: wall times in an IANA zone (default: the event's).

    A time in a spring-forward gap is refused (422 on the field); an ambiguous
    fall-back time takes its first occurrence and says so in `notes`.
    """
    _, event = officer_event(slug)
    with refusing():
        session, notes = editing.new_session(
            event,
            data["start_wall"],
            data["end_wall"],
            data.get("timezone") or event.timezone,
            title=_text(data, "title", ""),
            join_url=_text(data, "join_url", ""),
            description=_text(data, "description", ""),
            position=data.get("position"),
        )
    return _session_json(session, notes, 201)


@bp.patch("/events/<slug>/sessions/<int:session_id>")
@bp.arguments(SessionPatchSchema)
@answers(bp, 200, OfficerSessionSchema, errors=(401, 404, 409))
def update_session(data: dict[str, Any], slug: str, session_id: int) -> Response:
    """Change some fields of a session; a change attendees see raises its SEQUENCE once."""
    session = session_or_404(officer_event(slug)[1], session_id)
    with refusing():
        notes = editing.edit_session(
            session,
            data.get("start_wall", session.start_wall),
            data.get("end_wall", session.end_wall),
            data.get("timezone") or session.timezone,
            title=_text(data, "title", session.title),
            join_url=_text(data, "join_url", session.join_url),
            description=_text(data, "description", session.description),
            position=data.get("position"),
        )
    return _session_json(session, notes, 200)


@bp.post("/events/<slug>/sessions/<int:session_id>/cancel")
@answers(bp, 200, OfficerSessionSchema)
def cancel_session(slug: str, session_id: int) -> Response:
    """Cancel one session; subscribers' calendars get a cancellation."""
    session = session_or_404(officer_event(slug)[1], session_id)
    editing.cancel_session(session)
    return _session_json(session, [], 200)


# --- panelists --------------------------------------------------------------------------


def _may_see(officer: Officer | None, event: Event) -> bool:
    """A draft is seen by officers holding a role on it, not by every officer."""
    return event.is_public or roles.can(officer, roles.EVENT_VIEW, event)


def _panelist_json(
    panelist: Panelist, officer: Officer | None, status: int = 200, *, commit: bool = False
) -> Response:
    if commit:
        db.session.commit()
    panelist.api_events = [  # type: ignore[attr-defined]
        link for link in panelist.event_links if _may_see(officer, link.event)
    ]
    response = jsonify(PanelistSchema().dump(panelist))
    response.status_code = status
    return response


def _bio(data: dict[str, Any]) -> dict[str, Any]:
    """The JSON fields as the service takes them: text trimmed, links one per line."""
    return {
        name: "\n".join(link.strip() for link in value)
        if name == "links"
        else value.strip()
        if isinstance(value, str)
        else value
        for name, value in data.items()
    }


@bp.get("/panelists/<int:panelist_id>")
@answers(bp, 200, PanelistSchema, errors=(404,), officer=False)
def get_panelist(panelist_id: int) -> Response:
    """A panelist's bio and the events they appear on (only public ones without a token)."""
    officer = token_officer()
    panelist = panelist_or_404(panelist_id)
    seen = any(_may_see(officer, link.event) for link in panelist.event_links)
    if not seen and (officer is None or panelist.event_links):  # only others' drafts: not theirs to see
        abort(404, message=_("No panelist %(panelist)s.", panelist=panelist_id))
    return _panelist_json(panelist, officer)


@bp.post("/panelists")
@bp.arguments(PanelistInSchema)
@answers(bp, 201, PanelistSchema, errors=(401,))
def create_panelist(data: dict[str, Any]) -> Response:
    """Create a panelist; link them to events with PUT /events/<slug>/panelists/<id>."""
    officer = require_officer()
    return _panelist_json(panelists.save_panelist(None, _bio(data)), officer, 201, commit=True)


@bp.patch("/panelists/<int:panelist_id>")
@bp.arguments(PanelistPatchSchema)
@answers(bp, 200, PanelistSchema)
def update_panelist(data: dict[str, Any], panelist_id: int) -> Response:
    officer = require_officer()
    panelist = panelists.save_panelist(panelist_or_404(panelist_id), _bio(data))
    return _panelist_json(panelist, officer, commit=True)


@bp.put("/events/<slug>/panelists/<int:panelist_id>")
@bp.arguments(PanelistLinkInSchema)
@answers(bp, 200, OfficerEventSchema)
def link_panelist(data: dict[str, Any], slug: str, panelist_id: int) -> Response:
    """Put a panelist on an event with a role (panelist, moderator, presenter); idempotent."""
    officer, event = officer_event(slug)
    panelist = panelist_or_404(panelist_id)
    link = panelists.attach_panelist(event, panelist, data["role"])
    if "position" in data:
        link.position = data["position"]
    commit_or_409("panelist", "This panelist is already on the event.")
    db.session.refresh(event)
    return event_json(event, officer)


@bp.delete("/events/<slug>/panelists/<int:panelist_id>")
@answers(bp, 204)
def unlink_panelist(slug: str, panelist_id: int) -> None:
    """Take a panelist off an event (the panelist and their bio stay)."""
    _officer, event = officer_event(slug)
    link = next((ln for ln in event.panelist_links if ln.panelist_id == panelist_id), None)
    if link is None:
        abort(404, message=_("Panelist %(panelist)s is not on “%(slug)s”.", panelist=panelist_id, slug=slug))
    panelists.detach_panelist(link)
    db.session.commit()
