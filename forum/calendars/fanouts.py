"""The calendars' fan-out kinds: a session's update or cancellation mailed to its whole list.

`forum/events` records one `calendar-update` / `calendar-cancel` fan-out when an officer
moves or cancels a session; the outbox job writes the copies through the steps here
(`changes.change_chunk`, CALENDAR_CHUNK at a time). What a copy says is read when it is
written: a later change to the same session supersedes an update not yet written (the
SEQUENCE recorded in `params` no longer matches), so subscribers get the newest state once.
"""

from __future__ import annotations

from forum.calendars.changes import change_chunk
from forum.common import fanout
from forum.core.extensions import db
from forum.models import FanOut, Session


def _session_now(fan: FanOut) -> tuple[Session | None, str]:
    session = db.session.get(Session, fan.target_id)
    if session is None:
        return None, "the session was removed"
    if session.sequence != fan.params.get("sequence"):
        return None, f"superseded by a later change (sequence {session.sequence})"
    return session, ""


def calendar_update(fan: FanOut) -> fanout.Step:
    session, why = _session_now(fan)
    if session is None:
        return 0, why, None
    if session.status == "cancelled" or session.event.status != "published":
        return 0, "the session or event is no longer published", None
    changes = fan.params.get("changes") or []
    count, after = change_chunk(
        session,
        kind="update",
        changes=changes,
        after_id=int(fan.params.get("after", 0)),
        limit=fanout.CALENDAR_CHUNK,
    )
    return count, "", after


def calendar_cancel(fan: FanOut) -> fanout.Step:
    session, why = _session_now(fan)
    if session is None:
        return 0, why, None
    if session.status != "cancelled" or session.event.status == "draft":
        return 0, "the session is not cancelled", None
    reason = fan.params.get("reason") or ""
    count, after = change_chunk(
        session,
        kind="cancel",
        reason=reason,
        after_id=int(fan.params.get("after", 0)),
        limit=fanout.CALENDAR_CHUNK,
    )
    return count, "", after


fanout.register_kind("calendar-update", calendar_update)
fanout.register_kind("calendar-cancel", calendar_cancel)
