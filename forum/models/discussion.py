"""E-forum discussion: threads and the posts in them (held, accepted or rejected).

A post is stored once, whichever door it came in by (LMTP, pipe, web form); its
`status` says whether it is waiting for a moderator, was accepted (archived and fanned
out; digests read these by `accepted_at`) or was rejected (kept for the record, never
shown or sent).
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from forum.core import clock
from forum.core.extensions import Model
from forum.models.base import Keyed, TZDateTime, belongs_to
from forum.models.events import Event, Panelist
from forum.models.participants import Participant, Subscription

POST_STATUSES = ("held", "accepted", "rejected")
POST_SOURCES = ("email", "web")
#: author_role values: who wrote it, as the archive badges show it.
AUTHOR_ROLES = {"participant": _l("Participant"), "panelist": _l("Panelist"), "moderator": _l("Moderator")}


class Thread(Keyed, Model):
    """A conversation in one forum: its first post's subject, and when it last moved."""

    __tablename__ = "thread"
    __table_args__ = (Index("ix_thread_event_subject", "event_id", "subject_key"),)

    event_id: Mapped[int] = belongs_to("event")
    subject: Mapped[str] = mapped_column(String(300), default="")
    # Subject without Re:/Fwd:/[list] prefixes, lower-cased: the fallback for threading.
    subject_key: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=clock.now)
    last_post_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    post_count: Mapped[int] = mapped_column(Integer, default=0)  # accepted posts only

    event: Mapped[Event] = relationship()
    posts: Mapped[list[Post]] = relationship(back_populates="thread", order_by="Post.id")


class Post(Keyed, Model):
    """One message to the forum.

    `message_id` is unique within a forum (the same mail cross-posted to two forums is
    one post in each). `body_text` is always there (derived from HTML when the mail had
    no text part); `body_html` is always sanitised, and derived from the text when the
    mail had no HTML part, so readers can use either.
    """

    __tablename__ = "post"
    __table_args__ = (
        UniqueConstraint("event_id", "message_id"),
        Index("ix_post_event_status_accepted", "event_id", "status", "accepted_at"),
    )

    event_id: Mapped[int] = belongs_to("event")
    thread_id: Mapped[int | None] = mapped_column(ForeignKey("thread.id", ondelete="SET NULL"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("post.id", ondelete="SET NULL"))
    message_id: Mapped[str] = mapped_column(String(255))  # with angle brackets, as in headers
    in_reply_to: Mapped[str | None] = mapped_column(String(255))
    references: Mapped[str] = mapped_column("reference_ids", Text, default="")  # space-separated Message-IDs
    subject: Mapped[str] = mapped_column(String(300), default="")
    author_name: Mapped[str] = mapped_column(String(200), default="")
    author_email: Mapped[str] = mapped_column(String(320))
    participant_id: Mapped[int | None] = mapped_column(
        ForeignKey("participant.id", ondelete="SET NULL"), index=True
    )
    panelist_id: Mapped[int | None] = mapped_column(ForeignKey("panelist.id", ondelete="SET NULL"))
    author_role: Mapped[str] = mapped_column(String(16), default="participant")
    is_panelist: Mapped[bool] = mapped_column(default=False)  # panelists and moderators
    body_text: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")  # sanitised
    had_html: Mapped[bool] = mapped_column(default=False)  # the mail had its own HTML part
    stripped_attachments: Mapped[str] = mapped_column(Text, default="")  # "name (type, size)" per line
    source: Mapped[str] = mapped_column(String(8), default="email")
    size: Mapped[int] = mapped_column(Integer, default=0)  # bytes of the message as received
    status: Mapped[str] = mapped_column(String(16), default="held", index=True)
    hold_reason: Mapped[str] = mapped_column(String(300), default="")
    reject_reason: Mapped[str] = mapped_column(Text, default="")
    moderated_by: Mapped[str] = mapped_column(String(320), default="")  # officer/panelist email
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=clock.now)
    accepted_at: Mapped[datetime | None] = mapped_column(TZDateTime(), index=True)
    rejected_at: Mapped[datetime | None] = mapped_column(TZDateTime())

    event: Mapped[Event] = relationship()
    thread: Mapped[Thread | None] = relationship(back_populates="posts")
    parent: Mapped[Post | None] = relationship(remote_side="Post.id")
    participant: Mapped[Participant | None] = relationship()
    panelist: Mapped[Panelist | None] = relationship()

    @property
    def author_display(self) -> str:
        """The name shown for the author (archive, list mail From, digests): never the address.

        Without a name, the address's local part (`plain@example.org` -> `plain`), else
        "A participant": archive pages may be public and carry no addresses.
        """
        if self.author_name.strip():
            return self.author_name
        return self.author_email.rpartition("@")[0].strip() or "A participant"

    @property
    def role_label(self) -> str:
        return AUTHOR_ROLES.get(self.author_role, self.author_role)


class AcceptedSender(Keyed, Model):
    """An address a moderator chose to "always accept" in one forum though it is not a member.

    Its posts skip the non-member hold (a list server's accept list); mail the MTA marked
    as spam is still held, because a From: line is easy to forge.
    """

    __tablename__ = "accepted_sender"
    __table_args__ = (UniqueConstraint("event_id", "email"),)

    event_id: Mapped[int] = belongs_to("event")
    email: Mapped[str] = mapped_column(String(320))  # lower-cased
    added_by: Mapped[str] = mapped_column(String(320), default="")
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=clock.now)


#: What a reader chose for one thread (`ThreadChoice.choice`).
THREAD_CHOICES = {"mute": "Muted", "follow": "Followed"}


class ThreadChoice(Keyed, Model):
    """One reader's choice about one thread: muted (its posts leave their each-message mail
    and their digests) or followed (its posts come one by one whatever their delivery mode,
    and leave their digests). Made from the signed links in list mail or the preferences page."""

    __tablename__ = "thread_choice"
    __table_args__ = (UniqueConstraint("subscription_id", "thread_id"),)

    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscription.id", ondelete="CASCADE"))
    thread_id: Mapped[int] = belongs_to("thread")
    choice: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=clock.now)

    subscription: Mapped[Subscription] = relationship()
    thread: Mapped[Thread] = relationship()
