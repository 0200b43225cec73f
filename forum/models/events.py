"""Event aggregate: an e-forum or a webinar series, its sessions and its panelists."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
    false,
    or_,
    select,
)
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from forum.core import clock
from forum.core.extensions import Model, db
from forum.core.timezones import Localized, TimeInputError, get_zone, localize, to_zone
from forum.models.base import Keyed, Timestamps, TZDateTime, WallTime, belongs_to, link_table
from forum.models.topics import Topic

EVENT_KINDS = {"eforum": _l("e-Forum"), "series": _l("Webinar series")}
EVENT_STATUSES = ("draft", "published", "cancelled")
SESSION_STATUSES = ("scheduled", "cancelled")
PANELIST_ROLES = {"panelist": _l("Panelist"), "moderator": _l("Moderator"), "presenter": _l("Presenter")}
MODERATION_POLICIES = {
    "none": _l("No posts held"),
    "new": _l("Hold first post of new members"),
    "all": _l("Hold every post"),
}
#: What happens to mail to an e-forum from someone who is not a member (after a 250, so the
#: MTA never bounces it to a sender address that may be forged).
NON_MEMBER_POLICIES = {
    "hold": _l("Hold for a moderator"),
    "discard": _l("Discard"),
}

#: Text-search configurations an archive may be indexed in: PostgreSQL's built-in ones (the
#: `search_language` is cast to regconfig, so anything else would fail at the first post).
SEARCH_LANGUAGES = {
    "simple": "No language (words as written)",
    "danish": "Danish",
    "dutch": "Dutch",
    "english": "English",
    "finnish": "Finnish",
    "french": "French",
    "german": "German",
    "hungarian": "Hungarian",
    "italian": "Italian",
    "norwegian": "Norwegian",
    "portuguese": "Portuguese",
    "romanian": "Romanian",
    "russian": "Russian",
    "spanish": "Spanish",
    "swedish": "Swedish",
    "turkish": "Turkish",
}
#: The spam score limit's bounds (SpamAssassin and rspamd scores; 5 is SpamAssassin's usual one).
SPAM_SCORE_RANGE = (0.0, 100.0)


class Event(Keyed, Timestamps, Model):
    __tablename__ = "event"

    slug: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="eforum")
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")  # Markdown
    learning_outcomes: Mapped[str] = mapped_column(Text, default="")  # one per line
    audience: Mapped[str] = mapped_column(Text, default="")  # "Who should attend"
    tech_requirements: Mapped[str] = mapped_column(Text, default="")
    registration_info: Mapped[str] = mapped_column(Text, default="")  # "How to register", Markdown
    contact_name: Mapped[str] = mapped_column(String(200), default="")
    contact_email: Mapped[str] = mapped_column(String(320), default="")
    contact_phone: Mapped[str] = mapped_column(String(80), default="")
    conduct_url: Mapped[str] = mapped_column(String(500), default="")
    timezone: Mapped[str] = mapped_column(String(64), default="America/New_York")
    # The language the event is given in (its pages default to it), and an optional second
    # language whose readers see the title, summary and outcomes given for it.
    language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")
    second_language: Mapped[str] = mapped_column(String(8), default="", server_default="")
    second_title: Mapped[str] = mapped_column(String(200), default="", server_default="")
    second_summary: Mapped[str] = mapped_column(Text, default="", server_default="")
    second_outcomes: Mapped[str] = mapped_column(Text, default="", server_default="")  # one per line
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    published_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    # e-forum list settings
    moderation: Mapped[str] = mapped_column(String(8), default="new")
    non_member_posts: Mapped[str] = mapped_column(String(8), default="hold", server_default="hold")
    # non-member mail whose X-Spam-Score / X-Rspamd-Score is above this (or X-Spam-Flag: YES)
    # is discarded or held without any notice (forum.discussion.senders)
    # text-search configuration of the archive's index (PostgreSQL: a regconfig name)
    search_language: Mapped[str] = mapped_column(String(32), default="english", server_default="english")
    spam_score_limit: Mapped[float] = mapped_column(Float, default=5.0, server_default="5.0")
    archive_public: Mapped[bool] = mapped_column(default=True)
    reply_to_list: Mapped[bool] = mapped_column(default=True)
    digest_hour: Mapped[int] = mapped_column(Integer, default=18)  # local hour in `timezone`
    reminder_offsets: Mapped[str] = mapped_column(String(100), default="1440,60")  # minutes before
    # webinar series: seats (None = unlimited) and when personal join links open
    seat_limit: Mapped[int | None] = mapped_column(Integer)
    door_minutes: Mapped[int] = mapped_column(Integer, default=15, server_default="15")
    # After the last session: an explicit "Register for the recordings" instead of no form
    # (forum.subscriptions.state); the officer turns it on on the recordings page.
    recordings_signup: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    # an officer approves each confirmed registration before it gets anything from the event
    # (forum.registration.approval); set on the event's registration-questions page
    needs_approval: Mapped[bool] = mapped_column(default=False, server_default=false())

    sessions: Mapped[list[Session]] = relationship(
        back_populates="event",
        order_by="(Session.starts_at, Session.position, Session.id)",
        cascade="all, delete-orphan",
    )
    panelist_links: Mapped[list[EventPanelist]] = relationship(
        back_populates="event",
        order_by="EventPanelist.position",
        cascade="all, delete-orphan",
    )
    #: what the organisation-wide calendar files it under (forum.models.topics)
    topics: Mapped[list[Topic]] = relationship(secondary="event_topic", order_by="Topic.name")

    @property
    def is_public(self) -> bool:
        """Published, or cancelled after having been published (then shown, marked cancelled).

        A draft that was cancelled was never announced: it stays private everywhere.
        """
        return self.status == "published" or (self.status == "cancelled" and self.published_at is not None)

    @classmethod
    def public_clause(cls) -> ColumnElement[bool]:
        """`is_public` as a WHERE clause."""
        return or_(cls.status == "published", and_(cls.status == "cancelled", cls.published_at.is_not(None)))

    @property
    def was_published(self) -> bool:
        return self.published_at is not None

    @property
    def kind_label(self) -> str:
        return EVENT_KINDS.get(self.kind, self.kind)

    def in_language(self, language: str) -> tuple[str, str, str]:
        """(title, summary, learning outcomes) as readers in `language` see them: the second
        language's text where the officer gave it, else the primary text."""
        if language and language == self.second_language and language != self.language:
            return (
                self.second_title or self.title,
                self.second_summary or self.summary,
                self.second_outcomes or self.learning_outcomes,
            )
        return self.title, self.summary, self.learning_outcomes

    @property
    def is_eforum(self) -> bool:
        return self.kind == "eforum"

    @property
    def active_sessions(self) -> list[Session]:
        return [s for s in self.sessions if s.status != "cancelled"]

    @property
    def starts_at(self) -> datetime | None:
        sessions = self.active_sessions
        return min(s.starts_at for s in sessions) if sessions else None

    @property
    def ends_at(self) -> datetime | None:
        sessions = self.active_sessions
        return max(s.ends_at for s in sessions) if sessions else None

    @property
    def first_date(self) -> date | None:
        start = self.starts_at
        return to_zone(start, self.timezone).date() if start else None

    @property
    def last_date(self) -> date | None:
        end = self.ends_at
        return to_zone(end, self.timezone).date() if end else None

    def list_address(self, domain: str) -> str:
        return f"{self.slug}@{domain}"

    def is_open(self, at: datetime) -> bool:
        """An e-forum takes posts from its first session's start to its last one's end."""
        start, end = self.starts_at, self.ends_at
        return bool(start and end and start <= at < end and self.status == "published")

    @property
    def reminder_minutes(self) -> list[int]:
        return sorted({int(p) for p in self.reminder_offsets.split(",") if p.strip().isdigit()}, reverse=True)

    @classmethod
    def by_slug(cls, slug: str) -> Event | None:
        return db.session.scalar(select(cls).where(cls.slug == slug))


