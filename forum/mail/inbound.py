"""Inbound mail's one pipeline: resolve the address, parse once, route by kind, commit.

Every door for inbound mail (the LMTP server, `forum-inject`, `flask forum inject`) ends
in `receive`. It resolves the recipient (`addresses.resolve`), parses the bytes once
(`parse.parse_message`), decides what kind of message this is, and hands it to the
handler the owning area registered (`register_handler`):

=====================  ==================================  ================================
kind                   what it is                          handled by
=====================  ==================================  ================================
``leave``              mail to a signed leave address      forum.subscriptions.service
``bounce``             a report to a VERP bounce address   forum.mail.bounces
``unfollow``           mail to a pathway step mail's        forum.pathways.follow
                       signed mailto List-Unsubscribe
``calendar-reply``     an iTIP REPLY/COUNTER/REFRESH, or   forum.calendars.rsvp
                       anything to ``<slug>+rsvp@``
``moderator-command``  a reply to a hold notice            forum.discussion.service
``series-reply``       anything else to a webinar series'  forum.discussion.service
                       own address (the From of its mail)
``post``               everything else to a list address   forum.discussion.service
=====================  ==================================  ================================

So mail delivers and parses but never calls up into the areas; a handler returns an
`Outcome`, which each door turns into its own answer (an LMTP reply, a sysexits code).
The handler's changes and the mail they cause commit together, here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app
from sqlalchemy.exc import IntegrityError

from forum.core.extensions import db
from forum.core.text import ascii_text
from forum.mail import authres
from forum.mail.addresses import Target, resolve
from forum.mail.parse import ParsedMessage, parse_message
from forum.models import Event, Post

# status -> (LMTP reply, sysexits code)
_REPLIES = {
    "accepted": ("250 2.0.0", 0),
    "held": ("250 2.0.0", 0),
    "duplicate": ("250 2.0.0", 0),
    "dropped": ("250 2.0.0", 0),
    "not_open": ("250 2.0.0", 0),
    "moderated": ("250 2.0.0", 0),
    "unsubscribed": ("250 2.0.0", 0),
    "rsvp": ("250 2.0.0", 0),
    "series_reply": ("250 2.0.0", 0),
    "discarded": ("250 2.0.0", 0),
    "bounce": ("250 2.0.0", 0),
    "unknown_list": ("550 5.1.1", 67),
    "refused": ("550 5.7.1", 77),
    "too_big": ("552 5.3.4", 77),
    "unparseable": ("550 5.6.0", 65),
}

#: The kinds of inbound message, in the order they are told apart.
KINDS = ("leave", "bounce", "unfollow", "calendar-reply", "moderator-command", "series-reply", "post")


@dataclass
class Outcome:
    """What happened to one message for one recipient, and why (shown to whoever sent it)."""

    status: str
    reason: str
    post: Post | None = None

    @property
    def smtp_reply(self) -> str:
        code = _REPLIES[self.status][0]
        return f"{code} {ascii_text(self.reason)}"[:500]

    @property
    def exit_code(self) -> int:
        return _REPLIES[self.status][1]


@dataclass(frozen=True)
class Inbound:
    """One message for one recipient, as every handler sees it: bytes, address, parse."""

    raw: bytes
    recipient: str
    envelope_from: str
    target: Target
    parsed: ParsedMessage

    @property
    def from_authenticated(self) -> bool:
        """Whether our MTA authenticated the From (aligned DMARC, DKIM or SPF pass; see
        `authres`): mail the list sends because of a message goes only to such a From."""
        return authres.from_authenticated(self.raw, self.parsed.from_email, current_app.config.get("AUTHSERV_ID", ""))

    @property
    def event(self) -> Event:
        """The event the address names; every kind but `unfollow` has one (`_route` checks)."""
        if self.target.event is None:
            raise LookupError(f"{self.recipient} names no event")
        return self.target.event


Handler = Callable[[Inbound], Outcome]

#: kind -> the registered handler.
HANDLERS: dict[str, Handler] = {}


def register_handler(kind: str, handler: Handler) -> Handler:
    """Route inbound messages of `kind` (one of KINDS) to `handler`."""
    if kind not in KINDS:
        raise ValueError(f"unknown inbound kind {kind!r}")
    known = HANDLERS.get(kind)
    if known is not None and known is not handler:
        raise ValueError(f"inbound kind {kind!r} has a handler already")
    HANDLERS[kind] = handler
    return handler


def kind_of(target: Target, parsed: ParsedMessage) -> str:
    """What a message is, from the address it came to and what it says."""
    if target.leave_subscription_id is not None:
        return "leave"
    if target.bounce_subscription_id is not None:
        return "bounce"
    if target.unfollow_id is not None:
        return "unfollow"
    if target.rsvp or parsed.is_calendar_reply:  # "Accepted: ..." is an answer, never a post
        return "calendar-reply"
    if target.approve_post_id is not None:
        return "moderator-command"
    if target.series:
        return "series-reply"
    return "post"


def receive(raw: bytes, recipient: str, envelope_from: str = "") -> Outcome:
    """Handle one message for one recipient address; commits, and never raises for bad input."""
    try:
        outcome = _route(raw, recipient, envelope_from)
        db.session.commit()
        return outcome
    except IntegrityError:
        db.session.rollback()
        return Outcome("duplicate", "Already received")
    except Exception:
        db.session.rollback()
        raise


def _route(raw: bytes, recipient: str, envelope_from: str) -> Outcome:
    target = resolve(recipient)
    if target is None:
        return Outcome("unknown_list", f"No e-forum at {recipient[:200]}")
    parsed = parse_message(raw)
    kind = kind_of(target, parsed)
    if target.event is None and kind != "unfollow":
        return Outcome("unknown_list", f"No e-forum at {recipient[:200]}")
    handler = HANDLERS.get(kind)
    if handler is None:  # a process that never imported the area: a bug, so the MTA retries
        raise LookupError(f"no handler registered for inbound {kind!r} mail")
    return handler(Inbound(raw, recipient, envelope_from, target, parsed))
