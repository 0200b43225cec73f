"""An officer's own words in one kind of mail of one event: an intro and a sign-off."""

from __future__ import annotations

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from forum.core.extensions import Model
from forum.models.base import Keyed, Timestamps, belongs_to


class MailText(Keyed, Timestamps, Model):
    __tablename__ = "mail_text"
    __table_args__ = (UniqueConstraint("event_id", "kind"),)

    event_id: Mapped[int] = belongs_to("event")
    kind: Mapped[str] = mapped_column(String(32))  # a key of forum.mail_texts.KINDS
    intro: Mapped[str] = mapped_column(Text, default="")  # Markdown with {{ placeholders }}
    signoff: Mapped[str] = mapped_column(Text, default="")