#: panelists who appear in one session of a series (shown with that session); the event's
#: own panelist list (EventPanelist) stays the full line-up with roles
session_panelist = link_table("session_panelist", "session", "panelist")


class Session(Keyed, Timestamps, Model):
    """One live session (a webinar) or one day of an e-forum.

    Truth is the wall time in `timezone`; `starts_at`/`ends_at` are derived UTC
    instants for queries and sorting, recomputed by `set_times`.
    """

    __tablename__ = "session"

    event_id: Mapped[int] = belongs_to("event")
    position: Mapped[int] = mapped_column(Integer, default=0)
    title: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    start_wall: Mapped[datetime] = mapped_column(WallTime())
    end_wall: Mapped[datetime] = mapped_column(WallTime())
    timezone: Mapped[str] = mapped_column(String(64))
    starts_at: Mapped[datetime] = mapped_column(TZDateTime(), index=True)
    ends_at: Mapped[datetime] = mapped_column(TZDateTime())
    join_url: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    sequence: Mapped[int] = mapped_column(Integer, default=0)  # iCalendar SEQUENCE
    uid: Mapped[str] = mapped_column(String(120), unique=True, default=lambda: f"{uuid.uuid4()}")
    # Continuing-education minutes an officer set; None = the length rounded to the quarter hour
    # (forum.attendance.session_minutes).
    ce_minutes: Mapped[int | None] = mapped_column(Integer)
    # This session's minimum attendance for CE credit (a share or minutes); None = the event's.
    ce_min_share: Mapped[int | None] = mapped_column(Integer)
    ce_min_minutes: Mapped[int | None] = mapped_column(Integer)

    event: Mapped[Event] = relationship(back_populates="sessions")
    materials: Mapped[list[Material]] = relationship(
        back_populates="session",
        order_by="(Material.position, Material.id)",
        cascade="all, delete-orphan",
        passive_deletes=True,  # ON DELETE CASCADE in the database
    )
    panelists: Mapped[list[Panelist]] = relationship(secondary=session_panelist, order_by="Panelist.name")

    @classmethod
    def webinar_clause(cls) -> ColumnElement[bool]:
        """Sessions of published webinar series that are not cancelled: what reminders and
        "recording available" mails are about (join Event)."""
        return and_(Event.kind == "series", Event.status == "published", cls.status != "cancelled")

    def set_times(self, start_wall: datetime, end_wall: datetime, zone: str) -> list[str]:
        """Set wall times and derive instants; returns notes (ambiguous times) for the officer.

        Raises TimeInputError for a time in a spring-forward gap, an unknown zone, or
        an end not after the start.
        """
        get_zone(zone)
        start: Localized = localize(start_wall, zone)
        end: Localized = localize(end_wall, zone)
        if end.instant <= start.instant:
            raise TimeInputError(_("The session must end after it starts."))
        self.start_wall, self.end_wall, self.timezone = start_wall, end_wall, zone
        self.starts_at, self.ends_at = start.instant, end.instant
        return [n for n in (start.note, end.note) if n]

    def bump(self) -> None:
        """Record a change that attendees' calendars must pick up."""
        self.sequence = (self.sequence or 0) + 1

    @property
    def start_local(self) -> datetime:
        return to_zone(self.starts_at, self.timezone)

    @property
    def end_local(self) -> datetime:
        return to_zone(self.ends_at, self.timezone)

    @property
    def display_title(self) -> str:
        return self.title or self.event.title


