"""What the relay can take: international addresses (RFC 6531/5890) without SMTP in a request.

* A non-ASCII *domain* (``user@bücher.example``) is always deliverable: the transport
  sends to its IDNA form (``xn--bcher-kva.example``), which every relay accepts.
* A non-ASCII *local part* (``jörg@example.de``) needs the relay's SMTPUTF8 extension.
  ``MAIL_SMTPUTF8`` says whether to accept such addresses at sign-up and import:
  ``on``, ``off``, or ``auto`` (the default): yes when the sender found SMTPUTF8 in the
  relay's EHLO reply the last time it connected (recorded in `RelayCapability`), and
  always for the dev mailbox, which stores anything.  Before the sender has ever
  connected, ``auto`` refuses them: never accept what may not be deliverable.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import urlsplit

from flask import Flask, current_app, has_app_context
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from forum.core.extensions import db
from forum.models import RelayCapability

log = logging.getLogger(__name__)
SMTPUTF8_MODES = ("auto", "on", "off")

#: What this process last wrote per relay, so a reconnect writes nothing new.
_remembered: dict[str, bool] = {}


def relay_key(mail_url: str) -> str | None:
    """``host:port`` of an smtp(s):// MAIL_URL; None for the dev mailbox."""
    parts = urlsplit(mail_url.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("smtp", "smtps") or not parts.hostname:
        return None
    try:
        port = parts.port or (465 if scheme == "smtps" else 25)
    except ValueError:
        return None
    return f"{parts.hostname.lower()}:{port}"


def utf8_local_parts() -> bool:
    """Whether addresses with non-ASCII local parts can be accepted now."""
    if not has_app_context():
        return False
    cfg = current_app.config
    mode = str(cfg.get("MAIL_SMTPUTF8", "auto")).lower()
    if mode in ("on", "off"):
        return mode == "on"
    key = relay_key(cfg.get("MAIL_URL", "dev://"))
    if key is None:
        return True  # dev:// stores any address
    row = db.session.get(RelayCapability, key)
    return bool(row and row.smtputf8)


def recorder(app: Flask, mail_url: str) -> Callable[[bool], None] | None:
    """A callback for the SMTP transport: called with "offers SMTPUTF8" after each EHLO.

    Writes in its own short transaction (never the sender's), and only when the answer
    differs from what this process last wrote; a failure to write is logged, not raised:
    it must never stop mail going out.
    """
    key = relay_key(mail_url)
    if key is None:
        return None

    def remember(smtputf8: bool) -> None:
        if _remembered.get(key) == smtputf8:
            return
        # A record of when the relay was seen, written from inside the transport: real
        # time, so a send never reads (or, in tests, advances) the business clock.
        seen = datetime.now(UTC)
        try:
            with app.app_context(), db.engine.begin() as conn:
                # One upsert: several connections of several senders meet the relay at once,
                # and an update-then-insert let two of them insert the same key.
                dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
                row = {"relay": key, "smtputf8": smtputf8, "seen_at": seen}
                conn.execute(
                    dialect.insert(RelayCapability)
                    .values(**row)
                    .on_conflict_do_update(index_elements=["relay"], set_={"smtputf8": smtputf8, "seen_at": seen})
                )
        except SQLAlchemyError as exc:  # logged, never raised: mail goes out regardless
            log.warning("could not record the relay's SMTPUTF8 capability: %s", exc)
            return
        _remembered[key] = smtputf8

    return remember
