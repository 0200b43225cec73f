"""Materials of a webinar session: the recording, slides and other links an officer adds afterwards.

Stored per session (a series' registrants who missed one want exactly that one), each
either public (shown on the event page to everyone) or for registrants only (shown on
their signed-link pages and in their mail, never on public pages or files).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from forum.core import clock
from forum.core.extensions import Model
from forum.models.base import TZDateTime
from forum.models.events import Session

MATERIAL_KINDS = {"recording": "Recording", "slides": "Slides", "other": "Material"}
MATERIAL_VISIBILITY = {"registrants": "Registrants only", "public": "Everyone (public)"}


class Material(Model):
    __tablename__ = "session_material"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("session.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="recording")
    title: Mapped[str] = mapped_column(String(200), default="")
    url: Mapped[str] = mapped_column(String(500))
    public: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=clock.now)

    session: Mapped[Session] = relationship(back_populates="materials")

    @property
    def kind_label(self) -> str:
        return MATERIAL_KINDS.get(self.kind, self.kind)

    @property
    def label(self) -> str:
        return self.title or self.kind_label
