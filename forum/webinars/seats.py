"""Seat limits and the waiting list of a webinar series.

An officer may cap a series (`Event.seat_limit`; None = unlimited). A registration that
would become active (confirmed, register-once, import, rejoin) takes a seat if one is
left, else joins the waiting list (status "waitlisted", ordered by `waitlisted_at`)
with a "you are on the waiting list" mail and no invite. When a seat frees up (someone
leaves, is removed or disabled) or the officer raises the limit, the next people in line
are promoted in order, in the same transaction, each with the usual welcome and invites.

Exactly once under concurrency: every decision about seats first locks the event row
(`SELECT ... FOR UPDATE` on PostgreSQL; SQLite has one writer at a time anyway) and
counts after the lock, so two people taking the last seat at the same moment queue on
the lock and the second one sees the seat taken.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from forum.common.signals import seats_freed
from forum.core import clock
from forum.core.extensions import db
from forum.mail.compose import notice
from forum.mail.outbox import enqueue_for
from forum.models import Event, Subscription
from forum.models.base import queue_of


@dataclass(frozen=True)
class SeatCounts:
    limit: int | None
    taken: int
    waiting: int

    @property
    def left(self) -> int | None:
        return None if self.limit is None else max(self.limit - self.taken, 0)

    @property
    def full(self) -> bool:
        return self.limit is not None and self.taken >= self.limit


def has_limit(event: Event) -> bool:
    return event.kind == "series" and event.seat_limit is not None


def lock_event(event: Event) -> None:
    """Serialise seat decisions for one event until the transaction ends."""
    db.session.execute(select(Event.id).where(Event.id == event.id).with_for_update())


def _count(event: Event, status: str) -> int:
    return (
        db.session.scalar(
            select(func.count(Subscription.id)).where(
                Subscription.event_id == event.id, Subscription.status == status
            )
        )
        or 0
    )


def set_limit(event: Event, limit: int | None) -> list[Subscription]:
    """Change the seat limit (None: unlimited); returns who was promoted because of it.

    A raised limit seats the waiting list in this transaction, each with welcome and
    invitations: `forum.subscriptions` does that on the `seats_freed` signal (promoting
    changes subscriptions; this module only counts). Lowering it below the seats taken
    removes nobody: the next ones simply wait longer.
    """
    if limit is not None and limit < 0:
        raise ValueError("A seat limit cannot be negative.")
    lock_event(event)
    event.seat_limit = limit
    return [sub for _, seated in seats_freed.send(event) for sub in (seated or [])]


def taken(event: Event) -> int:
    """Seats taken: the series' active registrations."""
    return _count(event, "active")


def counts(event: Event) -> SeatCounts:
    """Seats taken (active registrations), the limit and how many wait; for pages and the API."""
    limit = event.seat_limit if event.kind == "series" else None
    rows = db.session.execute(  # one query for both (the public event page asks on every view)
        select(Subscription.status, func.count(Subscription.id))
        .where(Subscription.event_id == event.id, Subscription.status.in_(("active", "waitlisted")))
        .group_by(Subscription.status)
    ).all()
    by_status = {status: n for status, n in rows}
    return SeatCounts(limit, by_status.get("active", 0), by_status.get("waitlisted", 0))


def waiting_list(event: Event) -> list[Subscription]:
    return queue_of(Subscription, event.id, "waitlisted", Subscription.waitlisted_at)


def waitlist_position(subscription: Subscription) -> int | None:
    """1 for the next in line; None when not waiting."""
    if subscription.status != "waitlisted" or subscription.waitlisted_at is None:
        return None
    ahead = db.session.scalar(
        select(func.count(Subscription.id)).where(
            Subscription.event_id == subscription.event_id,
            Subscription.status == "waitlisted",
            (Subscription.waitlisted_at < subscription.waitlisted_at)
            | (
                (Subscription.waitlisted_at == subscription.waitlisted_at)
                & (Subscription.id < subscription.id)
            ),
        )
    )
    return (ahead or 0) + 1


def seat_free(event: Event, subscription: Subscription) -> bool:
    """Lock the event and say whether `subscription` may take a seat now.

    Anyone already waiting goes first: a newcomer never jumps the queue.
    """
    if not has_limit(event):
        return True
    lock_event(event)
    db.session.flush()
    taken = (
        db.session.scalar(
            select(func.count(Subscription.id)).where(
                Subscription.event_id == event.id,
                Subscription.is_active,
                Subscription.id != subscription.id,
            )
        )
        or 0
    )
    assert event.seat_limit is not None
    if taken >= event.seat_limit:
        return False
    waiting = (
        db.session.scalar(
            select(func.count(Subscription.id)).where(
                Subscription.event_id == event.id,
                Subscription.status == "waitlisted",
                Subscription.id != subscription.id,
            )
        )
        or 0
    )
    return waiting == 0


def put_on_waitlist(subscription: Subscription) -> None:
    """Join the end of the queue and say so by mail (already waiting: nothing changes)."""
    if subscription.status == "waitlisted":
        return
    now = clock.now()
    subscription.status = "waitlisted"
    subscription.unsubscribed_at = None
    subscription.waitlisted_at = now  # a new place, also for someone who had a seat before
    if subscription.participant.confirmed_at is None:
        subscription.participant.confirmed_at = now  # they confirmed the address to get here
    db.session.flush()
    send_waitlisted(subscription)


def send_waitlisted(subscription: Subscription) -> None:
    msg = notice(
        subscription, _l("On the waiting list"), "waitlisted", {"position": waitlist_position(subscription)}
    )
    assert subscription.waitlisted_at is not None
    key = f"waitlisted:{subscription.id}:{subscription.waitlisted_at.isoformat()}"
    enqueue_for(subscription, msg, "waitlisted", key)
