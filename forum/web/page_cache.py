"""Rendered public pages kept as bytes, keyed by the public version counter
(`forum/common/page_versions.py`), the page's address, the reader's zone and the clock's
minute; ETags answered from the same key, so a revalidation reads one row and renders nothing.

In process memory (a bounded LRU) by default; in Redis through Flask-Caching when
`CACHE_URL` is set, so several web processes share one copy.

Never kept: a page for a signed-in officer, one with a flash message waiting, or anything
behind a signed link (only the views that call `cached_page` are cached, and those are the
public ones). The subscribe form's CSRF token is cut out before the bytes are stored and a
fresh one for this reader's session put back on every answer, so the stored bytes carry
nothing of any session. The clock's minute is in the key because pages change with time
alone (an event that has ended drops its form, the index moves it to "past"): a page is
stale for at most a minute on that account.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from flask import current_app, g, request, session
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from werkzeug.wrappers import Response

from forum.common import page_versions
from forum.core import clock, i18n, timezones
from forum.core.extensions import db
from forum.web.conditional import CSRF_WINDOW_SECONDS, PAGE_CACHE_CONTROL
from forum.web.versions import Version, not_modified

CLOCK_SECONDS = 60
CSRF_MARK = "\x00forum-csrf\x00"
REDIS_TIMEOUT_SECONDS = 24 * 3600


class Store(Protocol):
    def get(self, key: str) -> bytes | None: ...
    def put(self, key: str, body: bytes) -> None: ...
    def clear(self) -> None: ...


class MemoryStore:
    """A bounded LRU of bytes, per process (thread-safe: gunicorn's threads share it)."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            body = self._items.get(key)
            if body is not None:
                self._items.move_to_end(key)
            return body

    def put(self, key: str, body: bytes) -> None:
        with self._lock:
            self._items[key] = body
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class SharedStore:
    """Flask-Caching's Redis backend: one copy for every web process. Entries expire after a
    day (a bumped version makes old keys unreachable; expiry only frees the memory)."""

    def __init__(self, url: str, prefix: str) -> None:
        from flask_caching import Cache  # noqa: PLC0415 - only loaded where CACHE_URL is set (redis client)

        self._cache = Cache(
            config={
                "CACHE_TYPE": "RedisCache",
                "CACHE_REDIS_URL": url,
                "CACHE_KEY_PREFIX": prefix,
                "CACHE_DEFAULT_TIMEOUT": REDIS_TIMEOUT_SECONDS,
            }
        )
        self._cache.init_app(current_app._get_current_object())  # type: ignore[attr-defined]

    def get(self, key: str) -> bytes | None:
        value: Any = self._cache.get(key)
        return value if isinstance(value, bytes) else None

    def put(self, key: str, body: bytes) -> None:
        self._cache.set(key, body)

    def clear(self) -> None:
        self._cache.clear()


def store() -> Store:
    """This app's store (tests build many apps in one process)."""
    found: Store | None = current_app.extensions.get("forum_page_cache")
    if found is None:
        cfg = current_app.config
        url = str(cfg.get("CACHE_URL") or "")
        if url:
            # the database in the prefix: two sites (or test databases) on one Redis stay apart
            where = hashlib.sha1(str(cfg["SQLALCHEMY_DATABASE_URI"]).encode(), usedforsecurity=False)
            found = SharedStore(url, f"forum-page:{where.hexdigest()[:12]}:")
        else:
            found = MemoryStore(int(cfg.get("PAGE_CACHE_SIZE") or 512))
        current_app.extensions["forum_page_cache"] = found
    return found


def _cacheable() -> bool:
    return "_flashes" not in session and not getattr(current_user, "is_authenticated", False)


def _zone() -> str:
    wanted = (request.args.get("tz") or "").strip()
    return wanted if wanted and timezones.is_zone(wanted) else "UTC"


def _key(version: int, now: int) -> str:
    others = sorted((k, v) for k, v in request.args.items(multi=True) if k != "tz")
    # The page's language follows the browser's (and the event's, which the path names).
    language = i18n.from_accept_language(request.headers.get("Accept-Language")) or ""
    return f"{version}|{now // CLOCK_SECONDS}|{request.path}|{_zone()}|{language}|{others!r}"


def _validators(key: str, changed_at: datetime, now: int, csrf_form: bool) -> Version:
    """ETag and Last-Modified from the key alone: no row is read, nothing rendered."""
    extra: tuple[object, ...] = ()
    starts = [_aware(changed_at), datetime.fromtimestamp(now - now % CLOCK_SECONDS, UTC)]
    if csrf_form:  # the page holds this session's token: its secret and age are in the tag
        extra = (session.get("csrf_token"), now // CSRF_WINDOW_SECONDS)
        starts.append(datetime.fromtimestamp(now - now % CSRF_WINDOW_SECONDS, UTC))
    etag = hashlib.sha1(f"page|{key}|{extra!r}".encode(), usedforsecurity=False).hexdigest()[:32]
    return Version(etag, max(starts))


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def cached_page(
    render: Callable[[], str], uncached: Callable[[], Response], *, csrf_form: bool = False
) -> Response:
    """The page from the cache (or 304), rendering only on a miss; `uncached` answers when
    this reader may not be served a shared copy (signed in, a flash message waiting)."""
    version = page_versions.current(db.session) if _cacheable() else None
    if version is None:
        return uncached()
    now = int(clock.now().timestamp())
    key = _key(version[0], now)
    if not_modified(_validators(key, version[1], now, csrf_form)):
        response = Response(status=304)
    else:
        body = store().get(key)
        if body is None:
            html = render()  # may abort (404): nothing is stored then
            token = g.get(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"))
            if token:
                html = html.replace(str(token), CSRF_MARK)
            body = html.encode()
            store().put(key, body)
        if CSRF_MARK.encode() in body:
            body = body.replace(CSRF_MARK.encode(), generate_csrf().encode())
        response = Response(body, content_type="text/html; charset=utf-8")
    validators = _validators(key, version[1], now, csrf_form)  # again: serving may have made the CSRF secret
    response.set_etag(validators.etag)
    response.last_modified = validators.last_modified
    response.headers["Cache-Control"] = PAGE_CACHE_CONTROL
    response.vary.add("Accept-Language")
    return response
