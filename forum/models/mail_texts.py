"""An officer's own words in one kind of mail of one event: an intro and a sign-off."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from forum.core.extensions import Model
from forum.models.base import Timestamps


class MailText(Timestamps, Model):
    __tablename__ = "mail_text"
    __table_args__ = (UniqueConstraint("event_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # a key of forum.mail_texts.KINDS
    intro: Mapped[str] = mapped_column(Text, default="")  # Markdown with {{ placeholders }}
    signoff: Mapped[str] = mapped_column(Text, default="")
