"""Approving registrations: events where an officer lets each registrant in.

A confirmed registration to such an event waits as "awaiting" (forum.subscriptions holds
it: no seat, no welcome, no invites, no join links). Approving it sends a short "you are
approved" note with the officer's message, then exactly what any registration gets
(`subscriptions.activate`: the welcome with invites and a seat, or a place on the waiting
list, in the order approved). Declining sends one note and nothing else. Mail is enqueued in
the caller's transaction, with a key per decision so a double click sends nothing twice.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from forum.core import clock
from forum.core.extensions import db
from forum.mail.compose import notice
from forum.mail.outbox import enqueue_for
from forum.models import Event, Subscription
from forum.models.base import queue_of
from forum.subscriptions.service import activate

MAX_MESSAGE = 2000
DECISIONS = {"approve": "approved", "decline": "declined"}


class ApprovalError(ValueError):
    """Something the officer can fix (a message too long)."""


def set_needs_approval(event: Event, needed: bool) -> int:
    """Turn the setting on or off; off lets everyone waiting in at once (returns how many)."""
    event.needs_approval = needed
    db.session.flush()
    if needed:
        return 0
    return len(approve(awaiting(event)))


def awaiting(event: Event) -> list[Subscription]:
    """Registrations waiting for a decision, oldest first."""
    return queue_of(Subscription, event.id, "awaiting", Subscription.confirmed_at)


def counts(event: Event) -> dict[str, int]:
    """Registrations by state, for the officer pages and the API."""
    rows = db.session.execute(
        select(Subscription.status, func.count(Subscription.id))
        .where(Subscription.event_id == event.id)
        .group_by(Subscription.status)
    ).all()
    by_status = {status: n for status, n in rows}
    return {
        "awaiting": by_status.get("awaiting", 0),
        "approved": by_status.get("active", 0) + by_status.get("waitlisted", 0),
        "declined": by_status.get("declined", 0),
        "pending": by_status.get("pending", 0),
    }


def _check_message(message: str) -> str:
    message = (message or "").strip()
    if len(message) > MAX_MESSAGE:
        raise ApprovalError(_("Keep the message under %(count)s characters.", count=MAX_MESSAGE))
    return message


def approve(subscriptions: Iterable[Subscription], message: str = "") -> list[Subscription]:
    """Let waiting registrations in, in the order given; returns the ones approved (others
    were not waiting: approving twice changes nothing)."""
    message = _check_message(message)
    done = []
    for subscription in subscriptions:
        if not _still_waiting(subscription):
            continue
        subscription.approved_at = clock.now()
        subscription.declined_at = None
        _tell(subscription, "approve", message)
        activate(subscription)  # welcome + invites + seat, or the waiting list
        done.append(subscription)
    db.session.flush()
    return done


def decline(subscriptions: Iterable[Subscription], message: str = "") -> list[Subscription]:
    """Refuse waiting registrations: one note each, no seat, nothing more from the event."""
    message = _check_message(message)
    done = []
    for subscription in subscriptions:
        if not _still_waiting(subscription):
            continue
        subscription.status = "declined"
        subscription.declined_at = clock.now()
        _tell(subscription, "decline", message)
        done.append(subscription)
    db.session.flush()
    return done


def _still_waiting(subscription: Subscription) -> bool:
    """Re-read the row under a lock (PostgreSQL): two officers deciding on the same person at
    once decide once; the second sees the first one's decision."""
    db.session.refresh(subscription, with_for_update=True)
    return subscription.status == "awaiting"


def _tell(subscription: Subscription, decision: str, message: str) -> None:
    word = DECISIONS[decision]
    msg = notice(
        subscription,
        _l("Registration approved") if decision == "approve" else _l("Registration not approved"),
        f"registration_{word}",
        {"message": message},
    )
    enqueue_for(subscription, msg, f"registration-{word}", f"registration-{word}:{subscription.id}")
