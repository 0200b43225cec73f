"""The topic list (officer-managed) and the one way a door turns topic addresses into rows.

Events (`forum.events.editing`) and pathways (`forum.pathways.service`) both pick topics, by
slug, from the web forms and the JSON API; both call `by_slugs`, so an unknown topic is
refused with the same words whichever door it came through. Services here never commit.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import gettext as _
from sqlalchemy import delete, func, select

from forum.core.extensions import db
from forum.core.text import slugify
from forum.models import Topic, event_topic, pathway_topic

MAX_NAME = 120


class TopicError(ValueError):
    """A topic change the officer can fix; `field` names the form field at fault."""

    def __init__(self, message: str, field: str = "name"):
        super().__init__(message)
        self.field = field


def all_topics() -> list[Topic]:
    """Every topic, by name (the pickers' and the calendar filter's order)."""
    return list(db.session.scalars(select(Topic).order_by(func.lower(Topic.name), Topic.id)))


def by_slugs(slugs: Iterable[str]) -> list[Topic]:
    """The topics with these addresses, in the order given; TopicError names any unknown."""
    wanted = list(dict.fromkeys(s.strip() for s in slugs if s and s.strip()))
    if not wanted:
        return []
    found = {t.slug: t for t in db.session.scalars(select(Topic).where(Topic.slug.in_(wanted)))}
    unknown = [s for s in wanted if s not in found]
    if unknown:
        raise TopicError(
            _("No such topic: %(slugs)s. Pick from the topic list (officers add topics under Topics).")
            % {"slugs": ", ".join(unknown)},
            "topics",
        )
    return [found[s] for s in wanted]


def save_topic(topic: Topic | None, *, name: str, slug: str = "") -> Topic:
    """A new topic or a renamed one. The address is made from the name when empty and, once
    made, kept on a rename (readers' saved per-topic feed addresses use it)."""
    name = " ".join((name or "").split())
    if not name:
        raise TopicError(_("Give the topic a name, e.g. “Cataloging”."))
    if len(name) > MAX_NAME:
        raise TopicError(_("Keep the name under %(count)d characters.") % {"count": MAX_NAME})
    slug = slugify(slug or (topic.slug if topic else "") or name, "topic")
    clash = Topic.by_slug(slug)
    if clash is not None and clash is not topic:
        raise TopicError(
            _("Another topic (“%(name)s”) already uses the address “%(slug)s”.")
            % {"name": clash.name, "slug": slug},
            "slug",
        )
    if topic is None:
        topic = Topic(position=(db.session.scalar(select(func.max(Topic.position))) or 0) + 1)
        db.session.add(topic)
    topic.name, topic.slug = name, slug
    db.session.flush()
    return topic


def delete_topic(topic: Topic) -> None:
    """Remove a topic: events and pathways filed under it simply lose it."""
    for link in (event_topic, pathway_topic):
        db.session.execute(delete(link).where(link.c.topic_id == topic.id))
    db.session.delete(topic)
    db.session.flush()
    db.session.expire_all()  # loaded events and pathways forget it too
