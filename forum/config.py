"""Settings, read from the environment once at start-up.

Every setting has a default that works on a laptop with no set-up (SQLite under
``instance/``, the built-in dev mailbox).  Production sets ``FORUM_ENV=production``,
``SECRET_KEY``, ``DATABASE_URL``, ``MAIL_URL`` and ``BASE_URL``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

DEFAULT_DISPLAY_ZONES = (
    "America/New_York=Eastern,America/Chicago=Central,America/Denver=Mountain,America/Los_Angeles=Pacific"
)

#: name -> (default, help). The README's configuration table is generated from this.
SETTINGS: dict[str, tuple[str, str]] = {
    "FORUM_ENV": ("development", "`production` hides /dev/mail and requires SECRET_KEY"),
    "SECRET_KEY": ("", "signs sessions and links; required in production"),
    "DATABASE_URL": (
        "sqlite:///<instance>/forum.db",
        "SQLAlchemy URL; postgresql://... in production",
    ),
    "MAIL_URL": (
        "dev://",
        "dev:// (local mailbox at /dev/mail), smtp://user:pass@host:587, smtps://...",
    ),
    "BASE_URL": ("http://127.0.0.1:5000", "public URL used in mails, feeds and calendar files"),
    "LIST_DOMAIN": (
        "",
        "domain of list addresses (<slug>@LIST_DOMAIN); defaults to BASE_URL's host",
    ),
    "MAIL_FROM": ("", "address of transactional mail; defaults to forum@LIST_DOMAIN"),
    "DISPLAY_ZONES": (DEFAULT_DISPLAY_ZONES, "zone=Label list shown under every session time"),
    "RATELIMIT_STORAGE_URI": ("memory://", "Flask-Limiter storage, e.g. redis://127.0.0.1:6379"),
    "SUBSCRIBE_RATE_LIMIT": ("10 per minute;60 per hour", "per client address, subscribe form and JSON API"),
    "FRESH_LINK_RATE_LIMIT": ("5 per minute;20 per hour", "per client address, requests for a fresh link"),
    "TOKEN_MAX_AGE_DAYS": (
        "365",
        "how long links in mails (preferences, unsubscribe) keep working",
    ),
    "CONFIRM_MAX_AGE_HOURS": ("72", "how long a subscription confirmation link works"),
    "BOUNCE_LIMIT": ("3", "hard failures before a subscription is disabled"),
    "MAIL_MAX_ATTEMPTS": ("8", "delivery attempts (4xx, dropped connection) before a message fails"),
    "MAIL_MAX_QUEUE_DAYS": ("5", "while the mail server is unreachable, mail waits this long before failing"),
    "MAIL_RETRY_SECONDS": ("60", "first retry delay; doubles each attempt, capped at 6 hours"),
    "MAIL_KEEP_DAYS": ("14", "sent mail keeps its full text this many days, then only its record"),
    "MAIL_LEASE_SECONDS": ("300", "a claimed batch not finished in this time is taken up by another sender"),
    "MAIL_CONNECTIONS": ("4", "pipelined SMTP connections each sender keeps open to the relay"),
    "MAX_POST_BYTES": ("2000000", "largest inbound post accepted"),
}


def _env(name: str) -> str:
    value = os.environ.get(name)
    return value if value not in (None, "") else SETTINGS[name][0]


def load(instance_path: str) -> dict[str, Any]:
    """Build the Flask config mapping from the environment."""
    env = _env("FORUM_ENV")
    secret = _env("SECRET_KEY")
    if not secret:
        if env == "production":
            raise RuntimeError("SECRET_KEY must be set when FORUM_ENV=production")
        secret = "dev-only-secret-change-me"  # noqa: S105 - development default, refused in production
    if env == "production" and _env("MAIL_URL").startswith("dev:"):
        # Otherwise a deployment that forgot MAIL_URL would "send" into a folder nobody reads.
        raise RuntimeError("MAIL_URL must name a real SMTP server (smtp:// or smtps://) in production")
    db_url = _env("DATABASE_URL").replace("<instance>", instance_path)
    if db_url.startswith("postgres://"):
        db_url = "postgresql://" + db_url[len("postgres://") :]
    if db_url.startswith("postgresql://"):
        db_url = "postgresql+psycopg://" + db_url[len("postgresql://") :]
    base_url = _env("BASE_URL").rstrip("/")
    list_domain = _env("LIST_DOMAIN") or (urlsplit(base_url).hostname or "localhost")
    if list_domain in ("127.0.0.1", "localhost"):
        list_domain = "forum.localhost"
    return {
        "FORUM_ENV": env,
        "SECRET_KEY": secret,
        "SQLALCHEMY_DATABASE_URI": db_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "MAIL_URL": _env("MAIL_URL"),
        "BASE_URL": base_url,
        "LIST_DOMAIN": list_domain,
        "MAIL_FROM": _env("MAIL_FROM") or f"forum@{list_domain}",
        "DISPLAY_ZONES": _env("DISPLAY_ZONES"),
        "RATELIMIT_STORAGE_URI": _env("RATELIMIT_STORAGE_URI"),
        "RATELIMIT_HEADERS_ENABLED": True,
        "SUBSCRIBE_RATE_LIMIT": _env("SUBSCRIBE_RATE_LIMIT"),
        "FRESH_LINK_RATE_LIMIT": _env("FRESH_LINK_RATE_LIMIT"),
        "TOKEN_MAX_AGE_DAYS": int(_env("TOKEN_MAX_AGE_DAYS")),
        "CONFIRM_MAX_AGE_HOURS": int(_env("CONFIRM_MAX_AGE_HOURS")),
        "BOUNCE_LIMIT": int(_env("BOUNCE_LIMIT")),
        "MAIL_MAX_ATTEMPTS": int(_env("MAIL_MAX_ATTEMPTS")),
        "MAIL_RETRY_SECONDS": int(_env("MAIL_RETRY_SECONDS")),
        "MAIL_MAX_QUEUE_DAYS": int(_env("MAIL_MAX_QUEUE_DAYS")),
        "MAIL_KEEP_DAYS": int(_env("MAIL_KEEP_DAYS")),
        "MAIL_LEASE_SECONDS": int(_env("MAIL_LEASE_SECONDS")),
        "MAIL_CONNECTIONS": int(_env("MAIL_CONNECTIONS")),
        "MAX_POST_BYTES": int(_env("MAX_POST_BYTES")),
        "DEV_MAILBOX_DIR": str(Path(instance_path) / "devmail"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": env == "production",
        "REMEMBER_COOKIE_SECURE": env == "production",
        "API_TITLE": "Forum API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api",
        "OPENAPI_JSON_PATH": "openapi.json",
    }
