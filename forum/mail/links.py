"""Signed links that go out in mail: confirm, preferences, unsubscribe, calendar feed.

One place builds them so every mail carries the same, and every purpose has its own
token salt (see tokens.py).
"""

from __future__ import annotations

from flask import current_app

from forum.core.tokens import make_token
from forum.core.urls import external_url

# The mail addresses with meaning live in addresses.py; these two stay importable from here.
from forum.mail.addresses import bounce_address, unsubscribe_mailto
from forum.models import Participant, Subscription

__all__ = [
    "bounce_address",
    "confirm_url",
    "post_url",
    "preferences_url",
    "threads_url",
    "token_max_age",
    "unsubscribe_mailto",
    "unsubscribe_url",
]

_SLOT = "SLOTxSLOT"  # URL-safe: routing leaves it as it is


def _signed_link(endpoint: str, purpose: str, value: int) -> str:
    """`external_url(endpoint, token=make_token(purpose, value))`, the URL routed once per app.

    Tokens are URL-safe (base64url and dots), so splicing one into the routed URL gives
    the same string as routing it; a fan-out builds three links per recipient.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    parts: dict[str, tuple[str, str]] = app.extensions.setdefault("forum_link_parts", {})
    around = parts.get(endpoint)
    if around is None:
        before, _, after = external_url(endpoint, token=_SLOT).partition(_SLOT)
        around = parts[endpoint] = (before, after)
    return around[0] + make_token(purpose, value) + around[1]


def confirm_url(subscription: Subscription) -> str:
    return _signed_link("subscriptions.confirm", "confirm", subscription.id)


def preferences_url(participant: Participant) -> str:
    return _signed_link("subscriptions.preferences", "preferences", participant.id)


def unsubscribe_url(subscription: Subscription) -> str:
    return _signed_link("subscriptions.unsubscribe", "unsubscribe", subscription.id)


def post_url(subscription: Subscription) -> str:
    """The subscriber's own page for posting on the web (and reading a members-only archive)."""
    return _signed_link("discussion.compose", "post", subscription.id)


def threads_url(subscription: Subscription) -> str:
    """The subscriber's signed page of thread choices; `/<thread id>/mute` and `/<thread id>/follow`
    after it reach one thread (one token per copy, whatever number of threads a mail names)."""
    return _signed_link("thread_choices.page", "threads", subscription.id)


def token_max_age(purpose: str) -> int:
    """Seconds a link of this purpose keeps working (documented in the README)."""
    cfg = current_app.config
    if purpose == "confirm":
        return int(cfg["CONFIRM_MAX_AGE_HOURS"]) * 3600
    return int(cfg["TOKEN_MAX_AGE_DAYS"]) * 86400
