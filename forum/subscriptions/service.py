"""Subscriptions: register once, double opt-in, delivery modes, leaving.

Every door (web form, JSON API, officer pages, CLI import) goes through these
functions, so the rules live in one place (CSV import: forum/subscriptions/csv_import.py;
"delete my data": forum.erasure):

* one Participant per address (normalised by email-validator; identity `email_key`);
* a new address confirms once by mail; a confirmed address joins further events at
  once ("register once");
* the caller never learns whether an address was known: what differs goes by mail;
* mail is only enqueued, in the caller's transaction, with idempotency keys that also
  work as rate limits (one confirmation per hour, one "already subscribed" per day).
"""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from typing import Literal, TypedDict, overload

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from forum.calendars import invites, leaving
from forum.common import subjects
from forum.common.signals import bounce_counted, seats_freed
from forum.core import clock, i18n, validation
from forum.core.extensions import db
from forum.core.timezones import is_zone
from forum.mail import links
from forum.mail import texts as mail_texts
from forum.mail.compose import build_message, notice
from forum.mail.headers import address
from forum.mail.inbound import Inbound, Outcome, register_handler
from forum.mail.outbox import Outgoing, enqueue, enqueue_for
from forum.mail.relay import utf8_local_parts
from forum.models import DELIVERY_MODES, Event, Participant, Subscription
from forum.subscriptions.state import registration_state
from forum.webinars import recordings, seats

LIVE_STATUSES = ("pending", "awaiting", "active", "waitlisted")


class SubscriptionError(ValueError):
    """Input a person can fix (bad address, unknown mode, no consent); `field` says where."""

    def __init__(self, message: str, field: str = "email"):
        super().__init__(message)
        self.field = field


# --- addresses and participants --------------------------------------------------------


def normalize_email(raw: str) -> str:
    """The address as we store and mail it; raises SubscriptionError with a readable reason.

    The one rule of every door (`validation.normalize_email`), with the relay's SMTPUTF8
    deciding whether a non-ASCII local part can be taken."""
    try:
        return validation.normalize_email(raw, utf8_local_parts)
    except validation.EmailError as exc:
        raise SubscriptionError(str(exc)) from None


def email_key(email: str) -> str:
    """Identity of an address: lower-cased, an IDN domain in U-labels (`validation.email_key`)."""
    return validation.email_key(email)


def find_participant(raw_email: str) -> Participant | None:
    """The participant for an address as typed, or None (also for an invalid address)."""
    try:
        email = normalize_email(raw_email)
    except SubscriptionError:
        return None
    return db.session.scalar(select(Participant).where(Participant.email_key == email_key(email)))


def get_or_create_participant(email: str, name: str = "", language: str | None = None) -> Participant:
    """One row per address; a name is only filled in while the address is unconfirmed.

    A stranger typing someone's address must not be able to rename a confirmed person.
    `language` (the browser's at sign-up) is kept for a new person and fills one that has
    none; a language someone chose is never changed by a sign-up.
    """
    participant = db.session.scalar(select(Participant).where(Participant.email_key == email_key(email)))
    language = i18n.normalize(language)
    if participant is None:
        participant = Participant(email=email, email_key=email_key(email), name=name.strip(), language=language)
        db.session.add(participant)
        db.session.flush()
    else:
        if name.strip() and participant.confirmed_at is None:
            participant.name = name.strip()
        if language and not participant.language:
            participant.language = language
    return participant


def check_mode(mode: str | None) -> str:
    mode = (mode or "each").strip().lower()
    if mode not in DELIVERY_MODES:
        raise SubscriptionError(
            _("“%(mode)s” is not a delivery mode; use one of %(modes)s.", mode=mode, modes=', '.join(DELIVERY_MODES)), field="mode"
        )
    return mode


# --- subscribing and confirming -------------------------------------------------------


class SignUp(TypedDict, total=False):
    """How someone signs up, besides their address: `subscribe`'s keywords, for an area that
    passes them on (registration with answers)."""

    name: str
    mode: str
    conduct_accepted: bool
    source: str
    language: str | None


