"""What the mail relay said it can do, as the sender last saw it.

Sign-up must know whether an address like ``jörg@example.de`` can be delivered (it
needs the relay's SMTPUTF8 extension, RFC 6531) without talking SMTP inside a web
request; the sender writes what the relay offered in its EHLO reply here, and the
web and import code read it (`forum.mail.relay`).  One row per relay (host:port), so
web processes on other hosts see it through the shared database.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from forum.core import clock
from forum.core.extensions import Model
from forum.models.base import TZDateTime


class RelayCapability(Model):
    __tablename__ = "relay_capability"

    relay: Mapped[str] = mapped_column(String(300), primary_key=True)  # "host:port" of MAIL_URL
    smtputf8: Mapped[bool] = mapped_column(Boolean, default=False)
    seen_at: Mapped[datetime] = mapped_column(TZDateTime(), default=clock.now)
