"""Calendar replies (iTIP REPLY, RFC 5546): record who said yes, maybe or no to a session.

Every invite names its registration's own `<slug>+rsvp-<id>-<tag>@LIST_DOMAIN` as
ORGANIZER (see `calendar.organizer_for`; shared files and older invites the plain
`<slug>+rsvp@`), so "Accepted: ..." mail from Gmail, Outlook or Apple Calendar comes back
here. A REPLY that reaches any list address is read the same way: it is an answer, never a
post. Replies are only recorded, never answered.

Whose answer it is: to a signed address, that registration's and no one else's, whatever
the ATTENDEE says (clients write aliases); anywhere else, only an ATTENDEE equal to the
From address counts, for the sender's own registration. Session UIDs are public (the
event's .ics), so one message must never answer for other attendees.

Which answer counts: a reply carries the SEQUENCE of the invite it answers. An answer
older than the stored one never replaces it; one older than the session's SEQUENCE (the
session moved since), or for a cancelled session, is kept but not counted as current.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass

import icalendar
from flask import current_app
from sqlalchemy import func, select

from forum.common.subjects import session_label
from forum.core import clock
from forum.core.extensions import db
from forum.core.validation import email_key
from forum.mail.inbound import Inbound, Outcome, register_handler
from forum.mail.parse import ParsedMessage
from forum.models import PARTSTATS, Event, Participant, Rsvp, Session, Subscription

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Answer:
    """One attendee's answer for one VEVENT of a REPLY."""

    uid: str
    attendee: str  # the address, lower-case
    partstat: str  # accepted / tentative / declined / other iTIP values, lower-case
    sequence: int = 0  # the SEQUENCE of the invite answered (RFC 5546 3.2.3)


def _address(value: object) -> str:
    text = str(value).strip()
    return (text[7:] if text.lower().startswith("mailto:") else text).strip().lower()


def answers(parsed: ParsedMessage) -> list[Answer]:
    """Every (UID, attendee, PARTSTAT) in the message's REPLY calendars; unreadable ones skipped."""
    out: list[Answer] = []
    for method, text in parsed.calendars:
        if method != "REPLY":
            continue
        try:
            calendar = icalendar.Calendar.from_ical(text)
        except Exception:  # noqa: BLE001 - a broken calendar records nothing
            log.info("unreadable calendar REPLY in %s", parsed.message_id)
            continue
        for vevent in calendar.walk("VEVENT")[:50]:
            uid = str(vevent.get("UID", "")).strip()
            attendees = vevent.get("ATTENDEE")
            if attendees is None:
                continue
            if not isinstance(attendees, list):
                attendees = [attendees]
            try:
                sequence = max(0, min(int(str(vevent.get("SEQUENCE", 0)).strip() or 0), 2**31 - 1))
            except ValueError:
                sequence = 0
            for attendee in attendees[:10]:
                partstat = str(getattr(attendee, "params", {}).get("PARTSTAT", "")).strip().lower()
                out.append(Answer(uid=uid, attendee=_address(attendee), partstat=partstat, sequence=sequence))
    return out


def _session(event: Event, uid: str) -> Session | None:
    """The event's session with this iCalendar UID (`<Session.uid>@LIST_DOMAIN`)."""
    local, _, domain = uid.rpartition("@")
    if not local or domain.lower() != current_app.config["LIST_DOMAIN"].lower():
        return None
    return db.session.scalar(select(Session).where(Session.uid == local, Session.event_id == event.id))


def _subscription(event: Event, email: str) -> Subscription | None:
    participant = Participant.by_email(email) if email else None
    if participant is None:
        return None
    return db.session.scalar(
        select(Subscription).where(
            Subscription.event_id == event.id, Subscription.participant_id == participant.id
        )
    )


def registration_of(event: Event, email: str) -> Subscription | None:
    """The registration of this address (either IDN form) with `event`, live ones only."""
    sub = _subscription(event, email)
    return sub if sub is not None and sub.status in ("active", "pending", "waitlisted") else None


def _registration(event: Event, parsed: ParsedMessage, registration_id: int | None) -> Subscription | None:
    """Whose answers this message may record: the signed address's registration, else the
    From address's own registration with this event."""
    if registration_id is not None:
        sub = db.session.get(Subscription, registration_id)
        return sub if sub is not None and sub.event_id == event.id else None
    return _subscription(event, parsed.from_email)


