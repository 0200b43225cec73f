"""Learning pathways: resources, learning needs, pathways of steps, and their followers.

A *resource* is anything a learner can use: one of this app's events or sessions, or an
external document, video, course or webinar. A *pathway* is an ordered list of steps
(each one resource plus a short "why this step"), grouped into stages, serving one or
more *learning needs*. A *follow* is one person receiving a pathway by email, one step
per interval, at a weekday and local hour of their choosing.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Column, ForeignKey, Integer, String, Table, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from forum.core.extensions import Model, db
from forum.models.base import Keyed, Timestamps, TZDateTime, belongs_to
from forum.models.events import Event, Session
from forum.models.participants import Participant
from forum.models.topics import Topic, pathway_topic

RESOURCE_KINDS = {
    "event": _l("Event"),
    "session": _l("Live session"),
    "document": _l("Document"),
    "video": _l("Video"),
    "course": _l("Course"),
    "webinar": _l("Webinar elsewhere"),
}
#: Kinds an officer types in (the others point at this app's own events and sessions).
EXTERNAL_KINDS = ("document", "video", "course", "webinar")
PATHWAY_STATUSES = ("draft", "published")
FOLLOW_STATUSES = ("pending", "active", "paused", "completed", "left")
PROGRESS_STATES = ("sent", "done", "skipped")
#: Days between steps a follower may choose.
INTERVALS = {1: _l("Every day"), 7: _l("Every week"), 14: _l("Every two weeks"), 28: _l("Every four weeks")}
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

pathway_need = Table(
    "pathway_need",
    Model.metadata,
    Column("pathway_id", ForeignKey("pathway.id", ondelete="CASCADE"), primary_key=True),
    Column("need_id", ForeignKey("learning_need.id", ondelete="CASCADE"), primary_key=True),
)


def split_topics(text: str | None) -> list[str]:
    """`Cataloging, RDA;  serials` -> ['Cataloging', 'RDA', 'serials'] (commas or semicolons)."""
    seen: dict[str, str] = {}
    for raw in (text or "").replace(";", ",").split(","):
        topic = " ".join(raw.split())
        if topic and topic.lower() not in seen:
            seen[topic.lower()] = topic
    return list(seen.values())


class Resource(Keyed, Timestamps, Model):
    """One thing to learn from. Event/session resources take title and time from the event."""

    __tablename__ = "resource"

    kind: Mapped[str] = mapped_column(String(16), index=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    url: Mapped[str] = mapped_column(String(1000), default="")
    minutes: Mapped[int | None] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text, default="")  # Markdown
    topics: Mapped[str] = mapped_column(String(500), default="")  # comma-separated
    event_id: Mapped[int | None] = belongs_to("event")
    session_id: Mapped[int | None] = belongs_to("session")
    # The scheduled link check: HTTP status (or None before any check), error text, when.
    link_status: Mapped[int | None] = mapped_column(Integer)
    link_error: Mapped[str] = mapped_column(String(300), default="")
    link_checked_at: Mapped[datetime | None] = mapped_column(TZDateTime())

    event: Mapped[Event | None] = relationship()
    session: Mapped[Session | None] = relationship()

    @property
    def is_external(self) -> bool:
        return self.kind in EXTERNAL_KINDS

    @property
    def kind_label(self) -> str:
        return RESOURCE_KINDS.get(self.kind, self.kind)

    @property
    def the_event(self) -> Event | None:
        """The event behind an event or session resource."""
        if self.session is not None:
            return self.session.event
        return self.event

    @property
    def display_title(self) -> str:
        if self.title:
            return self.title
        if self.session is not None:
            return self.session.display_title
        return self.event.title if self.event is not None else "(untitled)"

    @property
    def topic_list(self) -> list[str]:
        return split_topics(self.topics)

    @property
    def link_broken(self) -> bool:
        return bool(self.link_error) or (self.link_status is not None and self.link_status >= 400)


class LearningNeed(Keyed, Timestamps, Model):
    """ "New to a member library", "new to acquisitions work": who a pathway is for."""

    __tablename__ = "learning_need"

    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")  # Markdown
    position: Mapped[int] = mapped_column(Integer, default=0)

    pathways: Mapped[list[Pathway]] = relationship(secondary=pathway_need, back_populates="needs")

    @classmethod
    def by_slug(cls, slug: str) -> LearningNeed | None:
        return db.session.scalar(select(cls).where(cls.slug == slug))


class Pathway(Keyed, Timestamps, Model):
    __tablename__ = "pathway"

    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    audience: Mapped[str] = mapped_column(String(300), default="")  # "For staff new to ..."
    description: Mapped[str] = mapped_column(Text, default="")  # Markdown
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    published_at: Mapped[datetime | None] = mapped_column(TZDateTime())

    needs: Mapped[list[LearningNeed]] = relationship(
        secondary=pathway_need, back_populates="pathways", order_by="LearningNeed.position"
    )
    topics: Mapped[list[Topic]] = relationship(secondary=pathway_topic, order_by="Topic.name")
    steps: Mapped[list[PathwayStep]] = relationship(
        back_populates="pathway", order_by="PathwayStep.position", cascade="all, delete-orphan"
    )

    @classmethod
    def by_slug(cls, slug: str) -> Pathway | None:
        return db.session.scalar(select(cls).where(cls.slug == slug))

    @property
    def is_published(self) -> bool:
        return self.status == "published"


class PathwayStep(Keyed, Model):
    """One resource in a pathway, with why it is there; `stage` names the group it is in."""

    __tablename__ = "pathway_step"

    pathway_id: Mapped[int] = belongs_to("pathway")
    resource_id: Mapped[int] = mapped_column(ForeignKey("resource.id", ondelete="RESTRICT"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    stage: Mapped[str] = mapped_column(String(120), default="")
    why: Mapped[str] = mapped_column(String(500), default="")

    pathway: Mapped[Pathway] = relationship(back_populates="steps")
    resource: Mapped[Resource] = relationship()


class PathwayFollow(Keyed, Timestamps, Model):
    """One person following one pathway by email.

    `position` is how many steps have been handed out (0 before the first); `next_due_at`
    is the instant the scheduler sends the next one, derived from the follower's weekday,
    local hour and zone (wall time is the truth, like sessions), so it stays 9 AM local
    across daylight-saving changes.
    """

    __tablename__ = "pathway_follow"
    __table_args__ = (UniqueConstraint("pathway_id", "participant_id"),)

    pathway_id: Mapped[int] = belongs_to("pathway")
    participant_id: Mapped[int] = belongs_to("participant")
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    interval_days: Mapped[int] = mapped_column(Integer, default=7)
    weekday: Mapped[int] = mapped_column(Integer, default=0)  # 0 = Monday
    hour: Mapped[int] = mapped_column(Integer, default=9)  # local hour in `timezone`
    timezone: Mapped[str] = mapped_column(String(64), default="America/New_York")
    advance_on_done: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    next_due_at: Mapped[datetime | None] = mapped_column(TZDateTime(), index=True)
    last_sent_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    confirmed_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    left_at: Mapped[datetime | None] = mapped_column(TZDateTime())

    pathway: Mapped[Pathway] = relationship()
    participant: Mapped[Participant] = relationship()
    progress: Mapped[list[StepProgress]] = relationship(
        back_populates="follow", cascade="all, delete-orphan", order_by="StepProgress.id"
    )

    @property
    def interval_label(self) -> str:
        return INTERVALS.get(self.interval_days, f"Every {self.interval_days} days")

    @property
    def weekday_label(self) -> str:
        return WEEKDAYS[self.weekday % 7]


class StepProgress(Keyed, Model):
    """What happened to one step for one follower: mailed, then perhaps done or skipped."""

    __tablename__ = "pathway_progress"
    __table_args__ = (UniqueConstraint("follow_id", "step_id"),)

    follow_id: Mapped[int] = belongs_to("pathway_follow")
    step_id: Mapped[int] = belongs_to("pathway_step")
    state: Mapped[str] = mapped_column(String(16), default="sent")
    sent_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(TZDateTime())

    follow: Mapped[PathwayFollow] = relationship(back_populates="progress")
    step: Mapped[PathwayStep] = relationship()
