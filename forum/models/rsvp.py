"""Calendar replies: what an attendee's calendar said to a session's invite.

When someone clicks "Yes", "Maybe" or "No" in Gmail, Outlook or Apple Calendar, the client
mails an iTIP REPLY (RFC 5546) to the invite's ORGANIZER (`forum.calendars.rsvp`). The
latest answer per (subscription, session) is kept, so officers can count who plans to come.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from forum.core import clock
from forum.core.extensions import Model
from forum.models.base import Keyed, TZDateTime, belongs_to
from forum.models.events import Session
from forum.models.participants import Subscription

#: iTIP PARTSTAT values a REPLY may carry for a VEVENT, as officers read them.
PARTSTATS = {"accepted": "Yes", "tentative": "Maybe", "declined": "No"}


class Rsvp(Keyed, Model):
    __tablename__ = "rsvp"
    __table_args__ = (UniqueConstraint("subscription_id", "session_id"),)

    subscription_id: Mapped[int] = belongs_to("subscription")
    session_id: Mapped[int] = belongs_to("session")
    partstat: Mapped[str] = mapped_column(String(16))  # a key of PARTSTATS
    #: The SEQUENCE of the invite this answers: below the session's, it answered an older time.
    sequence: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(TZDateTime(), default=clock.now)

    subscription: Mapped[Subscription] = relationship()
    session: Mapped[Session] = relationship()
