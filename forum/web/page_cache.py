"""Rendered public pages kept as bytes, keyed by the public version counter
(`forum/common/page_versions.py`), the page's address, the query arguments its view reads
(each view names them: `reads=`), the reader's language and the clock's minute; ETags
answered from the same key, so a revalidation reads one row and renders nothing. Any other
argument (a newsletter's `?utm_source=`, a random one) is left out of the key: it changes
neither the bytes nor the headers, so it neither renders the page anew nor pushes other pages
out of the store. A query that looks like it carries a signed token (`?t=`, `?token=`) is the
one exception, since the app answers it `no-store` (`web/security.py`): it is never cached.

Two doors serve from it. Most hits and revalidations never reach Flask:
`web/fast_pages.py` answers them in front of the app for anonymous readers, with the
headers the app sent when it stored the page. Everything else comes here, through Flask: a
miss (the view renders; the bytes and the final headers are stored as the response leaves),
a reader `fast_pages` leaves to Flask (a session Flask-Login is about to change), and
signed-in officers, who are never served a shared copy.

In process memory (a bounded LRU) by default; in Redis through Flask-Caching when
`CACHE_URL` is set, so several web processes share one copy.

Never kept: a page for a signed-in officer, one with a flash message waiting, or anything
behind a signed link (only the views that call `cached_page` are cached, and those are the
public ones; a public page asked for with a token-like argument is answered as for an
officer, rendered and never stored nor served from the store). The subscribe form's CSRF
token is cut out before the bytes are stored and a fresh one for this reader's session put
back on every answer, so the stored bytes carry nothing of any session. The clock's minute is in the key because pages change with time
alone (an event that has ended drops its form, the index moves it to "past"): a page is
stale for at most a minute on that account.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, Protocol, TypeVar

from flask import Flask, Response, current_app, g, make_response, request, session
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from werkzeug.wrappers import Request

from forum.common import version_reader as versions
from forum.core import clock, i18n, timezones
from forum.core.extensions import db
from forum.web.conditional import CSRF_WINDOW_SECONDS, PAGE_CACHE_CONTROL
from forum.web.security import carries_token
from forum.web.versions import Version, not_modified

CLOCK_SECONDS = 60
CSRF_MARK = "\x00forum-csrf\x00"
REDIS_TIMEOUT_SECONDS = 24 * 3600
#: where a view leaves a freshly rendered page for `fast_pages` to store with its final headers
PENDING = "forum.page_cache.pending"
#: set by every answer from the store's door (`cached_page`, `cached_file`) to the query arguments
#: its view reads: `fast_pages` then knows the path is a cached page's, and how to make its key
SERVED = "forum.page_cache.served"

T = TypeVar("T")


@dataclass(frozen=True)
class Entry:
    """A stored page: its bytes (the CSRF token cut out) and the headers the app sent with it,
    less those made per answer (ETag, Last-Modified, Content-Length, Set-Cookie).

    A file (`cached_file`: a calendar, an Atom feed) keeps its own validators, made from its
    content: calendar programs revalidate with them, and a change elsewhere on the site (a
    new version) must not make every calendar download its whole file again."""

    body: bytes
    headers: tuple[tuple[str, str], ...]
    csrf_form: bool
    etag: str | None = None
    modified: datetime | None = None


@dataclass(frozen=True)
class Pending:
    """What a view leaves for `fast_pages` to store once the app's final headers are known.
    `content_type`: a file answered 304 on a miss (its revalidating reader's copy was
    current) is still stored, and werkzeug leaves Content-Type off a 304."""

    key: str
    body: bytes
    csrf_form: bool
    own: Version | None = None
    content_type: str | None = None


class Store(Protocol):
    def get(self, key: str) -> Entry | None: ...
    def put(self, key: str, entry: Entry) -> None: ...
    def clear(self) -> None: ...


class MemoryStore(Generic[T]):
    """A bounded LRU, per process (thread-safe: gunicorn's threads share it)."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._items: OrderedDict[str, T] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> T | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: str, value: T) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class SharedStore:
    """Flask-Caching's Redis backend: one copy for every web process. Entries expire after a
    day (a bumped version makes old keys unreachable; expiry only frees the memory)."""

    def __init__(self, app: Flask, url: str, prefix: str) -> None:
        from flask_caching import Cache  # noqa: PLC0415 - only loaded where CACHE_URL is set (redis client)

        self.prefix = prefix
        self._cache = Cache(
            config={
                "CACHE_TYPE": "RedisCache",
                "CACHE_REDIS_URL": url,
                "CACHE_KEY_PREFIX": prefix,
                "CACHE_DEFAULT_TIMEOUT": REDIS_TIMEOUT_SECONDS,
            }
        )
        self._cache.init_app(app)

    def get(self, key: str) -> Entry | None:
        value: Any = self._cache.get(key)
        return value if isinstance(value, Entry) else None

    def put(self, key: str, entry: Entry) -> None:
        self._cache.set(key, entry)

    def clear(self) -> None:
        self._cache.clear()


def store(app: Flask | None = None) -> Store:
    """This app's store (tests build many apps in one process)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    found: Store | None = app.extensions.get("forum_page_cache")
    if found is None:
        cfg = app.config
        url = str(cfg.get("CACHE_URL") or "")
        if url:
            # the database in the prefix: two sites (or test databases) on one Redis stay apart,
            # also when they share a database and a connect option picks each one's schema
            options = (cfg.get("SQLALCHEMY_ENGINE_OPTIONS") or {}).get("connect_args", {})
            database = str(cfg["SQLALCHEMY_DATABASE_URI"])
            if options:
                database += f" {sorted(options.items())}"
            where = hashlib.sha1(database.encode(), usedforsecurity=False)
            found = SharedStore(app, url, f"forum-page:{where.hexdigest()[:12]}:")
        else:
            found = MemoryStore[Entry](int(cfg.get("PAGE_CACHE_SIZE") or 512))
        app.extensions["forum_page_cache"] = found
    return found


def version_reader(app: Flask | None = None) -> versions.Reader:
    """This app's reader of the version counter (connections of its own per thread)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    found: versions.Reader | None = app.extensions.get("forum_page_versions")
    if found is None:
        with app.app_context():
            found = versions.Reader(db.engine, watch=bool(app.config.get("PAGE_VERSION_WATCH")))
        app.extensions["forum_page_versions"] = found
    return found


def close(app: Flask) -> None:
    """Let go of the version reader's connections (an app being thrown away: tests)."""
    found: versions.Reader | None = app.extensions.pop("forum_page_versions", None)
    if found is not None:
        found.close()


def _cacheable() -> bool:
    return "_flashes" not in session and not getattr(current_user, "is_authenticated", False)


def _zone(args: Any) -> str:
    """The zone the page is shown in, as the views read `?tz=`; "-" without one (a page's
    form may then preselect its own default zone, so that is not the same page as UTC's)."""
    raw = args.get("tz")
    if not raw:
        return "-"
    wanted = raw.strip()
    return wanted if wanted and timezones.is_zone(wanted) else "UTC"


#: a browser's Accept-Language header and the language it gives (readers send a handful)
_LANGUAGES: dict[str, str] = {}
_LANGUAGES_SIZE = 1024


def _language(header: str | None) -> str:
    if not header:
        return ""
    found = _LANGUAGES.get(header)
    if found is None:
        if len(_LANGUAGES) >= _LANGUAGES_SIZE:
            _LANGUAGES.clear()
        found = _LANGUAGES[header] = i18n.from_accept_language(header) or ""
    return found


def key_for(app: Flask, environ: dict[str, Any], version: int, now: int, reads: Collection[str]) -> str | None:
    """Everything a public page's bytes and headers depend on: the version, the minute, the
    address (scheme and host too: HSTS is sent over HTTPS only), the query arguments its view
    `reads` (the zone, as the views read `?tz=`, and every value of each other one, in order),
    the reader's browser's language (the event's own language is named by the path), and
    whether the site runs with production settings (HSTS again). Arguments the view does not
    read are left out. None: not to be cached at all, the query looks like it carries a
    token (`security.carries_token`: the app answers it `no-store`, with its own
    Referrer-Policy, and such a reader is never served a stored page).

    Read from the WSGI environ as the server gave it (both doors call this, so the key is
    the same whichever stores or looks up): parsing the request into werkzeug's objects, or
    a header werkzeug looks up and does not find (it builds an exception), was a fifth of a
    fast answer. The address is PATH_INFO as is; a query string is parsed only when there is one."""
    query = environ.get("QUERY_STRING")
    zone, kept = "-", []
    if query:
        args = Request(environ).args
        if carries_token(None, args):
            return None
        if "tz" in reads:
            zone = _zone(args)
        kept = [(name, args.getlist(name)) for name in sorted(reads) if name != "tz" and name in args]
    host = environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME')}:{environ.get('SERVER_PORT')}"
    return (
        f"p2|{version}|{now // CLOCK_SECONDS}|{app.config.get('FORUM_ENV')}|{environ.get('wsgi.url_scheme')}://{host}"
        f"|{environ.get('PATH_INFO', '')}|{zone}|{_language(environ.get('HTTP_ACCEPT_LANGUAGE'))}|{kept!r}"
    )


def validators(key: str, changed_at: datetime, now: int, csrf_secret: object) -> Version:
    """ETag and Last-Modified from the key alone: no row is read, nothing rendered.
    `csrf_secret`: the session's CSRF secret for a page with a form (None when it has none
    yet), `False` for a page without one."""
    extra: tuple[object, ...] = ()
    starts = [_aware(changed_at), datetime.fromtimestamp(now - now % CLOCK_SECONDS, UTC)]
    if csrf_secret is not False:  # the page holds this session's token: its secret and age are in the tag
        extra = (csrf_secret, now // CSRF_WINDOW_SECONDS)
        starts.append(datetime.fromtimestamp(now - now % CSRF_WINDOW_SECONDS, UTC))
    etag = hashlib.sha1(f"page|{key}|{extra!r}".encode(), usedforsecurity=False).hexdigest()[:32]
    return Version(etag, max(starts))


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def cached_page(
    render: Callable[[], str],
    uncached: Callable[[], ResponseReturnValue],
    *,
    csrf_form: bool = False,
    reads: tuple[str, ...] = (),
) -> Response:
    """The page from the cache (or 304), rendering only on a miss; `uncached` answers when
    this reader may not be served a shared copy (signed in, a flash message waiting, a
    token-like argument). `reads`: every query argument the page's bytes depend on (the view's
    and whatever it calls, templates too); the others are left out of the key."""
    version = version_reader().read() if _cacheable() else None
    now = int(clock.now().timestamp())
    key = key_for(current_app, request.environ, version[0], now, reads) if version is not None else None
    if version is None or key is None:
        return make_response(uncached())
    request.environ[SERVED] = frozenset(reads)

    def secret() -> object:
        return session.get("csrf_token") if csrf_form else False

    if not_modified(validators(key, version[1], now, secret())):
        response = Response(status=304, content_type="text/html; charset=utf-8")  # the page's headers
    else:
        entry = store().get(key)
        if entry is None:
            html = render()  # may abort (404): nothing is stored then
            token = g.get(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"))
            if token:
                html = html.replace(str(token), CSRF_MARK)
            body = html.encode()
            request.environ[PENDING] = Pending(key, body, csrf_form)  # stored as the response leaves
        else:
            body = entry.body
        if CSRF_MARK.encode() in body:
            body = body.replace(CSRF_MARK.encode(), generate_csrf().encode())
        response = Response(body, content_type="text/html; charset=utf-8")
    tags = validators(key, version[1], now, secret())  # again: serving may have made the CSRF secret
    response.set_etag(tags.etag)
    response.last_modified = tags.last_modified
    response.headers["Cache-Control"] = PAGE_CACHE_CONTROL
    response.vary.add("Accept-Language")
    return response


def cached_file(make: Callable[[], Response], *, reads: tuple[str, ...] = ()) -> Response:
    """A public file (a calendar, an Atom feed) from the cache, or 304; `make` builds the
    whole 200 answer (it may abort: nothing is stored then), with validators made from its
    content (an ETag of its bytes when it has none). Unlike a page, the file keeps those
    validators: a new version makes the next request build the file again, but a reader
    whose copy is still current gets a 304. `reads`: as for `cached_page`."""
    version = version_reader().read() if _cacheable() else None
    now = int(clock.now().timestamp())
    key = key_for(current_app, request.environ, version[0], now, reads) if version is not None else None
    if key is None:
        return _conditional(_with_etag(make()))
    request.environ[SERVED] = frozenset(reads)
    entry = store().get(key)
    if entry is None:
        response = _with_etag(make())
        etag, weak = response.get_etag()
        if response.status_code == 200 and etag and not weak:
            own = Version(etag, response.last_modified)
            request.environ[PENDING] = Pending(key, response.get_data(), False, own, response.content_type)
        return _conditional(response)
    response = Response(entry.body, headers=list(entry.headers))
    response.set_etag(entry.etag or "")
    response.last_modified = entry.modified
    return _conditional(response)


def _with_etag(response: Response) -> Response:
    if response.status_code == 200 and not response.get_etag()[0]:
        response.add_etag()
    return response


def _conditional(response: Response) -> Response:
    """304 for a reader whose copy is current (the headers stay: werkzeug drops the body's)."""
    etag, _ = response.get_etag()
    if response.status_code == 200 and etag and not_modified(Version(etag, response.last_modified)):
        response.status_code = 304
        response.set_data(b"")
    return response
