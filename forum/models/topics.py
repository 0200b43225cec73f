"""Topics: an officer-managed list of subjects (“Cataloging”, “Youth services”) that events
and pathways are filed under, so the organisation-wide calendar and its feeds can be read
one topic at a time (as Indico's categories are).

A topic is found by its `slug` (the calendar's `?topic=` and `/feeds/topics/<slug>.ics`);
its `name` may change without breaking a reader's saved feed address.
"""

from __future__ import annotations

from sqlalchemy import Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column

from forum.core.extensions import Model, db
from forum.models.base import Keyed, Timestamps, link_table

event_topic = link_table("event_topic", "event", "topic")

pathway_topic = link_table("pathway_topic", "pathway", "topic")


class Topic(Keyed, Timestamps, Model):
    __tablename__ = "topic"

    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(Integer, default=0)

    @classmethod
    def by_slug(cls, slug: str) -> Topic | None:
        return db.session.scalar(select(cls).where(cls.slug == slug))
