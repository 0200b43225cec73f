"""Addresses with meaning at LIST_DOMAIN: what each one names, and how to make them.

`<slug>@` is an e-forum's list; `<slug>+<what>-<id>-<tag>@` carries a signed id
(`tokens.address_tag`, one purpose per kind) so the address itself is the authority:
`approve` (reply to a hold notice), `leave` (List-Unsubscribe mailto), `bounce` (the
VERP return path of one subscriber's mail), `rsvp` (the ORGANIZER of one registration's
invites: calendar replies to it count for that registration only). `<slug>+rsvp@` takes
calendar replies (iTIP REPLY) for any published event: the ORGANIZER of shared files, and
of invites sent before the signed form. A webinar series' `<slug>@` (the From of its mail)
takes replies too: calendar answers are recorded, anything else gets a friendly answer
(`calendars.rsvp.series_reply`). These are all the forms the MTA must route to the forum
(`postfix_maps` writes them out).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from forum.core.extensions import db
from forum.core.text import ascii_text
from forum.core.tokens import address_tag, check_address_tag
from forum.models import Event, Post, Subscription

#: The one pattern for every address with meaning (the local part, lower-cased).
MEANINGFUL_RE = re.compile(
    r"^(?P<slug>[a-z0-9][a-z0-9_-]*)"
    r"(?:\+(?:(?P<what>approve|leave|bounce|rsvp|unfollow)-(?P<id>\d+)-(?P<sig>[0-9a-f]{24})|(?P<rsvp>rsvp)))?$"
)


@dataclass
class Target:
    """The event a recipient address names, and what for (at most one of the ids, or rsvp)."""

    event: Event | None  # None only for `unfollow` (a pathway follow)
    approve_post_id: int | None = None
    leave_subscription_id: int | None = None
    bounce_subscription_id: int | None = None
    rsvp: bool = False
    #: The registration a signed `+rsvp-<id>-<tag>` address names (its answers only).
    rsvp_subscription_id: int | None = None
    #: A webinar series' own address (the From of its mail): replies, never posts.
    series: bool = False
    #: The pathway follow a signed `pathways+unfollow-<id>-<tag>` address ends (List-Unsubscribe).
    unfollow_id: int | None = None


def resolve(recipient: str) -> Target | None:
    """The event (and, for signed addresses, the post or subscription) a recipient names.

    `leave` and `bounce` work for any event (webinar series too), `rsvp` for any event
    that is not a draft; the bare list address and `approve` only for e-forums that
    are not drafts, and the bare address of a series that is not a draft (replies to
    its mail: `series=True`).
    """
    local, _, domain = recipient.strip().strip("<>").rpartition("@")
    if domain.lower() != current_app.config["LIST_DOMAIN"].lower() or not local:
        return None
    match = MEANINGFUL_RE.match(local.lower())
    if match is None:
        return None
    what = match["what"]
    if what is not None and not check_address_tag(what, int(match["id"]), match["sig"]):
        return None
    if what == "unfollow":  # pathway step mail's mailto List-Unsubscribe: no event behind it
        return Target(event=None, unfollow_id=int(match["id"])) if match["slug"] == PATHWAYS_LOCAL else None
    event = Event.by_slug(match["slug"])
    if event is None:
        return None
    if what == "leave":
        return Target(event=event, leave_subscription_id=int(match["id"]))
    if what == "bounce":
        return Target(event=event, bounce_subscription_id=int(match["id"]))
    if what == "rsvp":
        return (
            Target(event=event, rsvp=True, rsvp_subscription_id=int(match["id"]))
            if event.status != "draft"
            else None
        )
    if match["rsvp"]:
        return Target(event=event, rsvp=True) if event.status != "draft" else None
    if event.status == "draft":
        return None
    if not event.is_eforum:
        return Target(event=event, series=True) if what is None else None
    return Target(event=event, approve_post_id=int(match["id"]) if what == "approve" else None)


def check_recipient(recipient: str) -> str | None:
    """None when we take mail for `recipient`, else the LMTP reply refusing it (ASCII)."""
    if resolve(recipient) is None:
        return f"550 5.1.1 No e-forum at {ascii_text(recipient[:200])}"
    return None


def _domain() -> str:
    return str(current_app._get_current_object().config["LIST_DOMAIN"])  # type: ignore[attr-defined]


def approve_address(post: Post) -> str:
    """The hold notice's Reply-To: replying to it approves the post (lower-case, MTA-safe)."""
    return f"{post.event.slug}+approve-{post.id}-{address_tag('approve', post.id)}@{_domain()}"


