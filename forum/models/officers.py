"""Program officers: people who set events up, by web login or API token."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask_login import UserMixin
from sqlalchemy import JSON, String, select
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from forum.core import clock
from forum.core.extensions import Model, db
from forum.models.base import Keyed, Timestamps, TZDateTime, belongs_to


class Officer(Keyed, UserMixin, Timestamps, Model):
    __tablename__ = "officer"

    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(300), default="")
    active: Mapped[bool] = mapped_column(default=True)
    #: Site administrator: every event, officers, settings, branding (forum/team/roles.py).
    #: False by default: an invited officer holds only the roles granted per event.
    is_admin: Mapped[bool] = mapped_column(default=False, server_default="0")
    #: The locale the officer's pages are in (`fr_CA`); None: their browser's.
    language: Mapped[str | None] = mapped_column(String(16))
    #: TOTP second factor (forum/team/totp.py): the base32 secret (set while enrolling, kept
    #: once confirmed), when it was confirmed (None: not required at sign-in), the last time
    #: step accepted (a code is good once), and the SHA-256 of each unused recovery code.
    totp_secret: Mapped[str] = mapped_column(String(64), default="", server_default="")
    totp_enabled_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    totp_last_step: Mapped[int | None] = mapped_column()
    totp_recovery: Mapped[list[str] | None] = mapped_column(JSON, default=list)

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="officer", cascade="all, delete-orphan")

    @property
    def is_active(self) -> bool:
        return self.active

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    @property
    def has_second_factor(self) -> bool:
        return self.totp_enabled_at is not None

    @classmethod
    def by_email(cls, email: str) -> Officer | None:
        return db.session.scalar(select(cls).where(cls.email == email.strip().lower()))


#: How exactly an API token's last use is kept (see `ApiToken.find`).
USED_PRECISION = timedelta(minutes=1)


class ApiToken(Keyed, Timestamps, Model):
    """Bearer token for the JSON API; only its SHA-256 is stored."""

    __tablename__ = "api_token"

    officer_id: Mapped[int] = belongs_to("officer")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    last_used_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    #: A token narrowed to reading: its officer's roles, minus every change (forum/team/roles.py).
    read_only: Mapped[bool] = mapped_column(default=False, server_default="0")

    officer: Mapped[Officer] = relationship(back_populates="tokens")

    @staticmethod
    def digest(raw: str) -> str:
        return hashlib.sha256(raw.encode()).hexdigest()

    @classmethod
    def issue(cls, officer: Officer, name: str = "", *, read_only: bool = False) -> tuple[ApiToken, str]:
        """Create a token; the raw value is returned once and never stored."""
        raw = "fo_" + secrets.token_urlsafe(32)
        token = cls(officer=officer, token_hash=cls.digest(raw), name=name, read_only=read_only)
        db.session.add(token)
        return token, raw

    @classmethod
    def find(cls, raw: str) -> ApiToken | None:
        """The live token for this raw value (its officer active), marked as used; else None.

        "Used" is kept to the minute (`USED_PRECISION`, what `flask forum list-tokens` shows): a
        client's requests within the same minute change nothing, so a burst of API reads is
        not a burst of writes (a row update and a commit each, and on PostgreSQL parallel
        requests with one token queueing on that row's lock).
        """
        token = db.session.scalar(select(cls).where(cls.token_hash == cls.digest(raw)))
        if token is None or not token.officer.active:
            return None
        now = clock.now()
        if token.last_used_at is None or now - token.last_used_at >= USED_PRECISION:
            token.last_used_at = now
        return token

    @classmethod
    def authenticate(cls, raw: str) -> Officer | None:
        token = cls.find(raw)
        return None if token is None else token.officer