def _theirs(answers_: list[Answer], sub: Subscription, parsed: ParsedMessage, signed: bool) -> list[Answer]:
    """The answers that speak for `sub`: ATTENDEE its address, or the sender's (the same
    person, an alias); to a signed address also a lone ATTENDEE per VEVENT (whatever it says)."""
    own = {email_key(sub.participant.email)}
    if signed and parsed.from_email:
        own.add(email_key(parsed.from_email))
    elif not signed and email_key(parsed.from_email) not in own:
        return []
    mine = [a for a in answers_ if email_key(a.attendee) in own]
    if signed:
        per_uid = Counter(a.uid for a in answers_)
        named = {a.uid for a in mine}
        mine += [a for a in answers_ if per_uid[a.uid] == 1 and a.uid not in named]
    return mine


def record(event: Event, parsed: ParsedMessage, registration_id: int | None = None) -> tuple[int, str]:
    """Store the answers of a REPLY for `event`; (how many recorded, why, for the LMTP reply).

    `registration_id` is the registration a signed `+rsvp-<id>-<tag>` address names: its
    answers only. Otherwise the ATTENDEE must be the sender (see the module's docstring).
    An answer to an older SEQUENCE than the one stored is left out; the latest wins.
    """
    found = answers(parsed)
    if not found:
        return 0, "No calendar reply found; nothing recorded"
    sub = _registration(event, parsed, registration_id)
    if sub is None:
        return 0, "Calendar reply for no known attendee or session; nothing recorded"
    recorded: set[int] = set()  # Gmail sends the same REPLY inline and as invite.ics
    stale = 0
    for answer in _theirs(found, sub, parsed, signed=registration_id is not None):
        if answer.partstat not in PARTSTATS:
            continue
        session = _session(event, answer.uid)
        if session is None:
            continue
        row = db.session.scalar(
            select(Rsvp).where(Rsvp.subscription_id == sub.id, Rsvp.session_id == session.id)
        )
        if row is None:
            row = Rsvp(subscription_id=sub.id, session_id=session.id, sequence=answer.sequence)
            db.session.add(row)
        elif answer.sequence < (row.sequence or 0):
            stale += 1  # an answer to an older invite never replaces a newer one
            continue
        row.partstat = answer.partstat
        row.sequence = answer.sequence
        row.updated_at = clock.now()
        db.session.flush()  # a second copy of the answer finds this row
        recorded.add(session.id)
    if not recorded:
        why = "answers older than those recorded" if stale else "no known attendee or session"
        return 0, f"Calendar reply for {why}; nothing recorded"
    return len(recorded), f"Calendar reply recorded ({len(recorded)})"


@dataclass(frozen=True)
class SessionCounts:
    """The answers for one session, for the officer's overview."""

    session: Session
    label: str
    counts: Counter[str]


def counts(event: Event) -> list[SessionCounts]:
    """Current answers per session (active subscriptions only), in session order; [] when
    none yet. An answer to an invite older than the session's SEQUENCE, or for a cancelled
    session, is kept but not counted: it answered a time that no longer holds."""
    rows = db.session.execute(
        select(Rsvp.session_id, Rsvp.partstat, func.count())
        .join(Subscription, Subscription.id == Rsvp.subscription_id)
        .join(Session, Session.id == Rsvp.session_id)
        .where(
            Subscription.event_id == event.id,
            Subscription.is_active,
            Session.status != "cancelled",
            Rsvp.sequence >= func.coalesce(Session.sequence, 0),
        )
        .group_by(Rsvp.session_id, Rsvp.partstat)
    ).all()
    if not rows:
        return []
    by_session: dict[int, Counter[str]] = {}
    for session_id, partstat, n in rows:
        by_session.setdefault(session_id, Counter())[partstat] = n
    return [SessionCounts(s, session_label(s), by_session.get(s.id, Counter())) for s in event.sessions]


def _calendar_reply(message: Inbound) -> Outcome:
    """An iTIP answer (or anything to `<slug>+rsvp@`): recorded, never a post."""
    return Outcome("rsvp", record(message.event, message.parsed, message.target.rsvp_subscription_id)[1])


register_handler("calendar-reply", _calendar_reply)
