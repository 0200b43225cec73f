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

It looks pages up by the key the app stored them under (`page_cache.key_for`), which keeps
only the query arguments the page's view reads: the path is all the middleware knows before
routing, so it learns, from each answer the app gives through the cache, which arguments that
path's view named (`page_cache.SERVED`), and looks up only paths it has learnt.

It answers only what it can answer exactly as the app would, and leaves everything else to
Flask untouched: any method but GET, a page not stored, a query that looks like it carries a
token (the app answers it `no-store`, never from the store), a signed-in officer (a session with
a user, or a remember-me cookie), a flash message waiting, a session Flask-Login is about to
change or that does not verify, a NUL anywhere (the app refuses those with a 400), a site
with a default rate limit (the limiter must see every request), and any failure (the
database or Redis away: Flask then answers, or reports, as it always does).
`tests/test_fast_pages.py` compares its answers with the app's, header by header.
"""

from __future__ import annotations

import copy
import hmac
import json
import logging
import secrets
import time
from collections.abc import Callable, Iterable
from typing import Any, cast

from flask import Flask
from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer, want_bytes
from itsdangerous.encoding import base64_encode
from itsdangerous.signer import HMACAlgorithm
from werkzeug.datastructures import ETags
from werkzeug.http import dump_cookie, http_date, is_entity_header, parse_cookie, parse_etags, quote_etag
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
#: the entity headers werkzeug keeps on a 304
_KEPT_ON_304 = frozenset({"expires", "content-location"})
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
        #: the paths this process has answered through the page cache, each with the query
        #: arguments its view reads (the key keeps only those): only those paths are looked up
        self._paths: dict[str, frozenset[str]] = {}

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
        #: Cookie headers already parsed: the session cookie in each (None: not for the fast path)
        self._cookies: dict[str, str | None] = {}
        #: validators and their headers by (key, CSRF secret): the key has the minute and version
        self._tags: dict[tuple[str, object], _Tags] = {}
        self._session_dumps = signing(self.session_serializer)
        self._csrf_dumps = signing(self.csrf_serializer)
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
            reads: frozenset[str] | None = environ.pop(page_cache.SERVED, None)
            if reads is not None:
                if len(self._paths) >= PATHS_SIZE:
                    self._paths.clear()
                self._paths[environ.get("PATH_INFO", "")] = reads
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

    def _session(self, environ: dict[str, Any]) -> dict[str, Any] | None:
        """The reader's session when the fast path may serve them, else None."""
        header = environ.get("HTTP_COOKIE")
        if not header:
            return {}
        if header in self._cookies:  # a browser sends the same header each time: parsed once
            raw = self._cookies[header]
        else:
            cookies = parse_cookie(header)
            refused = self.remember_cookie in cookies or any("\x00" in v for v in cookies.values())
            raw = None if refused else cookies.get(self.session_cookie, "")
            if len(self._cookies) >= VERIFIED_SIZE:
                self._cookies.clear()
            self._cookies[header] = raw
        if raw is None:
            return None
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
        """Read from the environ as the server gave it: werkzeug's Request, its parsed headers
        and cached properties were a fifth of a fast answer (see `page_cache.key_for`)."""
        if not self._ready:
            self._prepare()
        reads = self._paths.get(environ.get("PATH_INFO", ""))
        if reads is None:
            return None  # not a cached page's address (or not yet seen by this process): no query
        query = environ.get("QUERY_STRING", "")
        if "\x00" in environ["PATH_INFO"] or "\x00" in query or "%00" in query:
            return None
        found_session = self._session(environ)
        if found_session is None:
            return None
        data: dict[str, Any] = found_session
        version = page_cache.version_reader(self.app).read()
        if version is None:
            return None
        now = int(clock.now().timestamp())
        key = page_cache.key_for(self.app, environ, version[0], now, reads)
        if key is None:
            return None  # a token-like argument: the app answers, never from the store
        entry = page_cache.store(self.app).get(key)
        if entry is None:
            return None

        if entry.etag is not None:  # a file: its own validators, no session in it
            return _file(environ, entry)

        def tags() -> _Tags:
            secret = data.get("csrf_token") if entry.csrf_form else False
            memo = (key, secret)
            found = self._tags.get(memo)
            if found is None:  # the same for every answer of this minute (the key has it)
                if len(self._tags) >= VERIFIED_SIZE:
                    self._tags.clear()
                found = self._tags[memo] = _Tags(page_cache.validators(key, version[1], now, secret))
            return found

        found = tags()
        if _not_modified(environ, found.version):
            return "304 NOT MODIFIED", [*_without_entity(entry.headers), found.etag], b""
        body, cookie = entry.body, None
        mark = page_cache.CSRF_MARK.encode()
        if entry.csrf_form and mark in body:
            if "csrf_token" not in data:
                data = {**data, "csrf_token": secrets.token_hex(20)}
                cookie = self._cookie(data)
                found = tags()
            body = body.replace(mark, self._csrf_dumps(data["csrf_token"]).encode())
        headers = [*entry.headers, *found.headers, ("Content-Length", str(len(body)))]
        if cookie is not None:
            headers.append(("Set-Cookie", cookie))
        return "200 OK", headers, body

    def _cookie(self, data: dict[str, Any]) -> str:
        """The Set-Cookie Flask's session interface would send for this new session."""
        app, iface = self.app, self.app.session_interface
        return dump_cookie(
            self.session_cookie,
            self._session_dumps(data),
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


class _Tags:
    """A page's validators and the headers that carry them, made once per key and secret."""

    __slots__ = ("etag", "headers", "version")

    def __init__(self, version: Version) -> None:
        self.version = version
        self.headers = _validator_headers(version)
        self.etag = self.headers[0]


#: If-None-Match headers already parsed (a revalidating browser sends the same one each time)
_ETAGS: dict[str, ETags] = {}


def _not_modified(environ: dict[str, Any], found: Version) -> bool:
    """`versions.not_modified_by` on the raw headers, each parsed once: building werkzeug's
    Request to read them was a third of a 304's own work."""
    match, since = environ.get("HTTP_IF_NONE_MATCH"), environ.get("HTTP_IF_MODIFIED_SINCE")
    if match:
        etags = _ETAGS.get(match)
        if etags is None:
            if len(_ETAGS) >= VERIFIED_SIZE:
                _ETAGS.clear()
            etags = _ETAGS[match] = parse_etags(match)
        if etags:  # If-None-Match decides when present (RFC 9110)
            return etags.contains_weak(found.etag)
    if not since:
        return False
    return not_modified_by(Request(environ), found)  # rare: If-Modified-Since alone


def _without_entity(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """As werkzeug leaves a 304's headers (`remove_entity_headers`: Last-Modified too)."""
    return [(k, v) for k, v in headers if not is_entity_header(k) or k.lower() in _KEPT_ON_304]


def _file(environ: dict[str, Any], entry: page_cache.Entry) -> Served:
    """A stored file (`page_cache.cached_file`), or 304 with its own validators."""
    found = Version(entry.etag or "", entry.modified)
    if _not_modified(environ, found):
        return "304 NOT MODIFIED", [*_without_entity(entry.headers), ("ETag", quote_etag(found.etag))], b""
    headers = [*entry.headers, *_validator_headers(found), ("Content-Length", str(len(entry.body)))]
    return "200 OK", headers, entry.body


class _KeptKeySigner(TimestampSigner):
    """itsdangerous' TimestampSigner, its key derived once and its HMAC made in one call:
    `Serializer.dumps` builds a signer, derives its key (a hash) and builds an HMAC object for
    every signature, a tenth of a first visit's answer."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._key = super().derive_key()
        algorithm = self.algorithm
        self._digest = algorithm.digest_method().name if isinstance(algorithm, HMACAlgorithm) else None

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        return self._key if secret_key is None else super().derive_key(secret_key)

    def get_signature(self, value: str | bytes) -> bytes:
        if self._digest is None:
            return super().get_signature(value)
        return base64_encode(hmac.digest(self._key, want_bytes(value), self._digest))


class _Compact:
    """JSON as Flask's tagged serializer writes a session of plain strings and booleans
    (tagging leaves those as they are), without its walk over the value."""

    @staticmethod
    def dumps(obj: Any) -> str:
        return json.dumps(obj, separators=(",", ":"))

    @staticmethod
    def loads(payload: str | bytes) -> Any:  # never called: the fast path only signs
        return json.loads(payload)


def _plain(obj: Any) -> bool:
    return isinstance(obj, dict) and all(
        isinstance(k, str) and not k.startswith(" ") and isinstance(v, str | bool) for k, v in obj.items()
    )


def signing(serializer: URLSafeTimedSerializer) -> Callable[[Any], str]:
    """`serializer.dumps`, the same bytes, with one signer kept and, for a plain session, the
    JSON written directly (both checked against the serializer's own here, and in
    `tests/test_fast_pages.py`). Any other kind of serializer: its own dumps."""
    if serializer.signer is not TimestampSigner or not serializer.is_text_serializer:
        return cast(Callable[[Any], str], serializer.dumps)
    signer = _KeptKeySigner(serializer.secret_keys, salt=serializer.salt, **serializer.signer_kwargs)
    if signer.get_signature(b"probe") != serializer.make_signer().get_signature(b"probe"):
        signer._digest = None
    plain = copy.copy(serializer)
    plain.serializer, plain.serializer_kwargs = _Compact, {}
    probe = {"_fresh": False, "csrf_token": "0f" * 20}
    direct = plain.dump_payload(probe) == serializer.dump_payload(probe)

    def dumps(obj: Any) -> str:
        payload = plain.dump_payload(obj) if direct and _plain(obj) else serializer.dump_payload(obj)
        return signer.sign(want_bytes(payload)).decode("utf-8")

    return dumps