def subscribe(
    event: Event,
    raw_email: str,
    *,
    name: str = "",
    mode: str = "each",
    conduct_accepted: bool = False,
    source: str = "web",
    language: str | None = None,
) -> Subscription:
    """Handle a sign-up; the caller shows the same "check your inbox" answer whatever happens.

    New or unconfirmed address -> pending + confirmation mail (once per hour).
    Confirmed address, new to this event -> active + welcome mail (register once).
    Already active -> a short "you're already subscribed" mail (once per day), nothing changed.
    """
    email = normalize_email(raw_email)
    mode = check_mode(mode)
    state = registration_state(event)
    if not state.takes_registrations:  # every door: the page, the API, a form kept open too long
        raise SubscriptionError(state.text, field="event")
    if event.conduct_url and not conduct_accepted:  # the box is only shown when there is one
        raise SubscriptionError(_("Please accept the code of conduct to join."), field="conduct")
    participant = get_or_create_participant(email, name, language)
    subscription = db.session.scalar(
        select(Subscription).where(
            Subscription.participant_id == participant.id, Subscription.event_id == event.id
        )
    )
    if subscription is not None and subscription.is_active:
        send_already_subscribed(subscription)
        return subscription
    if subscription is not None and subscription.status == "waitlisted":
        return subscription  # keeps its place; the waiting-list mail went when it joined
    if subscription is not None and subscription.status in ("awaiting", "declined"):
        return subscription  # an officer decides (or decided): signing up again changes nothing
    if subscription is None:
        subscription = Subscription(participant=participant, event=event, source=source)
        db.session.add(subscription)
    subscription.mode = mode
    subscription.digest_since = None  # (re)joining: owed nothing from an earlier membership
    subscription.conduct_accepted_at = clock.now() if event.conduct_url else None
    subscription.conduct_url = event.conduct_url or ""
    _join(subscription)
    return subscription


def _join(subscription: Subscription) -> None:
    """A new or returning subscription: active at once for a confirmed address (register
    once), otherwise pending with a confirmation mail."""
    if subscription.participant.confirmed_at is not None:
        activate(subscription)
    else:
        subscription.status = "pending"
        subscription.unsubscribed_at = None
        db.session.flush()
        send_confirmation(subscription)


def activate(subscription: Subscription, *, welcome: bool = True, seat_checked: bool = False) -> None:
    """pending/unsubscribed/waitlisted -> active, with the welcome mail (and invites) in
    the same transaction; to the waiting list instead when the series is full (see
    forum/webinars/seats.py; `seat_checked` when the caller holds the event lock and chose this one).

    An event that needs approval holds a registration an officer has not approved yet as
    "awaiting": no seat, no welcome, no invites (forum.registration.approval approves it,
    then calls this again)."""
    if subscription.event.needs_approval and subscription.approved_at is None:
        _await_approval(subscription)
        return
    if not seat_checked and not seats.seat_free(subscription.event, subscription):
        seats.put_on_waitlist(subscription)
        return
    now = clock.now()
    left_at = subscription.unsubscribed_at
    if subscription.status == "waitlisted":
        left_at = subscription.waitlisted_at  # a promotion: a welcome of its own
    subscription.status = "active"
    subscription.confirmed_at = now
    subscription.unsubscribed_at = None
    subscription.hard_bounces = 0
    if subscription.participant.confirmed_at is None:
        subscription.participant.confirmed_at = now
    db.session.flush()
    if welcome:
        send_welcome(subscription, rejoin_after=left_at)


def _await_approval(subscription: Subscription) -> None:
    """Confirmed (the address is theirs) but waiting for an officer: gets nothing yet."""
    now = clock.now()
    subscription.status = "awaiting"
    subscription.confirmed_at = subscription.confirmed_at or now
    subscription.unsubscribed_at = None
    if subscription.participant.confirmed_at is None:
        subscription.participant.confirmed_at = now
    db.session.flush()


def confirm(subscription: Subscription) -> bool:
    """Confirm a pending subscription; True if it is active afterwards.

    Idempotent (a second click changes nothing); a subscription that was left in the
    meantime is not brought back by an old confirmation mail.
    """
    if subscription.status == "pending":
        activate(subscription)
    return subscription.is_active


# --- mail -----------------------------------------------------------------------------


def _hour_key(at: datetime) -> str:
    return at.strftime("%Y%m%d%H")


def confirmation(subscription: Subscription) -> Outgoing:
    """The double opt-in mail; the key's hour makes repeats within an hour a no-op."""
    participant, event = subscription.participant, subscription.event
    msg = build_message(
        to=address(participant.email, participant.name),
        language=participant.language,
        subject=subjects.subject(
            _l("Confirm your subscription") if event.is_eforum else _l("Confirm your registration"), event
        ),
        template="confirm",
        context={
            "event": event,
            "participant": participant,
            "subscription": subscription,
            "confirm_url": links.confirm_url(subscription),
            "valid_hours": links.token_max_age("confirm") // 3600,
        },
        headers={"Auto-Submitted": "auto-generated"},
    )
    key = f"confirm:{subscription.id}:{_hour_key(clock.now())}"
    return Outgoing(msg, key, event_id=event.id, subscription_id=subscription.id)