class Panelist(Keyed, Timestamps, Model):
    __tablename__ = "panelist"

    name: Mapped[str] = mapped_column(String(200), index=True)
    title: Mapped[str] = mapped_column(String(200), default="")  # job title
    affiliation: Mapped[str] = mapped_column(String(200), default="")
    pronouns: Mapped[str] = mapped_column(String(40), default="")
    email: Mapped[str | None] = mapped_column(String(320), index=True)  # lets them post and moderate
    bio: Mapped[str] = mapped_column(Text, default="")  # Markdown
    photo_url: Mapped[str] = mapped_column(String(500), default="")
    links: Mapped[str] = mapped_column(Text, default="")  # one URL per line

    event_links: Mapped[list[EventPanelist]] = relationship(
        back_populates="panelist", cascade="all, delete-orphan"
    )

    @property
    def link_list(self) -> list[str]:
        return [line.strip() for line in self.links.splitlines() if line.strip()]


class EventPanelist(Keyed, Model):
    __tablename__ = "event_panelist"
    __table_args__ = (UniqueConstraint("event_id", "panelist_id"),)

    event_id: Mapped[int] = belongs_to("event")
    panelist_id: Mapped[int] = belongs_to("panelist")
    role: Mapped[str] = mapped_column(String(16), default="panelist")
    position: Mapped[int] = mapped_column(Integer, default=0)

    event: Mapped[Event] = relationship(back_populates="panelist_links")
    panelist: Mapped[Panelist] = relationship(back_populates="event_links")

    @property
    def role_label(self) -> str:
        return PANELIST_ROLES.get(self.role, self.role)


# --- a session's materials (webinars): part of the session's aggregate, deleted with it ---
# The recording, slides and other links an officer adds afterwards. Stored per session (a
# series' registrants who missed one want exactly that one), each either public (shown on
# the event page to everyone) or for registrants only (shown on their signed-link pages
# and in their mail, never on public pages or files).

MATERIAL_KINDS = {"recording": _l("Recording"), "slides": _l("Slides"), "other": _l("Material")}
MATERIAL_VISIBILITY = {"registrants": _l("Registrants only"), "public": _l("Everyone (public)")}


class Material(Keyed, Model):
    __tablename__ = "session_material"

    session_id: Mapped[int] = belongs_to("session")
    kind: Mapped[str] = mapped_column(String(16), default="recording")
    title: Mapped[str] = mapped_column(String(200), default="")
    url: Mapped[str] = mapped_column(String(500))
    public: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=clock.now)
    # Accessibility: captions as a link (the video host's track) or an uploaded WebVTT file
    # served by us, and a transcript as text. `hold_for_captions`: the "recording available"
    # mail waits until captions are added (the officer's "send when captions are ready").
    captions_url: Mapped[str] = mapped_column(String(500), default="", server_default="")
    captions_vtt: Mapped[str] = mapped_column(Text, default="", server_default="")
    transcript: Mapped[str] = mapped_column(Text, default="", server_default="")
    hold_for_captions: Mapped[bool] = mapped_column(default=False, server_default=false())

    session: Mapped[Session] = relationship(back_populates="materials")

    @property
    def has_captions(self) -> bool:
        return bool(self.captions_url or self.captions_vtt)

    @property
    def waiting_for_captions(self) -> bool:
        return self.hold_for_captions and not self.has_captions

    @property
    def kind_label(self) -> str:
        return MATERIAL_KINDS.get(self.kind, self.kind)

    @property
    def label(self) -> str:
        return self.title or self.kind_label
