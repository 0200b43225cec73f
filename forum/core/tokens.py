"""Signed, expiring tokens for links in mail (itsdangerous), one salt per purpose.

A token for one purpose never validates for another, so an unsubscribe link cannot be
replayed as a confirmation link.
"""

from __future__ import annotations

import binascii
import contextlib
import hashlib
import hmac
from collections.abc import Callable
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import (
    BadSignature,
    SignatureExpired,
    TimestampSigner,
    URLSafeSerializer,
    URLSafeTimedSerializer,
    want_bytes,
)
from itsdangerous.encoding import base64_encode, int_to_bytes

from forum.core import clock


class TokenError(Exception):
    """The link is invalid or expired; `expired` tells which, for a helpful page."""

    def __init__(self, message: str, expired: bool = False, payload: Any = None):
        super().__init__(message)
        self.expired = expired
        self.payload = payload  # for expired tokens: what they said, so a fresh link can be offered


class _ClockSigner(TimestampSigner):
    """Timestamps from forum.clock, so `clock.frozen` moves link expiry like everything else.

    The derived key depends only on the secret and the salt, so it is computed once per
    pair rather than once per token (a fan-out signs three links per recipient).
    """

    _derived: dict[tuple[bytes, bytes, str], bytes] = {}

    def get_timestamp(self) -> int:
        return int(clock.now().timestamp())

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        secret = self.secret_keys[-1] if secret_key is None else want_bytes(secret_key)
        cache_key = (secret, self.salt, self.key_derivation)
        key = self._derived.get(cache_key)
        if key is None:
            key = self._derived[cache_key] = super().derive_key(secret)
        return key


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    """One serializer per secret and purpose, kept on the app (they are immutable)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    cache: dict[tuple[str, str], URLSafeTimedSerializer] = app.extensions.setdefault("forum_tokens", {})
    secret = app.config["SECRET_KEY"]
    serializer = cache.get((secret, purpose))
    if serializer is None:
        serializer = cache[(secret, purpose)] = URLSafeTimedSerializer(
            secret, salt=f"forum.{purpose}", signer=_ClockSigner
        )
    return serializer


class PrefixedHmac:
    """HMAC (RFC 2104) with the padded key, and a fixed message prefix, absorbed once.

    `hmac.digest` sets its key up on every call (and OpenSSL 3 fetches the algorithm each
    time): about twice the cost of copying two ready hash states, and a fan-out signs
    several values per copy. `digest(msg)` equals ``hmac.digest(key, prefix + msg, name)``.
    """

    def __init__(self, key: bytes, name: str, prefix: bytes = b"") -> None:
        inner = hashlib.new(name)
        block = inner.block_size
        if len(key) > block:
            key = hashlib.new(name, key).digest()
        key = key.ljust(block, b"\0")
        inner.update(bytes(b ^ 0x36 for b in key) + prefix)
        self._inner, self._outer = inner, hashlib.new(name, bytes(b ^ 0x5C for b in key))

    def digest(self, msg: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(msg)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()


class _IntTokens:
    """`URLSafeTimedSerializer.dumps(n)` for an int `n`, byte for byte, at a fraction of the cost.

    A fan-out signs three links per recipient; itsdangerous rebuilds a signer, derives
    its key and re-encodes the timestamp for each. Here the derived key's HMAC state and
    the encoded timestamp (the same for every token of one second) are kept, and the
    payload's JSON is just the number. Tokens read back with `read_token` as any other.
    """

    def __init__(self, serializer: URLSafeTimedSerializer) -> None:
        signer = serializer.make_signer()
        self._mac = PrefixedHmac(signer.derive_key(), signer.digest_method().name)
        self._sep = want_bytes(signer.sep)
        self._stamp: tuple[int, bytes] = (-1, b"")

    def dumps(self, value: int) -> str:
        now = int(clock.now().timestamp())
        if self._stamp[0] != now:
            self._stamp = (now, self._sep + base64_encode(int_to_bytes(now)))
        signed = _b64url(str(value).encode()) + self._stamp[1]
        return (signed + self._sep + _b64url(self._mac.digest(signed))).decode("ascii")


_URLSAFE = bytes.maketrans(b"+/", b"-_")


def _b64url(data: bytes) -> bytes:
    """`base64.urlsafe_b64encode(data).rstrip(b"=")` (itsdangerous' encoding), one call less."""
    return binascii.b2a_base64(data, newline=False).translate(_URLSAFE).rstrip(b"=")


def int_tokens(purpose: str) -> Callable[[int], str]:
    """`make_token(purpose, n)` for ids `n` (0 <= n < 10**9), looked up once: a fan-out keeps
    it for every copy of a step instead of finding the app's serializer per link."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    fast: dict[tuple[str, str], _IntTokens] | None = app.extensions.get("forum_int_tokens")
    if fast is None:
        fast = app.extensions["forum_int_tokens"] = {}
    key = (app.config["SECRET_KEY"], purpose)
    tokens = fast.get(key)
    if tokens is None:
        tokens = fast[key] = _IntTokens(_serializer(purpose))
    return tokens.dumps


def make_token(purpose: str, payload: Any) -> str:
    if type(payload) is int and 0 <= payload < 10**9:  # ids: short JSON, never compressed
        return int_tokens(purpose)(payload)
    return _serializer(purpose).dumps(payload)


def read_token(purpose: str, token: str, max_age_seconds: int) -> Any:
    serializer = _serializer(purpose)
    try:
        return serializer.loads(token, max_age=max_age_seconds)
    except SignatureExpired as exc:
        payload = None
        with contextlib.suppress(BadSignature):
            payload = serializer.loads(token)  # signature is good, only old
        raise TokenError(_("This link has expired."), expired=True, payload=payload) from exc
    except BadSignature as exc:
        raise TokenError(_("This link is not valid. It may have been cut or changed.")) from exc


def make_stable_token(purpose: str, payload: Any) -> str:
    """A signed token without a timestamp: the same payload always gives the same token.

    For links whose validity is decided by the database rather than by age (a webinar
    join link works exactly while the registration is active), so feeds and repeated
    mails carry one unchanging link.
    """
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=f"forum.{purpose}").dumps(payload)


def read_stable_token(purpose: str, token: str) -> Any:
    try:
        return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=f"forum.{purpose}").loads(token)
    except BadSignature as exc:
        raise TokenError(_("This link is not valid. It may have been cut or changed.")) from exc


def address_tag(purpose: str, value: int) -> str:
    """A short lower-case HMAC tag for a mail address such as ``slug+leave-12-<tag>@domain``.

    Mail systems may lower-case or truncate local parts, so addresses carry this hex tag
    rather than an itsdangerous token; it never expires (the address is in old mail).
    A fan-out tags two addresses per copy, so the HMAC with the key and the purpose's
    prefix already absorbed is kept per secret and purpose, and copied per tag.
    """
    secret = current_app._get_current_object().config["SECRET_KEY"]  # type: ignore[attr-defined]
    mac = _tag_macs.get((secret, purpose))
    if mac is None:
        if len(_tag_macs) > 64:  # secrets come and go in tests: keep the cache small
            _tag_macs.clear()
        mac = _tag_macs[(secret, purpose)] = PrefixedHmac(secret.encode(), "sha256", f"forum.{purpose}:".encode())
    return mac.digest(str(value).encode()).hex()[:24]


_tag_macs: dict[tuple[str, str], PrefixedHmac] = {}


def check_address_tag(purpose: str, value: int, tag: str) -> bool:
    return hmac.compare_digest(address_tag(purpose, value), tag)
