"""Signed links that go out in mail: confirm, preferences, unsubscribe, calendar feed.

One place builds them so every mail carries the same, and every purpose has its own
token salt (see tokens.py).
"""

from __future__ import annotations

from flask import current_app

# The mail addresses with meaning live in addresses.py; these two stay importable from here.
from .addresses import bounce_address, unsubscribe_mailto
from .models import Participant, Subscription
from .tokens import make_token
from .web.urls import external_url

__all__ = [
    "bounce_address",
    "confirm_url",
    "post_url",
    "preferences_url",
    "token_max_age",
    "unsubscribe_mailto",
    "unsubscribe_url",
]


def confirm_url(subscription: Subscription) -> str:
    return external_url("subscriptions.confirm", token=make_token("confirm", subscription.id))


def preferences_url(participant: Participant) -> str:
    return external_url("subscriptions.preferences", token=make_token("preferences", participant.id))


def unsubscribe_url(subscription: Subscription) -> str:
    return external_url("subscriptions.unsubscribe", token=make_token("unsubscribe", subscription.id))


def post_url(subscription: Subscription) -> str:
    """The subscriber's own page for posting on the web (and reading a members-only archive)."""
    return external_url("discussion.compose", token=make_token("post", subscription.id))


def token_max_age(purpose: str) -> int:
    """Seconds a link of this purpose keeps working (documented in the README)."""
    cfg = current_app.config
    if purpose == "confirm":
        return int(cfg["CONFIRM_MAX_AGE_HOURS"]) * 3600
    return int(cfg["TOKEN_MAX_AGE_DAYS"]) * 86400