def send_confirmation(subscription: Subscription) -> None:
    _enqueue(confirmation(subscription), "confirm")


def _enqueue(item: Outgoing, kind: str) -> None:
    """Queue one of this module's single messages (built as an EmailMessage, never bytes)."""
    assert isinstance(item.message, EmailMessage)
    enqueue(
        item.message, kind=kind, key=item.key, event_id=item.event_id, subscription_id=item.subscription_id
    )


def welcome_message(subscription: Subscription) -> EmailMessage:
    """The welcome mail, turned into a calendar invite for webinar series by calendar.py."""
    event = subscription.event
    msg = notice(
        subscription,
        _l("Welcome"),
        "welcome",
        {
            "list_address": event.list_address(current_app.config["LIST_DOMAIN"]),
            "invites": invites.invite_sessions(subscription),
            "past_sessions": recordings.past_for_registrant(event),
        },
    )
    return invites.invite_for_welcome(msg, subscription)


mail_texts.register_sample("welcome", lambda event, subscription, session: welcome_message(subscription).as_bytes())


def welcome(subscription: Subscription, rejoin_after: datetime | None = None) -> Outgoing:
    """One welcome per subscription, and one more for each re-join after a leave."""
    occasion = f"rejoin-{rejoin_after.isoformat()}" if rejoin_after else "first"
    return Outgoing(
        welcome_message(subscription),
        f"welcome:{subscription.id}:{occasion}",
        event_id=subscription.event_id,
        subscription_id=subscription.id,
    )


def send_welcome(subscription: Subscription, rejoin_after: datetime | None = None) -> None:
    """The welcome (carrying the next session's invite) and one invite mail per later session.

    A re-join gets fresh invites (their calendar lost the sessions when they left): the
    sessions' SEQUENCE rises above the leaver's CANCEL and the keys name the occasion.
    """
    if rejoin_after is not None:
        leaving.bump_for_rejoin(subscription)
    _enqueue(welcome(subscription, rejoin_after), "welcome")
    suffix = f"rejoin-{rejoin_after.isoformat()}" if rejoin_after else ""
    invites.send_session_invites(subscription, invites.later_invite_sessions(subscription), suffix=suffix)


def send_already_subscribed(subscription: Subscription) -> None:
    """Tell an active subscriber (only them, by mail) that someone signed them up again."""
    event = subscription.event
    msg = notice(
        subscription,
        _l("Already subscribed") if event.is_eforum else _l("Already registered"),
        "already_subscribed",
    )
    enqueue_for(subscription, msg, "already-subscribed", f"already:{subscription.id}:{clock.now():%Y%m%d}")


def send_fresh_link(raw_email: str) -> None:
    """Mail a new preferences link to a known address; unknown ones get nothing (and no hint)."""
    participant = find_participant(raw_email)
    if participant is None:
        return
    msg = build_message(
        to=address(participant.email, participant.name),
        language=participant.language,
        subject=_l("Your link to manage your subscriptions"),
        template="fresh_link",
        context={
            "participant": participant,
            "preferences_url": links.preferences_url(participant),
            "valid_days": links.token_max_age("preferences") // 86400,
        },
        headers={"Auto-Submitted": "auto-generated"},
    )
    enqueue(msg, kind="fresh-link", key=f"fresh-link:{participant.id}:{_hour_key(clock.now())}")


# --- preferences and leaving -----------------------------------------------------------


SubscriptionLink = Literal["confirm", "unsubscribe"]


@overload
def read_link(purpose: Literal["preferences"], token: str) -> Participant | None: ...
@overload
def read_link(purpose: SubscriptionLink, token: str) -> Subscription | None: ...
def read_link(purpose: str, token: str) -> Participant | Subscription | None:
    """The participant (preferences link) or subscription (confirm, unsubscribe link) a
    signed link names; None when that row is gone; TokenError when tampered or expired."""
    if purpose == "preferences":
        return links.linked_row(Participant, purpose, token)
    return links.linked_row(Subscription, purpose, token)


def live_subscriptions(participant: Participant) -> list[Subscription]:
    return [s for s in participant.subscriptions if s.status in LIVE_STATUSES]


def change_mode(subscription: Subscription, mode: str) -> None:
    set_mode(subscription, check_mode(mode))


def set_mode(subscription: Subscription, mode: str) -> None:
    """Set a checked delivery mode. A reader who turns to digests has had every post until now
    (each message) or chose none of them (no mail): their first digest starts now, not at the
    digest period's start, so nothing reaches them twice or from before they chose."""
    if mode == "digest" and subscription.mode != "digest" and subscription.id is not None:
        subscription.digest_since = subscription.digest_chosen_at = clock.now()
    subscription.mode = mode


