"""Attendance: one person's presence at one session, the atom of the continuing-education record.

Several doors write it: the personal join link (first/last click), an officer's upload of
the webinar platform's attendance report (minutes), an officer's mark by hand, and for an
e-forum a day with an accepted post. One row per (subscription, session) whatever the door,
so certificates and completion rules count each session once; each door fills its own
columns and `sources` remembers which doors saw the person (comma-separated, sorted).
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from forum.core import clock
from forum.core.extensions import Model
from forum.models.base import Keyed, TZDateTime, belongs_to
from forum.models.events import Session
from forum.models.participants import Subscription

ATTENDANCE_SOURCES = {
    "link": _l("Personal join link"),
    "import": _l("Platform attendance report"),
    "manual": _l("Marked by an officer"),
    "post": _l("Posted that day"),
}


class Attendance(Keyed, Model):
    __tablename__ = "attendance"
    __table_args__ = (UniqueConstraint("subscription_id", "session_id"),)

    subscription_id: Mapped[int] = belongs_to("subscription")
    session_id: Mapped[int] = belongs_to("session")
    sources: Mapped[str] = mapped_column(String(64), default="")
    # Personal join link: the first and the latest click, and how many.
    first_seen_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    last_seen_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    clicks: Mapped[int] = mapped_column(Integer, default=0)
    # Platform report: minutes in the room (the largest figure any import reported).
    minutes: Mapped[int | None] = mapped_column(Integer)
    # Officer's mark by hand: who, and when (the manual source stays until they unmark).
    marked_by: Mapped[str] = mapped_column(String(320), default="")
    marked_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(TZDateTime(), default=clock.now, onupdate=clock.now)

    subscription: Mapped[Subscription] = relationship()
    session: Mapped[Session] = relationship()

    @property
    def source_list(self) -> list[str]:
        return [s for s in self.sources.split(",") if s]

    def add_source(self, source: str) -> None:
        """Remember that `source` saw this person (idempotent)."""
        if source not in ATTENDANCE_SOURCES:
            raise ValueError(f"unknown attendance source {source!r}")
        sources = ",".join(sorted({*self.source_list, source}))
        if sources != self.sources:  # unchanged rows stay untouched (updated_at too)
            self.sources = sources

    def remove_source(self, source: str) -> None:
        """Forget one door (an officer's mark undone); the row may be left with none."""
        sources = ",".join(s for s in self.source_list if s != source)
        if sources != self.sources:
            self.sources = sources
