"""iCalendar building (icalendar 7): files, feeds and iTIP invites.

Interface used by forum.events; the calendar issue implements the bodies.
"""

from __future__ import annotations

from .models import Session


def send_updates(session: Session) -> None:
    """Enqueue a METHOD:REQUEST update (same UID, new SEQUENCE) to every active subscriber."""
    # Filled in by the calendar issue (#7); until then changes send no calendar mail.


def send_cancellations(session: Session) -> None:
    """Enqueue a METHOD:CANCEL for the session to every active subscriber."""
    # Filled in by the calendar issue (#7).
