"""A leaver's calendar: METHOD:CANCEL for each of their upcoming sessions, and fresh
invites when they come back.

Without this, someone who leaves keeps the sessions in their calendar (with a join
link that no longer lets them in). Each session is cancelled for that one attendee
with the session's UID and a raised SEQUENCE (RFC 5546 §3.2.5: clients drop a CANCEL
whose SEQUENCE is below what they hold); a re-join raises it again, so the fresh
REQUEST outranks the CANCEL in every client. Raising a session's SEQUENCE changes
nothing for the others: their copies are simply one version behind until the next
real update, which carries a higher number anyway.
"""

from __future__ import annotations

from collections.abc import Iterator

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from forum.calendars import calendar, invites
from forum.core.extensions import db
from forum.mail.compose import ListOptions, list_message
from forum.mail.outbox import Outgoing, enqueue_many
from forum.models import OutboundMessage, Session, Subscription

MAIL_KIND = "calendar-leave"


def calendar_sessions(subscription: Subscription) -> list[Session]:
    """The upcoming sessions this person has in their calendar from us: every one of a
    series; an e-forum's only when they asked for invites."""
    sessions = invites.invite_sessions(subscription, requested=True)
    if not sessions or subscription.event.kind == "series":
        return sessions
    asked = db.session.scalar(
        select(OutboundMessage.id)
        .where(
            OutboundMessage.subscription_id == subscription.id,
            OutboundMessage.kind == calendar.CALENDAR_MAIL_KIND,
        )
        .limit(1)
    )
    return sessions if asked else []


def send_cancels(subscription: Subscription) -> int:
    """Queue one CANCEL mail per upcoming session for a subscription that just ended; in the
    caller's transaction. Returns how many."""
    sessions = calendar_sessions(subscription)
    _raise_sequences(sessions)
    return enqueue_many(_cancels(subscription, sessions), kind=MAIL_KIND)


def removals_sent(subscription: Subscription) -> int:
    """How many "Removed from your calendar" mails the latest leave queued: what the page
    after leaving promises (one per session), so it never says "no more mail" before them."""
    left = subscription.unsubscribed_at
    if left is None or subscription.is_active:
        return 0
    stmt = select(func.count(OutboundMessage.id)).where(
        OutboundMessage.subscription_id == subscription.id,
        OutboundMessage.kind == MAIL_KIND,
        OutboundMessage.created_at >= left,
    )
    return db.session.scalar(stmt) or 0


def _raise_sequences(sessions: list[Session]) -> None:
    """SEQUENCE + 1 in SQL (two people leaving at once must not both write the same number
    read before the other's commit), then read back."""
    if not sessions:
        return
    db.session.flush()
    db.session.execute(
        update(Session)
        .where(Session.id.in_([s.id for s in sessions]))
        .values(sequence=func.coalesce(Session.sequence, 0) + 1),
        execution_options={"synchronize_session": False},
    )
    for session in sessions:
        db.session.refresh(session, ["sequence"])


def _cancels(subscription: Subscription, sessions: list[Session]) -> Iterator[Outgoing]:
    event = subscription.event
    for session in sessions:
        ics = calendar.build_calendar([session], method="CANCEL", attendee=subscription)
        for vevent in ics.walk("VEVENT"):  # cancelled for this attendee (Outlook reads STATUS)
            vevent.pop("STATUS", None)
            vevent.add("STATUS", "CANCELLED")
        message = list_message(
            event,
            subscription,
            ListOptions(
                # read in the recipient's language when the mail is built (like every subject)
                subject=_l("Removed from your calendar: %(title)s", title=LazyString(calendar.summary_for, session)),
                template="calendar_removed",
                context={"session": session, "event_url": calendar.event_page_url(event)},
                automated=True,
            ),
        )
        calendar.attach_calendar(message, ics.to_ical(), "CANCEL")
        key = f"{MAIL_KIND}:{session.id}:{session.sequence}:{subscription.id}"
        yield Outgoing(message, key, event_id=event.id, subscription_id=subscription.id)


def bump_for_rejoin(subscription: Subscription) -> None:
    """Before fresh invites go to someone coming back: outrank the CANCEL they were sent."""
    cancelled = db.session.scalar(
        select(OutboundMessage.id)
        .where(OutboundMessage.subscription_id == subscription.id, OutboundMessage.kind == MAIL_KIND)
        .limit(1)
    )
    if cancelled is None:
        return  # nothing to outrank (e.g. promoted from the waiting list on first joining)
    _raise_sequences(invites.invite_sessions(subscription))