def set_profile(
    participant: Participant, *, name: str, timezone: str | None, language: str | None = None
) -> None:
    """Name, preferred zone (an IANA name, or empty for "the event's zone") and, when given,
    the language every page and mail to them is in."""
    if timezone and not is_zone(timezone):
        raise SubscriptionError(_("“%(zone)s” is not a known time zone.", zone=timezone), field="timezone")
    if language is not None and not i18n.normalize(language):
        raise SubscriptionError(_("Pick one of the listed languages."), field="language")
    participant.name = name.strip()
    if (timezone or None) != participant.timezone:
        for subscription in participant.subscriptions:  # their digest hour moves with their zone
            subscription.digest_chosen_at = clock.now()
    participant.timezone = timezone or None
    if language is not None:
        participant.language = i18n.normalize(language)


def unsubscribe(subscription: Subscription) -> None:
    """Leave one event; idempotent (a second click keeps the first time)."""
    leave(subscription)


def leave(subscription: Subscription, status: str = "unsubscribed") -> None:
    """The one way out, whatever the door: the link, one-click, the leave address, "delete
    my data", an officer's removal ("unsubscribed") or bounces ("disabled").

    In the same transaction: the person's calendar gets a METHOD:CANCEL for each of their
    upcoming sessions, and a seat they held goes to the next on the waiting list.
    Idempotent (a second click keeps the first time).
    """
    if subscription.status in ("unsubscribed", status):
        return
    held_seat = subscription.is_active
    subscription.status = status
    if status == "unsubscribed":
        subscription.unsubscribed_at = clock.now()
    db.session.flush()
    if held_seat:
        leaving.send_cancels(subscription)
        if seats.has_limit(subscription.event):
            promote_waiting(subscription.event)


# --- seats: promotions change subscriptions, so they live here (forum.webinars.seats counts) ---


def promote_waiting(event: Event) -> list[Subscription]:
    """Fill free seats from the head of the queue, each with welcome + invites; returns them.

    Called in the transaction that freed the seats (a leave, a removal, a raised limit).
    """
    if event.kind != "series" or event.status == "cancelled":
        return []
    seats.lock_event(event)
    db.session.flush()
    promoted: list[Subscription] = []
    queue = seats.waiting_list(event)
    if not queue:
        return promoted
    free = len(queue) if event.seat_limit is None else event.seat_limit - seats.taken(event)
    for subscription in queue[: max(free, 0)]:
        activate(subscription, seat_checked=True)
        promoted.append(subscription)
    return promoted


def promote_by_hand(subscription: Subscription) -> None:
    """An officer's choice: this person gets a seat now, even over the limit."""
    if subscription.status == "waitlisted":
        seats.lock_event(subscription.event)
        activate(subscription, seat_checked=True)


@seats_freed.connect
def _seat_the_waiting(event: Event, **signal: object) -> list[Subscription]:
    """A raised seat limit (forum.webinars.seats.set_limit): seat the next ones in line."""
    return promote_waiting(event)


@bounce_counted.connect
def _disable_bouncing(subscription: Subscription, **signal: object) -> None:
    """Bounces reached the limit (forum.mail.bounces): the subscription is disabled, through
    the one way out, so its calendar CANCELs go and a seat it held is given on."""
    leave(subscription, status="disabled")


def _leave_by_mail(message: Inbound) -> Outcome:
    """RFC 2369 mailto unsubscribe (the signed leave address; routed by forum.mail.inbound).

    The signed address is the authority, not the sender: mail providers send these on the
    user's behalf (often auto-generated), so none of the posting checks apply; leaving
    twice is harmless.
    """
    event, subscription_id = message.event, message.target.leave_subscription_id
    subscription = db.session.get(Subscription, subscription_id)
    if subscription is None or subscription.event_id != event.id:
        return Outcome("unknown_list", "No such subscription")
    if subscription.status != "unsubscribed":
        unsubscribe(subscription)
    return Outcome("unsubscribed", f"Unsubscribed from {event.title}")


register_handler("leave", _leave_by_mail)


def unsubscribe_all(participant: Participant) -> int:
    """Leave every event; returns how many subscriptions ended."""
    live = live_subscriptions(participant)
    for subscription in live:
        unsubscribe(subscription)
    return len(live)


def resubscribe(subscription: Subscription) -> None:
    """Undo a leave from the signed link: a confirmed person is active again at once (or,
    in a full series, back on the waiting list, at its end)."""
    if subscription.status not in ("active", "waitlisted"):
        _join(subscription)
