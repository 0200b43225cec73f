"""A subscriber's calendar invites: one iTIP REQUEST mail per upcoming session.

A series' welcome carries the next session's invite (`invite_for_welcome`), the others
follow as their own mails (`send_session_invites`); anyone may ask again
(`send_invite`). Each session is its own mail and UID: Gmail and Outlook only show the
first VEVENT of a multi-event REQUEST.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from email.message import EmailMessage

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from forum.calendars.calendar import (
    CALENDAR_MAIL_KIND,
    attach_calendar,
    build_calendar,
    event_page_url,
)
from forum.common import subjects
from forum.common.subjects import session_label
from forum.core import clock
from forum.core.extensions import db
from forum.mail.compose import ListOptions, list_message
from forum.mail.outbox import Outgoing, enqueue_many
from forum.models import Event, OutboundMessage, Session, Subscription
from forum.webinars import join_links


def upcoming_sessions(event: Event) -> list[Session]:
    """Sessions still worth putting in a calendar: not cancelled, not yet over."""
    now = clock.now()
    return [s for s in event.active_sessions if s.ends_at > now]


def wants_invite(subscription: Subscription, requested: bool = False) -> bool:
    """Webinar series always get an invite; an e-forum only when the participant asks."""
    return subscription.event.kind == "series" or requested


def invite_sessions(subscription: Subscription, *, requested: bool = False) -> list[Session]:
    """The upcoming sessions this subscriber gets invitations for, soonest first.

    Empty for a draft or cancelled event, when nothing is upcoming, and for an e-forum
    unless `requested`.  Each session is its own iTIP invite (one UID per calendar
    object): Gmail and Outlook only show the first VEVENT of a multi-event REQUEST.
    """
    event = subscription.event
    if event.status != "published" or not wants_invite(subscription, requested):
        return []
    return sorted(upcoming_sessions(event), key=lambda s: (s.starts_at, s.id))


def later_invite_sessions(subscription: Subscription) -> list[Session]:
    """The invites a welcome mail does not carry: every upcoming session after the next."""
    return invite_sessions(subscription)[1:]


def invite_calendar(session: Session, subscription: Subscription) -> bytes:
    """A METHOD:REQUEST calendar for exactly one session, addressed to the subscriber
    (with their personal join link)."""
    return build_calendar([session], method="REQUEST", attendee=subscription, reader=lambda s: subscription).to_ical()


def invite_for_welcome(
    message: EmailMessage, subscription: Subscription, *, requested: bool = False
) -> EmailMessage:
    """Turn a welcome mail into an iTIP invite (METHOD:REQUEST) for the next session.

    Called by the subscriptions code for every welcome mail; returns the message to
    send (unchanged for an e-forum unless `requested`, or when nothing is upcoming).
    Only the next session rides along: the others get their own mails from
    `send_session_invites`, queued by the caller with the welcome.
    """
    sessions = invite_sessions(subscription, requested=requested)
    if not sessions:
        return message
    return attach_calendar(message, invite_calendar(sessions[0], subscription), "REQUEST")


def invite_key(session: Session, subscription: Subscription, suffix: str = "") -> str:
    """One invite per session, version (SEQUENCE) and subscriber; `suffix` for repeats on request."""
    key = f"calendar-invite:{session.id}:{session.sequence or 0}:{subscription.id}"
    return f"{key}:{suffix}" if suffix else key


def session_invites(
    subscription: Subscription, sessions: Sequence[Session], *, suffix: str = "", requested: bool = False
) -> Iterator[Outgoing]:
    """One invite mail per session (template "invite"), skipping keys already queued
    before anything is rendered, so a retried confirm or a re-join costs one query."""
    if not sessions:
        return
    keys = {session.id: invite_key(session, subscription, suffix) for session in sessions}
    done = set(
        db.session.scalars(
            select(OutboundMessage.idempotency_key).where(OutboundMessage.idempotency_key.in_(keys.values()))
        )
    )
    event = subscription.event
    everything = invite_sessions(subscription, requested=True)
    for session in sessions:
        if keys[session.id] in done:
            continue
        label = session_label(session)
        message = list_message(
            event,
            subscription,
            ListOptions(
                subject=subjects.subject(_l("Invitation"), event, label),
                template="invite",
                context={
                    "session": session,
                    "label": label,
                    "sessions": everything,
                    "requested": requested,
                    "event_url": event_page_url(event),
                    "join_link": join_links.personal_link(subscription, session),
                },
                automated=True,
            ),
        )
        attach_calendar(message, invite_calendar(session, subscription), "REQUEST")
        yield Outgoing(message, keys[session.id], event_id=event.id, subscription_id=subscription.id)


def send_session_invites(subscription: Subscription, sessions: Sequence[Session], *, suffix: str = "") -> int:
    """Queue a separate invite mail for each of `sessions`, in the caller's transaction.

    The subscriptions code calls this with `later_invite_sessions` when it queues a
    welcome, so a series' every upcoming session reaches the calendar as its own UID.
    Returns how many mails were queued (0 when all went before).
    """
    return enqueue_many(session_invites(subscription, sessions, suffix=suffix), kind=CALENDAR_MAIL_KIND)


def send_invite(subscription: Subscription) -> int:
    """Mail one participant an invite per upcoming session, on request; returns how many.

    For e-forums (whose welcome mail has none unless asked for; their days are the
    sessions) and for anyone who lost theirs; the preferences page calls this.  Asking
    twice on one day queues nothing new.
    """
    if not subscription.is_active:
        return 0
    sessions = invite_sessions(subscription, requested=True)
    items = session_invites(subscription, sessions, suffix=clock.now().date().isoformat(), requested=True)
    return enqueue_many(items, kind=CALENDAR_MAIL_KIND)
