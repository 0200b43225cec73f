"""Cached public pages and their revalidations answered in front of Flask.

A cache hit used to cost 20 times a minimal Flask page: not the lookup, but everything a
request passes through before and after the view (the request context, the session,
Flask-Login's user, every before/after-request hook, three database round trips to check a
pooled connection out, begin, read the version and roll back). For an anonymous GET whose
page is stored (`web/page_cache.py`), this WSGI middleware answers with one read of the
version counter (`page_versions.Reader`: one round trip) and one lookup, and sends the
headers the app itself sent when it stored the page (security headers, Vary, Cache-Control),
with this answer's ETag, Last-Modified, length and, when the page's form needs a CSRF secret
the reader has not got, the session cookie Flask would have set.

It answers only what it can answer exactly as the app would, and leaves everything else to
Flask untouched: any method but GET, a page not stored, a signed-in officer (a session with
a user, or a remember-me cookie), a flash message waiting, a session Flask-Login is about to
change or that does not verify, a NUL anywhere (the app refuses those with a 400), a site
with a default rate limit (the limiter must see every request), and any failure (the
database or Redis away: Flask then answers, or reports, as it always does).
`tests/test_fast_pages.py` compares its answers with the app's, header by header.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Iterable
from typing import Any, cast

from flask import Flask
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.datastructures import Headers
from werkzeug.http import dump_cookie, http_date, quote_etag, remove_entity_headers
from werkzeug.wrappers import Request

from forum.core import clock
from forum.web import page_cache
from forum.web.versions import Version, not_modified_by

log = logging.getLogger(__name__)

#: made per answer, never stored with a page
PER_ANSWER = frozenset({"etag", "last-modified", "content-length", "set-cookie", "date", "server"})
#: what an anonymous reader's session may hold for the fast path: the CSRF secret, and the
#: mark Flask-Login leaves on a session without a user (once set, it leaves the session alone)
ANONYMOUS_KEYS = frozenset({"csrf_token", "_fresh"})
VERIFIED_SIZE = 4096
PATHS_SIZE = 65536

StartResponse = Callable[..., Any]
Served = tuple[str, list[tuple[str, str]], bytes]


class FastPages:
    """The WSGI middleware (`create_app` puts it in front of the app, inside ProxyFix)."""

    def __init__(self, app: Flask, wsgi_app: Callable[[dict[str, Any], StartResponse], Iterable[bytes]]) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        cfg = app.config
        # a default or application-wide rate limit must count every request: no fast path then
        self.enabled = not (cfg.get("RATELIMIT_DEFAULT") or cfg.get("RATELIMIT_APPLICATION"))
        self._ready = False
        #: the paths this process has answered through `cached_page`: only those are looked up
        self._paths: set[str] = set()

    def _prepare(self) -> None:
        """What every answer needs, built once (after the app's settings are final)."""
        app, cfg = self.app, self.app.config
        iface = app.session_interface
        self.session_serializer = iface.get_signing_serializer(app)  # type: ignore[attr-defined]
        self.session_cookie = iface.get_cookie_name(app)
        self.session_max_age = int(app.permanent_session_lifetime.total_seconds())
        self.remember_cookie = cfg.get("REMEMBER_COOKIE_NAME", "remember_token")
        self.csrf_serializer = URLSafeTimedSerializer(
            cast(Any, cfg.get("WTF_CSRF_SECRET_KEY") or app.secret_key), salt="wtf-csrf-token"
        )
        self.csrf_field = cfg.get("WTF_CSRF_FIELD_NAME", "csrf_token")
        self.strong = cfg.get("SESSION_PROTECTION") == "strong"
        # Session cookies already verified: a returning browser sends the same one each time,
        # and checking its signature was a fifth of a 304 (the value holds its signing time,
        # so the age is still checked on every use).
        self._verified: dict[str, tuple[Any, float]] = {}
        self._ready = True

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if self.enabled and environ.get("REQUEST_METHOD") == "GET":
            try:
                served = self._serve(environ)
            except Exception:  # the database or Redis away: Flask answers as it always does
                log.warning("page cache: answered by the app instead", exc_info=True)
                served = None
            if served is not None:
                status, headers, body = served
                start_response(status, headers)
                return [body]
        return self.wsgi_app(environ, self._keeper(environ, start_response))

    def _keeper(self, environ: dict[str, Any], start_response: StartResponse) -> StartResponse:
        """start_response that stores a page the view rendered, with the app's final headers."""

        def keep(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            if environ.pop(page_cache.SERVED, None):
                if len(self._paths) >= PATHS_SIZE:
                    self._paths.clear()
                self._paths.add(Request(environ).path)
            pending: page_cache.Pending | None = environ.pop(page_cache.PENDING, None)
            if pending is not None and exc_info is None:
                self._keep(pending, status, headers)
            return start_response(status, headers, exc_info)

        return keep

    def _keep(self, pending: page_cache.Pending, status: str, headers: list[tuple[str, str]]) -> None:
        """Store a page the app answered 200, or a file it answered 200 or 304 (then with the
        Content-Type werkzeug left off the 304)."""
        own = pending.own
        if status.startswith("200 "):
            kept = tuple((k, v) for k, v in headers if k.lower() not in PER_ANSWER)
        elif status.startswith("304 ") and own is not None and pending.content_type:
            kept = (*((k, v) for k, v in headers if k.lower() not in PER_ANSWER), ("Content-Type", pending.content_type))
        else:
            return
        etag, modified = (own.etag, own.last_modified) if own is not None else (None, None)
        entry = page_cache.Entry(pending.body, kept, pending.csrf_form, etag, modified)
        page_cache.store(self.app).put(pending.key, entry)

    def _session(self, req: Request) -> dict[str, Any] | None:
        """The reader's session when the fast path may serve them, else None."""
        cookies = req.cookies
        if self.remember_cookie in cookies or any("\x00" in v for v in cookies.values()):
            return None
        raw = cookies.get(self.session_cookie)
        if not raw:
            return {}
        known = self._verified.get(raw)
        if known is None:
            try:
                data, signed = self.session_serializer.loads(raw, max_age=self.session_max_age, return_timestamp=True)
            except BadSignature:
                return None  # Flask starts a new session (and says so with a cookie)
            if len(self._verified) >= VERIFIED_SIZE:
                self._verified.clear()
            self._verified[raw] = known = (data, signed.timestamp())
        data, signed_at = known
        if time.time() - signed_at > self.session_max_age:
            return None  # expired since: Flask says so
        if not isinstance(data, dict) or not data:
            return {} if data == {} else None
        if data.keys() - ANONYMOUS_KEYS or data.get("_fresh") is not False or self.strong:
            return None  # a user, a flash message, or Flask-Login would change the session
        return data

    def _serve(self, environ: dict[str, Any]) -> Served | None:
        if not self._ready:
            self._prepare()
        req = Request(environ)
        if req.path not in self._paths:
            return None  # not a cached page's address (or not yet seen by this process): no query
        if "\x00" in req.path or any("\x00" in v for v in req.args.values()):
            return None
        found_session = self._session(req)
        if found_session is None:
            return None
        data: dict[str, Any] = found_session
        version = page_cache.version_reader(self.app).read()
        if version is None:
            return None
        now = int(clock.now().timestamp())
        key = page_cache.key_for(self.app, req, version[0], now)
        entry = page_cache.store(self.app).get(key)
        if entry is None:
            return None

        if entry.etag is not None:  # a file: its own validators, no session in it
            return _file(req, entry)

        def tags() -> Version:
            secret = data.get("csrf_token") if entry.csrf_form else False
            return page_cache.validators(key, version[1], now, secret)

        found = tags()
        if not_modified_by(req, found):
            kept = Headers([*entry.headers, *_validator_headers(found)])
            remove_entity_headers(kept)  # as werkzeug does for every 304 (Last-Modified too)
            return "304 NOT MODIFIED", kept.to_wsgi_list(), b""
        body, cookie = entry.body, None
        mark = page_cache.CSRF_MARK.encode()
        if mark in body:
            if "csrf_token" not in data:
                data = {**data, "csrf_token": secrets.token_hex(20)}
                cookie = self._cookie(data)
                found = tags()
            body = body.replace(mark, self.csrf_serializer.dumps(data["csrf_token"]).encode())
        headers = [*entry.headers, *_validator_headers(found), ("Content-Length", str(len(body)))]
        if cookie is not None:
            headers.append(("Set-Cookie", cookie))
        return "200 OK", headers, body

    def _cookie(self, data: dict[str, Any]) -> str:
        """The Set-Cookie Flask's session interface would send for this new session."""
        app, iface = self.app, self.app.session_interface
        return dump_cookie(
            self.session_cookie,
            self.session_serializer.dumps(data),
            expires=None,  # not a permanent session: ANONYMOUS_KEYS has no _permanent
            path=iface.get_cookie_path(app),
            domain=iface.get_cookie_domain(app),
            secure=iface.get_cookie_secure(app),
            httponly=iface.get_cookie_httponly(app),
            samesite=iface.get_cookie_samesite(app),
            partitioned=iface.get_cookie_partitioned(app),
            max_size=app.config.get("MAX_COOKIE_SIZE", 4093),
        )


def _validator_headers(found: Version) -> list[tuple[str, str]]:
    tags = [("ETag", quote_etag(found.etag))]
    if found.last_modified is not None:  # page_cache.validators always gives one; a file may not
        tags.append(("Last-Modified", http_date(found.last_modified)))
    return tags


def _file(req: Request, entry: page_cache.Entry) -> Served:
    """A stored file (`page_cache.cached_file`), or 304 with its own validators."""
    found = Version(entry.etag or "", entry.modified)
    if not_modified_by(req, found):
        kept = Headers([*entry.headers, *_validator_headers(found)])
        remove_entity_headers(kept)
        return "304 NOT MODIFIED", kept.to_wsgi_list(), b""
    headers = [*entry.headers, *_validator_headers(found), ("Content-Length", str(len(entry.body)))]
    return "200 OK", headers, entry.body
