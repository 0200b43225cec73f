"""Participants (one per email address: "register once") and their subscriptions."""

from __future__ import annotations

import secrets
from datetime import date, datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Date, Integer, String, UniqueConstraint, select
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from forum.core.extensions import Model, db
from forum.core.validation import email_key
from forum.models.base import Keyed, Timestamps, TZDateTime, belongs_to
from forum.models.events import Event

DELIVERY_MODES = {
    "each": _l("Each message"),
    "digest": _l("Digest (daily or weekly)"),
    "none": _l("No mail (read on the web)"),
}
#: How often a digest reader gets one (`Subscription.digest_rhythm`).
DIGEST_RHYTHMS = {"daily": "Daily", "weekly": "Weekly"}
#: What a digest holds (`Subscription.digest_style`): every post, or an index of subjects with links.
DIGEST_STYLES = {"full": "Every message in full", "subjects": "Subjects only, with links"}
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
#: "awaiting": confirmed, waiting for an officer's approval (events that need it); "declined": refused
SUBSCRIPTION_STATUSES = ("pending", "awaiting", "active", "waitlisted", "declined", "unsubscribed", "disabled")
SUBSCRIPTION_SOURCES = ("web", "api", "import")


class Participant(Keyed, Timestamps, Model):
    __tablename__ = "participant"

    # Normalised by email-validator (domain lower-cased); `email_key` is the whole
    # address lower-cased, the identity used for "register once".
    email: Mapped[str] = mapped_column(String(320))
    email_key: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    timezone: Mapped[str | None] = mapped_column(String(64))
    #: The locale every page and mail to them is in (`fr_CA`): the browser's at sign-up,
    #: changeable on the preferences page; None reads as English (forum.core.i18n).
    language: Mapped[str | None] = mapped_column(String(16))
    confirmed_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    feed_token: Mapped[str] = mapped_column(
        String(64), unique=True, default=lambda: secrets.token_urlsafe(24)
    )

    subscriptions: Mapped[list[Subscription]] = relationship(
        back_populates="participant", cascade="all, delete-orphan"
    )

    @property
    def display(self) -> str:
        return self.name or self.email

    @classmethod
    def by_email(cls, email: str) -> Participant | None:
        return db.session.scalar(select(cls).where(cls.email_key == email_key(email)))


class Subscription(Keyed, Timestamps, Model):
    __tablename__ = "subscription"
    __table_args__ = (UniqueConstraint("participant_id", "event_id"),)

    participant_id: Mapped[int] = belongs_to("participant")
    event_id: Mapped[int] = belongs_to("event")
    mode: Mapped[str] = mapped_column(String(8), default="each")
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    source: Mapped[str] = mapped_column(String(8), default="web")
    conduct_accepted_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    conduct_url: Mapped[str] = mapped_column(String(500), default="")
    confirmed_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    unsubscribed_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    # Webinar series with a seat limit: when this registration joined the waiting list
    # (its place in the queue; kept after promotion as a record).
    waitlisted_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    # approval (events that need it): when an officer approved or declined this registration
    approved_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    declined_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    hard_bounces: Mapped[int] = mapped_column(Integer, default=0)
    # The day (UTC) of the last counted hard bounce: at most one counts per day.
    last_bounce_on: Mapped[date | None] = mapped_column(Date)
    posts_approved: Mapped[int] = mapped_column(Integer, default=0)  # "new member" moderation
    # Digest readers (mode "digest"): how often and what (forum.discussion.digests). With no
    # `digest_hour` a daily digest goes at the forum's own hour in the forum's zone; with one,
    # at that hour in the reader's own zone (a weekly digest always goes in the reader's zone,
    # on `digest_weekday`, 0 = Monday, at `digest_hour` or else the forum's hour).
    digest_rhythm: Mapped[str] = mapped_column(String(8), default="daily", server_default="daily")
    digest_style: Mapped[str] = mapped_column(String(8), default="full", server_default="full")
    digest_hour: Mapped[int | None] = mapped_column(Integer)
    digest_weekday: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Posts accepted before this instant have reached the reader already (their last digest
    # ended here, or they had each message until they switched to digests). Their next
    # digest starts here, so changing rhythm, hour or zone neither repeats nor skips a post.
    # None: the digest period's own start (a reader who never had one).
    digest_since: Mapped[datetime | None] = mapped_column(TZDateTime())
    # When the reader last changed when their digest goes (rhythm, hour, weekday, zone, or
    # turning to digests): digests of the new schedule due before it are not theirs (no
    # catch-up burst); the first one due after it brings everything since `digest_since`.
    digest_chosen_at: Mapped[datetime | None] = mapped_column(TZDateTime())

    participant: Mapped[Participant] = relationship(back_populates="subscriptions")
    event: Mapped[Event] = relationship()

    @hybrid_property
    def is_active(self) -> bool:
        """In the list now: confirmed, seated, not left or disabled. The one spelling of
        "active", on a loaded row (`sub.is_active`) and in a query
        (`.where(Subscription.is_active)`)."""
        return self.status == "active"

    @is_active.inplace.expression
    @classmethod
    def _is_active_expression(cls) -> ColumnElement[bool]:
        return cls.status == "active"

    @property
    def mode_label(self) -> str:
        """"Each message", "Daily digest", "Weekly digest, subjects only", "No mail ..."."""
        if self.mode != "digest":
            return str(DELIVERY_MODES.get(self.mode, self.mode))
        weekly = self.digest_rhythm == "weekly"
        if self.digest_style == "subjects":
            return _("Weekly digest, subjects only") if weekly else _("Daily digest, subjects only")
        return _("Weekly digest") if weekly else _("Daily digest")
