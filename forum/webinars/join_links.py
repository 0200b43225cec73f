"""Personal join links: `/join/<token>` instead of the webinar platform's URL.

A session's real join URL (Zoom, Teams, ...) never appears on a public page, file, feed
or token-less API answer; each registrant gets a signed link per session instead (in
the invite, reminders, personal feed and preferences page). Following it:

* before the door opens (`Event.door_minutes` before the start): a waiting page;
* from then until the end: one attendance row per (registration, session), first and
  latest click and a click count, then a redirect to the real URL;
* after the end: the session's materials (recording) the registrant may see;
* a registration that is not active (left, waiting list, pending) or a session of
  another event: a clear page, never the URL.

Public calendars still say where a session happens: `LOCATION` is the platform's name
(from the URL's host) or "Online", and `URL` is the event page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from forum.core import clock
from forum.core.extensions import db
from forum.core.tokens import make_stable_token, read_stable_token
from forum.core.urls import external_url
from forum.models import Attendance, Material, Session, Subscription
from forum.webinars.seats import waitlist_position

PURPOSE = "join"

#: Host suffix -> the platform's name, for LOCATION and "Join on Zoom" wording.
PLATFORMS = (
    ("zoom.us", "Zoom"),
    ("zoomgov.com", "Zoom"),
    ("teams.microsoft.com", "Microsoft Teams"),
    ("teams.live.com", "Microsoft Teams"),
    ("meet.google.com", "Google Meet"),
    ("webex.com", "Webex"),
    ("gotowebinar.com", "GoTo Webinar"),
    ("goto.com", "GoTo"),
    ("gotomeeting.com", "GoTo Meeting"),
    ("whereby.com", "Whereby"),
    ("meet.jit.si", "Jitsi Meet"),
    ("bigbluebutton.org", "BigBlueButton"),
    ("adobeconnect.com", "Adobe Connect"),
    ("blackboard.com", "Blackboard Collaborate"),
    ("crowdcast.io", "Crowdcast"),
    ("youtube.com", "YouTube"),
)


def platform_name(url: str) -> str:
    """ "Zoom", "Microsoft Teams", ... from the join URL's host; "Online" when unknown."""
    host = (urlsplit(url).hostname or "").lower()
    for suffix, name in PLATFORMS:
        if host == suffix or host.endswith("." + suffix):
            return name
    return "Online"


# --- links ------------------------------------------------------------------------------


def token_for(subscription: Subscription, session: Session) -> str:
    """Stable (no timestamp): the registration's status decides whether it works, and the
    personal feed stays byte-identical between changes (its ETag holds)."""
    return make_stable_token(PURPOSE, [subscription.id, session.id])


def join_url(subscription: Subscription, session: Session) -> str:
    """The registrant's own link for one session (absolute: it goes out in mail and feeds)."""
    return external_url("webinars.join", token=token_for(subscription, session))


def personal_link(subscription: Subscription | None, session: Session) -> str | None:
    """The join link to write for this reader, or None (no reader, no online room, e-forum)."""
    if subscription is None or not session.join_url or session.event.is_eforum:
        return None
    return join_url(subscription, session)


def read(token: str) -> tuple[Subscription | None, Session | None]:
    """(subscription, session) a join token names; TokenError when cut or changed."""
    payload = read_stable_token(PURPOSE, token)
    if not (isinstance(payload, list) and len(payload) == 2 and all(isinstance(v, int) for v in payload)):
        return None, None
    return db.session.get(Subscription, payload[0]), db.session.get(Session, payload[1])


# --- what a click gets --------------------------------------------------------------------


@dataclass
class Door:
    """What following a join link leads to; `state` picks the page (or the redirect)."""

    state: str  # open | early | ended | cancelled | not-active | waitlisted | no-room | unknown
    subscription: Subscription | None = None
    session: Session | None = None
    opens_at: datetime | None = None
    materials: list[Material] = field(default_factory=list)
    position: int | None = None

    @property
    def url(self) -> str | None:
        """The real join URL, only when the door is open to this registration."""
        return self.session.join_url if self.state == "open" and self.session else None


def door_opens_at(session: Session) -> datetime:
    return session.starts_at - timedelta(minutes=max(session.event.door_minutes or 0, 0))


def follow(subscription: Subscription | None, session: Session | None, *, record: bool = True) -> Door:
    """Decide what a join link shows now, and record the attendance when it lets someone in
    (unless `record` is false: a HEAD request from a link checker is nobody attending).

    The caller commits (the attendance row belongs to the request's transaction).
    """
    if subscription is None or session is None or subscription.event_id != session.event_id:
        return Door("unknown")
    if subscription.status == "waitlisted":
        return Door("waitlisted", subscription, session, position=waitlist_position(subscription))
    if not subscription.is_active:
        return Door("not-active", subscription, session)
    if session.status == "cancelled" or session.event.status == "cancelled":
        return Door("cancelled", subscription, session)
    now = clock.now()
    if now >= session.ends_at:
        return Door("ended", subscription, session, materials=list(session.materials))
    opens_at = door_opens_at(session)
    if now < opens_at:
        return Door("early", subscription, session, opens_at=opens_at)
    if not session.join_url:
        return Door("no-room", subscription, session)
    if record:
        record_click(subscription, session, now)
    return Door("open", subscription, session)


def record_click(subscription: Subscription, session: Session, at: datetime) -> Attendance:
    """One row per (registration, session) however often the link is used: the first and
    the latest click and how many. Two clicks at the same moment may both try to create
    the row; the loser updates the winner's (SAVEPOINT + the unique constraint)."""
    row = _attendance(subscription.id, session.id)
    if row is None:
        try:
            with db.session.begin_nested():
                row = Attendance(subscription_id=subscription.id, session_id=session.id, clicks=0)
                db.session.add(row)
                db.session.flush()
        except IntegrityError:
            row = _attendance(subscription.id, session.id)
            assert row is not None
    row.add_source("link")
    if row.first_seen_at is None:
        row.first_seen_at = at
    row.last_seen_at = at
    row.clicks = (row.clicks or 0) + 1
    return row


def _attendance(subscription_id: int, session_id: int) -> Attendance | None:
    return db.session.scalar(
        select(Attendance).where(
            Attendance.subscription_id == subscription_id, Attendance.session_id == session_id
        )
    )
