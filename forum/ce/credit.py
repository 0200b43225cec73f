"""What one person's presence at one session is worth: the minimum attendance and the credit rule.

A CE provider signs hours only for time that was confirmed: a platform report's minutes,
an officer's mark (present for the whole session), or for an e-forum a day with an
accepted post. A click on the personal join link proves only that someone *joined*: it
earns nothing until a report or an officer confirms the time.

The minimum per session is a share of the session's length (default 75 %) or a number of
minutes, set per event in the CE settings and overridable per session. Credit follows the
officer's rule: `full` gives the session's CE hours when the minimum is met, `quarter`
gives the minutes confirmed, rounded down to the quarter hour and capped at the session's
CE hours (still only when the minimum is met). Every reader (the officer's table, the CSV,
the API, the certificate and its verification page) takes its number from `credit`, so
they cannot disagree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import gettext as _

from forum.models import CESettings, Session

QUARTER = 15
DEFAULT_SHARE = 75
CREDIT_RULES = {
    "full": "The session's full CE hours when the minimum is met",
    "quarter": "The minutes attended, rounded down to the quarter hour (when the minimum is met)",
}
#: Doors that confirm presence for the whole session (no minutes of their own).
WHOLE_SESSION_SOURCES = frozenset({"manual", "post"})
_MINIMUM = re.compile(r"^(\d+(?:[.,]\d+)?)\s*(%|percent|m|min|mins|minutes)?$")


class MinimumError(ValueError):
    """A minimum an officer typed that means nothing; the message says what to type."""


@dataclass(frozen=True)
class Minimum:
    """A minimum attendance: a share in percent, or minutes (exactly one is set)."""

    share: int | None = None
    minutes: int | None = None

    def for_session(self, session: Session) -> int:
        """Minutes needed at `session` (a share is of its scheduled length, rounded up)."""
        if self.minutes is not None:
            return min(self.minutes, length(session))
        share = DEFAULT_SHARE if self.share is None else self.share
        return -(-length(session) * share // 100)  # ceiling: 75 % of 50 min is 38, not 37

    @property
    def text(self) -> str:
        if self.minutes is not None:
            return f"{self.minutes} min"
        return f"{DEFAULT_SHARE if self.share is None else self.share} %"


def length(session: Session) -> int:
    """The session's scheduled length in whole minutes."""
    return int((session.ends_at - session.starts_at).total_seconds() // 60)


def parse_minimum(raw: str, field: str = "minimum") -> Minimum | None:
    """`75%`, `75 %`, `45`, `45 min` as an officer types them; empty means None (the default)."""
    text = (raw or "").strip().lower()
    if not text:
        return None
    match = _MINIMUM.match(text)
    if match is None:
        raise MinimumError(_("Give a share such as %(share)s or minutes such as 45.", share="75 %"))
    number = float(match.group(1).replace(",", "."))
    if match.group(2) in ("%", "percent"):
        if not 0 < number <= 100:
            raise MinimumError(_("A share is between %(low)s and %(high)s.", low="1 %", high="100 %"))
        return Minimum(share=round(number))
    if not 0 < number <= 24 * 60 or number != int(number):
        raise MinimumError(_("Minutes are a whole number between 1 and 1440."))
    return Minimum(minutes=int(number))


def event_minimum(settings: CESettings) -> Minimum:
    if settings.min_minutes is not None:
        return Minimum(minutes=settings.min_minutes)
    return Minimum(share=settings.min_share if settings.min_share is not None else DEFAULT_SHARE)


def session_minimum(session: Session, settings: CESettings) -> Minimum:
    """The session's own minimum if an officer set one, else the event's."""
    if session.ce_min_minutes is not None:
        return Minimum(minutes=session.ce_min_minutes)
    if session.ce_min_share is not None:
        return Minimum(share=session.ce_min_share)
    return event_minimum(settings)


def confirmed_minutes(sources: set[str], minutes: int | None, session: Session) -> int | None:
    """Minutes confirmed at the session, or None when only a join-link click (or a report
    without times) says the person was there."""
    if sources & WHOLE_SESSION_SOURCES:
        return length(session)
    if "import" in sources and minutes is not None:
        return minutes
    return None


def credit(confirmed: int | None, session: Session, session_ce_minutes: int, settings: CESettings) -> int:
    """CE minutes earned at one session under the event's minimum and credit rule."""
    if confirmed is None or confirmed < session_minimum(session, settings).for_session(session):
        return 0
    if settings.credit == "quarter":
        return min(session_ce_minutes, confirmed // QUARTER * QUARTER)
    return session_ce_minutes
