"""Signed links that go out in mail: confirm, preferences, unsubscribe, calendar feed.

One place builds them (`signed_link`) and reads them back (`linked_row`) so every mail
carries the same and every area's link page finds its row alike; every purpose has its own
token salt (see tokens.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import current_app

from forum.core.extensions import db
from forum.core.tokens import int_tokens, make_token, read_token
from forum.core.urls import external_url

# The mail addresses with meaning live in addresses.py; these two stay importable from here.
from forum.mail.addresses import bounce_address, unsubscribe_mailto
from forum.models import Participant, Subscription

__all__ = [
    "bounce_address",
    "confirm_url",
    "linked_row",
    "post_url",
    "preferences_url",
    "signed_link",
    "threads_url",
    "token_max_age",
    "unsubscribe_mailto",
    "unsubscribe_url",
]

_SLOT = "SLOTxSLOT"  # URL-safe: routing leaves it as it is
Row = TypeVar("Row")


def signed_link(endpoint: str, purpose: str, value: int) -> str:
    """`external_url(endpoint, token=make_token(purpose, value))`, the URL routed once per app.

    Tokens are URL-safe (base64url and dots), so splicing one into the routed URL gives
    the same string as routing it; a fan-out builds three links per recipient.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    makers: dict[tuple[str, str, str], tuple[str, Callable[[int], str], str]]
    makers = app.extensions.setdefault("forum_link_makers", {})
    key = (endpoint, purpose, app.config["SECRET_KEY"])
    maker = makers.get(key)
    if maker is None:
        before, _, after = external_url(endpoint, token=_SLOT).partition(_SLOT)
        maker = makers[key] = (before, int_tokens(purpose), after)
    if type(value) is int and 0 <= value < 10**9:  # as make_token tells ids apart
        return maker[0] + maker[1](value) + maker[2]
    return maker[0] + make_token(purpose, value) + maker[2]


def linked_row(model: type[Row], purpose: str, token: str, lifetime: str | None = None) -> Row | None:
    """The row a `signed_link` of `purpose` names: every area's links are read the one way.

    None when the row is gone (or the token holds no id); `tokens.TokenError` when the link
    was cut, changed or is older than `lifetime`'s age (`purpose`'s own unless named: an
    area's confirm link lives as long as a subscription's, `lifetime="confirm"`).
    """
    row_id = read_token(purpose, token, token_max_age(lifetime or purpose))
    return db.session.get(model, row_id) if isinstance(row_id, int) else None


def confirm_url(subscription: Subscription) -> str:
    return signed_link("subscriptions.confirm", "confirm", subscription.id)


def preferences_url(participant: Participant) -> str:
    return signed_link("subscriptions.preferences", "preferences", participant.id)


def unsubscribe_url(subscription: Subscription) -> str:
    return signed_link("subscriptions.unsubscribe", "unsubscribe", subscription.id)


def post_url(subscription: Subscription) -> str:
    """The subscriber's own page for posting on the web (and reading a members-only archive)."""
    return signed_link("discussion.compose", "post", subscription.id)


def threads_url(subscription: Subscription) -> str:
    """The subscriber's signed page of thread choices; `/<thread id>/mute` and `/<thread id>/follow`
    after it reach one thread (one token per copy, whatever number of threads a mail names)."""
    return signed_link("thread_choices.page", "threads", subscription.id)


def token_max_age(purpose: str) -> int:
    """Seconds a link of this purpose keeps working (documented in the README)."""
    cfg = current_app.config
    if purpose == "confirm":
        return int(cfg["CONFIRM_MAX_AGE_HOURS"]) * 3600
    return int(cfg["TOKEN_MAX_AGE_DAYS"]) * 86400
