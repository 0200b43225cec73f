"""Subject lines of the mails about one event, in one pattern: `What: Event title`, or
`What: Event title — which session` when the mail is about one session.

Readers sort and search their inbox by event; the event's name in the same place every
time, after a one-word reason, makes a series' mails line up. List mail keeps the list's
own `[Event title]` tag (mail/compose), and replies about a post say what happened to it.
"""

from __future__ import annotations

from flask_babel import LazyString
from flask_babel import gettext as _

from forum.core import i18n, timezones
from forum.models import Event, Session

DASH = "\u2014"


def subject(what: str, event: Event, detail: str = "") -> str:
    """`What: Event title — detail`, read lazily: `what` and `detail` may be lazy strings
    (`lazy_gettext`), and the whole line is read in the recipient's language when the mail
    is built (forum.mail.compose renders under their locale)."""
    return LazyString(_subject_now, what, event, detail)  # type: ignore[return-value]


def _subject_now(what: str, event: Event, detail: str) -> str:
    title = event.in_language(i18n.current_language())[0]
    text = _("%(what)s: %(event)s", what=str(what), event=title)
    return f"{text} {DASH} {detail}" if str(detail) else text


def session_subject(what: str, session: Session, extra: str = "") -> str:
    """`Reminder: Cataloging Webinar Series — Session 1, starts in 1 hour` (lazy, as `subject`)."""
    return LazyString(_session_subject_now, what, session, extra)  # type: ignore[return-value]


def _session_subject_now(what: str, session: Session, extra: str) -> str:
    detail = session_label(session)
    return _subject_now(what, session.event, f"{detail}, {extra}" if str(extra) else detail)


def session_label(session: Session) -> str:
    """What tells one session from its siblings in a subject line: its title, an
    e-forum's day number, or (untitled) its local date."""
    event = session.event
    if session.title and session.title != event.title:
        return session.title
    if event.is_eforum and len(event.sessions) > 1 and session in event.sessions:
        return _("Day %(day)d of %(days)d", day=event.sessions.index(session) + 1, days=len(event.sessions))
    return timezones.format_date(session.start_local)
