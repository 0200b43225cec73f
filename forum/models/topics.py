"""Topics: an officer-managed list of subjects (“Cataloging”, “Youth services”) that events
and pathways are filed under, so the organisation-wide calendar and its feeds can be read
one topic at a time (as Indico's categories are).

A topic is found by its `slug` (the calendar's `?topic=` and `/feeds/topics/<slug>.ics`);
its `name` may change without breaking a reader's saved feed address.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Integer, String, Table, select
from sqlalchemy.orm import Mapped, mapped_column

from forum.core.extensions import Model, db
from forum.models.base import Timestamps

event_topic = Table(
    "event_topic",
    Model.metadata,
    Column("event_id", ForeignKey("event.id", ondelete="CASCADE"), primary_key=True),
    Column("topic_id", ForeignKey("topic.id", ondelete="CASCADE"), primary_key=True, index=True),
)

pathway_topic = Table(
    "pathway_topic",
    Model.metadata,
    Column("pathway_id", ForeignKey("pathway.id", ondelete="CASCADE"), primary_key=True),
    Column("topic_id", ForeignKey("topic.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Topic(Timestamps, Model):
    __tablename__ = "topic"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(Integer, default=0)

    @classmethod
    def by_slug(cls, slug: str) -> Topic | None:
        return db.session.scalar(select(cls).where(cls.slug == slug))
