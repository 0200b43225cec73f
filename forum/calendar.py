"""iCalendar building (icalendar 7): files, feeds and iTIP invites.

Interface used by forum.events; the calendar issue implements the bodies.
"""

from __future__ import annotations

from email.message import EmailMessage

from .models import Participant, Session, Subscription


def send_updates(session: Session) -> None:
    """Enqueue a METHOD:REQUEST update (same UID, new SEQUENCE) to every active subscriber."""
    # Filled in by the calendar issue (#7); until then changes send no calendar mail.


def send_cancellations(session: Session) -> None:
    """Enqueue a METHOD:CANCEL for the session to every active subscriber."""
    # Filled in by the calendar issue (#7).


def invite_for_welcome(message: EmailMessage, subscription: Subscription) -> EmailMessage:
    """Turn a welcome mail into an iTIP invite (METHOD:REQUEST) for a webinar series.

    Called by the subscriptions code for every welcome mail; returns the message to send.
    """
    return message  # Filled in by the calendar issue (#7).


def session_file(session: Session, attendee: Participant | None = None) -> bytes:
    """The .ics bytes for one session (reminders attach it)."""
    raise NotImplementedError("calendar issue #7")
