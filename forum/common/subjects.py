"""Subject lines of the mails about one event, in one pattern: `What: Event title`, or
`What: Event title — which session` when the mail is about one session.

Readers sort and search their inbox by event; the event's name in the same place every
time, after a one-word reason, makes a series' mails line up. List mail keeps the list's
own `[Event title]` tag (mail/compose), and replies about a post say what happened to it.
"""

from __future__ import annotations

from forum.core import timezones
from forum.models import Event, Session

DASH = "\u2014"


def subject(what: str, event: Event, detail: str = "") -> str:
    text = f"{what}: {event.title}"
    return f"{text} {DASH} {detail}" if detail else text


def session_subject(what: str, session: Session, extra: str = "") -> str:
    """`Reminder: Cataloging Webinar Series — Session 1, starts in 1 hour`."""
    detail = session_label(session)
    return subject(what, session.event, f"{detail}, {extra}" if extra else detail)


def session_label(session: Session) -> str:
    """What tells one session from its siblings in a subject line: its title, an
    e-forum's day number, or (untitled) its local date."""
    event = session.event
    if session.title and session.title != event.title:
        return session.title
    if event.is_eforum and len(event.sessions) > 1 and session in event.sessions:
        return f"Day {event.sessions.index(session) + 1} of {len(event.sessions)}"
    return timezones.format_date(session.start_local)
