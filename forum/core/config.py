"""Settings, read from the environment once at start-up.

Production is the default: an app started without ``FORUM_ENV`` (``gunicorn wsgi:app``)
refuses to run with a missing or known-weak ``SECRET_KEY`` or the dev mailbox, instead of
quietly signing sessions with a key anyone can read in this file. Development is switched on
explicitly by ``make run``, the tests and the benchmarks (``FORUM_ENV=development``); there
every other setting has a default that works on a laptop with no set-up (SQLite under
``instance/``, the built-in dev mailbox).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

DEFAULT_DISPLAY_ZONES = (
    "America/New_York=Eastern,America/Chicago=Central,America/Denver=Mountain,America/Los_Angeles=Pacific"
)

#: name -> (default, help). The README's configuration table is generated from this.
SETTINGS: dict[str, tuple[str, str]] = {
    "FORUM_ENV": (
        "production",
        "`development` (what `make run` sets) allows the defaults below and serves /dev/mail",
    ),
    "SECRET_KEY": (
        "",
        "signs sessions and links; outside development at least 32 random characters, or Forum refuses to start",
    ),
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
    "ORG_NAME": ("Forum", "organisation name in page headers, footers and mail (officers can change it)"),
    "ORG_SHORT_NAME": ("", "short name for the header and page titles; defaults to ORG_NAME"),
    "ORG_LOGO_URL": ("", "https:// address of a logo shown in the header"),
    "BRAND_COLOUR": ("", "#rrggbb for links, buttons and header; darkened if it fails WCAG AA contrast"),
    "ORG_FOOTER": ("", "a line of text in every page footer and mail"),
    "ORG_ADDRESS": ("", "postal address in the page footer and at the end of mail"),
    "MAIL_FROM_NAME": ("", "display name on mail's From; defaults to the short name"),
    "DISPLAY_ZONES": (DEFAULT_DISPLAY_ZONES, "zone=Label list shown under every session time"),
    "RATELIMIT_STORAGE_URI": ("memory://", "Flask-Limiter storage, e.g. redis://127.0.0.1:6379"),
    "CACHE_URL": ("", "redis://host:port/db for the public pages' cache when several web processes run; empty: process memory"),
    "PAGE_CACHE_SIZE": ("512", "rendered public pages kept in process memory (when CACHE_URL is empty)"),
    "PAGE_VERSION_WATCH": ("0", "0: the pages' version is read on every request (a change shows on the next one); 1: on PostgreSQL each web process keeps it and LISTENs for changes (no query per cached page; another process's change shows once its notification arrives)"),
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
    "MAX_CONTENT_LENGTH": (
        "10000000",
        "largest HTTP request body in bytes (uploads, forms, JSON); a larger one is refused with 413 before it is read",
    ),
    "MAIL_SMTPUTF8": (
        "auto",
        "accept addresses like jörg@example.de: auto (when the relay offered SMTPUTF8), on, off",
    ),
    "AUTHSERV_ID": (
        "",
        "authserv-id of the MTA's Authentication-Results headers that are trusted; defaults to LIST_DOMAIN",
    ),
    "DKIM_SELECTOR": ("", "DKIM selector; with DKIM_KEY_FILE, every message is signed"),
    "DKIM_KEY_FILE": ("", "PEM RSA private key for DKIM signing"),
    "DKIM_DOMAIN": ("", "d= of the DKIM signature; defaults to LIST_DOMAIN"),
    "PROXY_HOPS": (
        "0",
        "reverse proxies in front of the app whose X-Forwarded-For/-Proto/-Host are trusted (1 behind nginx/Caddy)",
    ),
}

DEV_SECRET_KEY = "dev-only-secret-change-me"  # noqa: S105 - development default, refused elsewhere
MIN_SECRET_LENGTH = 32
#: Keys seen in this repository, its docs and common examples: refused outside development.
KNOWN_WEAK_KEYS = frozenset(
    {DEV_SECRET_KEY, "...", "secret", "changeme", "change-me", "test-secret", "bench", "development", "dev"}
)


class ConfigError(RuntimeError):
    """A setting that must not be used as it is; the message is one line saying what to do."""


BRANDING_SETTINGS = ("ORG_NAME", "ORG_SHORT_NAME", "ORG_LOGO_URL", "BRAND_COLOUR", "ORG_FOOTER", "ORG_ADDRESS", "MAIL_FROM_NAME")


def _env(name: str) -> str:
    value = os.environ.get(name)
    return value if value not in (None, "") else SETTINGS[name][0]


def weak_secret(secret: str) -> bool:
    """Missing, short, one of the keys printed in docs and code, or a few characters repeated."""
    return (
        len(secret) < MIN_SECRET_LENGTH
        or secret.strip().lower() in KNOWN_WEAK_KEYS
        or len(set(secret)) < 8
    )


def check(settings: Mapping[str, Any]) -> None:
    """Refuse settings that are only safe on a laptop, unless FORUM_ENV=development."""
    if str(settings.get("MAIL_SMTPUTF8", "auto")).lower() not in ("auto", "on", "off"):
        raise ConfigError("MAIL_SMTPUTF8 must be auto, on or off")
    env = settings.get("FORUM_ENV")
    if env == "development":
        return
    if env != "production":
        raise ConfigError(f"FORUM_ENV must be production or development, not {env!r}")
    if weak_secret(str(settings.get("SECRET_KEY") or "")):
        raise ConfigError(
            "SECRET_KEY is missing or weak: set it to a random value of at least "
            f"{MIN_SECRET_LENGTH} characters (python3 -c 'import secrets; print(secrets.token_hex(32))'), "
            "or FORUM_ENV=development on a laptop"
        )
    if str(settings.get("MAIL_URL", "")).startswith("dev:"):
        # Otherwise a deployment that forgot MAIL_URL would "send" into a folder nobody reads.
        raise ConfigError("MAIL_URL must name a real SMTP server (smtp:// or smtps://) in production")


def load(instance_path: str, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The Flask config mapping: the environment, then `overrides` (tests), then `check`."""
    overrides = dict(overrides or {})
    env = str(overrides.get("FORUM_ENV") or _env("FORUM_ENV"))
    secret = _env("SECRET_KEY")
    if not secret and env == "development":
        secret = DEV_SECRET_KEY
    db_url = _env("DATABASE_URL").replace("<instance>", instance_path)
    if db_url.startswith("postgres://"):
        db_url = "postgresql://" + db_url[len("postgres://") :]
    if db_url.startswith("postgresql://"):
        db_url = "postgresql+psycopg://" + db_url[len("postgresql://") :]
    base_url = _env("BASE_URL").rstrip("/")
    list_domain = _env("LIST_DOMAIN") or (urlsplit(base_url).hostname or "localhost")
    if list_domain in ("127.0.0.1", "localhost"):
        list_domain = "forum.localhost"
    settings: dict[str, Any] = {
        "FORUM_ENV": env,
        "SECRET_KEY": secret,
        "SQLALCHEMY_DATABASE_URI": db_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "MAIL_URL": _env("MAIL_URL"),
        "BASE_URL": base_url,
        "LIST_DOMAIN": list_domain,
        "MAIL_FROM": _env("MAIL_FROM") or f"forum@{list_domain}",
        "DISPLAY_ZONES": _env("DISPLAY_ZONES"),
        **{name: _env(name) for name in BRANDING_SETTINGS},
        "RATELIMIT_STORAGE_URI": _env("RATELIMIT_STORAGE_URI"),
        "RATELIMIT_HEADERS_ENABLED": True,
        "CACHE_URL": _env("CACHE_URL"),
        "PAGE_CACHE_SIZE": _int("PAGE_CACHE_SIZE"),
        "PAGE_VERSION_WATCH": _int("PAGE_VERSION_WATCH") != 0,
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
        "MAX_CONTENT_LENGTH": _int("MAX_CONTENT_LENGTH"),
        "MAIL_SMTPUTF8": _env("MAIL_SMTPUTF8").lower(),
        "AUTHSERV_ID": _env("AUTHSERV_ID"),
        "DKIM_SELECTOR": _env("DKIM_SELECTOR"),
        "DKIM_KEY_FILE": _env("DKIM_KEY_FILE"),
        "DKIM_DOMAIN": _env("DKIM_DOMAIN") or list_domain,
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
        "PROXY_HOPS": _int("PROXY_HOPS"),
    } | overrides
    settings["AUTHSERV_ID"] = settings.get("AUTHSERV_ID") or settings["LIST_DOMAIN"]  # after overrides
    check(settings)
    return settings


def _int(name: str) -> int:
    value = _env(name)
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {value!r}") from None
