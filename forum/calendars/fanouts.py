"""The calendars' fan-out kinds: a session's update or cancellation mailed to its whole list.

`forum/events` records one `calendar-update` / `calendar-cancel` fan-out when an officer
moves or cancels a session; the outbox job writes the copies through the steps here
(`changes.change_chunk`, CALENDAR_CHUNK at a time). What a copy says is read when it is
written: a later change to the same session supersedes an update not yet written (the
SEQUENCE recorded in `params` no longer matches), so subscribers get the newest state once.
"""

from __future__ import annotations

from typing import Any

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


def _step(fan: FanOut, session: Session, **what: Any) -> fanout.Step:
    """The next CALENDAR_CHUNK copies, from where the last step stopped."""
    after = int(fan.params.get("after", 0))
    count, last = change_chunk(session, after_id=after, limit=fanout.CALENDAR_CHUNK, **what)
    return count, "", last


def calendar_update(fan: FanOut) -> fanout.Step:
    session, why = _session_now(fan)
    if session is None:
        return 0, why, None
    if session.status == "cancelled" or session.event.status != "published":
        return 0, "the session or event is no longer published", None
    return _step(fan, session, kind="update", changes=fan.params.get("changes") or [])


def calendar_cancel(fan: FanOut) -> fanout.Step:
    session, why = _session_now(fan)
    if session is None:
        return 0, why, None
    if session.status != "cancelled" or session.event.status == "draft":
        return 0, "the session is not cancelled", None
    return _step(fan, session, kind="cancel", reason=fan.params.get("reason") or "")


fanout.register_kind("calendar-update", calendar_update)
fanout.register_kind("calendar-cancel", calendar_cancel)
