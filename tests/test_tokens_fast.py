"""Links in a fan-out are signed on a fast path; the tokens must be itsdangerous's own."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask

from forum.core import clock, tokens


def test_id_tokens_are_byte_for_byte_itsdangerous_tokens_and_read_back(app: Flask) -> None:
    start = datetime(2030, 1, 1, tzinfo=UTC)
    for second in range(3):
        with clock.frozen(start + timedelta(seconds=second)):
            for value in (0, 1, 7, 42, 12_345, 999_999_999, 10**12):
                for purpose in ("unsubscribe", "preferences", "post"):
                    made = tokens.make_token(purpose, value)
                    assert made == tokens._serializer(purpose).dumps(value)
                    assert tokens.read_token(purpose, made, 60) == value
    with clock.frozen(start), pytest.raises(tokens.TokenError):
        tokens.read_token("preferences", tokens.make_token("unsubscribe", 5), 60)  # salts still differ
    with clock.frozen(start):
        old = tokens.make_token("unsubscribe", 5)
    with clock.frozen(start + timedelta(days=2)), pytest.raises(tokens.TokenError) as expired:
        tokens.read_token("unsubscribe", old, 60)
    assert expired.value.expired and expired.value.payload == 5


def test_address_tags_are_the_plain_hmac_whatever_the_secret(app: Flask) -> None:
    """Tags start from a key state absorbed once per secret and purpose; a tag in old mail
    must still be the HMAC-SHA256 of `forum.<purpose>:<id>` (a key longer than a block too),
    and a new secret must give new tags, not the cached ones."""
    for secret in ("short", "x" * 100):
        app.config["SECRET_KEY"] = secret
        for purpose in ("bounce", "leave", "rsvp"):
            for value in (0, 1, 12_345, 999_999_999):
                want = hmac.digest(secret.encode(), f"forum.{purpose}:{value}".encode(), "sha256").hex()[:24]
                assert tokens.address_tag(purpose, value) == want
                assert tokens.check_address_tag(purpose, value, want)
