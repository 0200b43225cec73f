"""Links in a fan-out are signed on a fast path; the tokens must be itsdangerous's own."""

from __future__ import annotations

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
