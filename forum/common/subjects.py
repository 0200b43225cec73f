"""Subject lines of the mails about one event, in one pattern: `What: Event title`, or
`What: Event title — which session` when the mail is about one session.

Readers sort and search their inbox by event; the event's name in the same place every
time, after a one-word reason, makes a series' mails line up. List mail keeps the list's
own `[Event title]` tag (mail/compose), and replies about a post say what happened to it.
"""

from __future__ import annotations

from forum.models import Event, Session

DASH = "\u2014"


def subject(what: str, event: Event, detail: str = "") -> str:
    text = f"{what}: {event.title}"
    return f"{text} {DASH} {detail}" if detail else text


def session_subject(what: str, session: Session, extra: str = "") -> str:
    """`Reminder: Cataloging Webinar Series — Session 1, starts in 1 hour`."""
    from forum.calendars.calendar import session_label

    detail = session_label(session)
    return subject(what, session.event, f"{detail}, {extra}" if extra else detail)