def unsubscribe_mailto(subscription: Subscription, event: Event | None = None) -> str:
    """`mailto:` form of List-Unsubscribe (RFC 2369); `resolve` reads it back.

    `event`: the subscription's event when the caller has it (a fan-out: no lookup per copy).
    """
    local = f"{(event or subscription.event).slug}+leave-{subscription.id}-{address_tag('leave', subscription.id)}"
    return f"mailto:{local}@{_domain()}?subject=unsubscribe"


#: The local part before `+unfollow-…` (pathway follows belong to no event).
PATHWAYS_LOCAL = "pathways"


def unfollow_mailto(follow_id: int) -> str:
    """The `mailto:` List-Unsubscribe of pathway step mail: stops that one follow."""
    return f"mailto:{PATHWAYS_LOCAL}+unfollow-{follow_id}-{address_tag('unfollow', follow_id)}@{_domain()}?subject=unsubscribe"


def bounce_address(subscription: Subscription, event: Event | None = None) -> str:
    """The VERP envelope sender of mail to one subscriber: `<slug>+bounce-<id>-<tag>@LIST_DOMAIN`.

    A relay's delivery report (DSN) comes back to it, so the address itself says whose
    delivery failed, whatever the report says. `event`: the subscription's, when the caller
    has it (a fan-out: no lookup per copy).
    """
    tag = address_tag("bounce", subscription.id)
    return f"{(event or subscription.event).slug}+bounce-{subscription.id}-{tag}@{_domain()}"


def rsvp_address(event: Event, registration: Subscription | None = None) -> str:
    """Where calendar clients send "Accepted/Declined" (iTIP REPLY): the invites' ORGANIZER;
    signed per registration when one is given (`<slug>+rsvp-<id>-<tag>@`)."""
    if registration is None:
        return f"{event.slug}+rsvp@{_domain()}"
    return f"{event.slug}+rsvp-{registration.id}-{address_tag('rsvp', registration.id)}@{_domain()}"


def _rx(text: str) -> str:
    """An address as a pattern both PCRE and POSIX regexp read literally (slugs and domains
    hold only letters, digits, `-`, `_`, `.` and our `+`)."""
    return text.replace(".", "\\.").replace("+", "\\+")


def relay_recipients(fmt: str = "regexp") -> list[str]:
    """Postfix lookup-table lines naming every address `resolve` takes, so the MTA can
    refuse the rest at RCPT time (before accepting a message it would otherwise bounce).

    `regexp` (or `pcre`, the same lines): one anchored pattern per address form,
    the signed `+approve/leave/bounce-<id>-<tag>` forms included. `hash`: the exact
    addresses only (list and `+rsvp`), for `relay_recipient_maps` without PCRE; with
    `recipient_delimiter = +` Postfix then lets every `+tag` through to the LMTP server,
    which refuses a forged tag at RCPT itself.
    """
    domain = _domain().lower()
    lines: list[str] = []
    if fmt == "hash":  # `+unfollow-…` rides on the base address (recipient_delimiter = +)
        lines.append(f"{PATHWAYS_LOCAL}@{domain}\tOK")
    else:
        lines.append(f"/^{PATHWAYS_LOCAL}\\+unfollow-[0-9]+-[0-9a-f]{{24}}@{_rx(domain)}$/\tOK")
    for event in db.session.scalars(select(Event).order_by(Event.slug)):
        posting = event.is_eforum and event.status != "draft"
        exact = ([f"{event.slug}@{domain}"] if event.status != "draft" else []) + (
            [f"{event.slug}+rsvp@{domain}"] if event.status != "draft" else []
        )
        if fmt == "hash":
            lines.extend(f"{address}\tOK" for address in exact)
            continue
        kinds = "|".join(
            (["approve"] if posting else [])
            + ["leave", "bounce"]
            + (["rsvp"] if event.status != "draft" else [])
        )
        lines.extend(f"/^{_rx(address)}$/\tOK" for address in exact)
        lines.append(f"/^{_rx(event.slug)}\\+({kinds})-[0-9]+-[0-9a-f]{{24}}@{_rx(domain)}$/\tOK")
    return lines
