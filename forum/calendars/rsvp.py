"""Calendar replies (iTIP REPLY, RFC 5546): record who said yes, maybe or no to a session.

Every invite names `<slug>+rsvp@LIST_DOMAIN` as ORGANIZER (see `calendar.organizer_for`),
so "Accepted: ..." mail from Gmail, Outlook or Apple Calendar comes back here. A REPLY
that reaches any list address is read the same way: it is an answer, never a post.
Replies are only recorded, never answered, and a reply from someone who is not
subscribed to the event is dropped (nothing to record it against).
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
            for attendee in attendees[:10]:
                partstat = str(getattr(attendee, "params", {}).get("PARTSTAT", "")).strip().lower()
                out.append(Answer(uid=uid, attendee=_address(attendee), partstat=partstat))
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


def record(event: Event, parsed: ParsedMessage) -> tuple[int, str]:
    """Store the answers of a REPLY for `event`; (how many recorded, why, for the LMTP reply).

    The attendee is the REPLY's ATTENDEE (what the calendar client says), else the From
    address when the client wrote an alias. The latest answer per session wins.
    """
    found = answers(parsed)
    if not found:
        return 0, "No calendar reply found; nothing recorded"
    recorded: set[tuple[int, int]] = set()  # Gmail sends the same REPLY inline and as invite.ics
    for answer in found:
        if answer.partstat not in PARTSTATS:
            continue
        session = _session(event, answer.uid)
        if session is None:
            continue
        sub = _subscription(event, answer.attendee) or _subscription(event, parsed.from_email)
        if sub is None:
            continue
        row = db.session.scalar(
            select(Rsvp).where(Rsvp.subscription_id == sub.id, Rsvp.session_id == session.id)
        )
        if row is None:
            row = Rsvp(subscription_id=sub.id, session_id=session.id)
            db.session.add(row)
        row.partstat = answer.partstat
        row.updated_at = clock.now()
        db.session.flush()  # a second copy of the answer finds this row
        recorded.add((sub.id, session.id))
    if not recorded:
        return 0, "Calendar reply for no known attendee or session; nothing recorded"
    return len(recorded), f"Calendar reply recorded ({len(recorded)})"


@dataclass(frozen=True)
class SessionCounts:
    """The answers for one session, for the officer's overview."""

    session: Session
    label: str
    counts: Counter[str]


def counts(event: Event) -> list[SessionCounts]:
    """Answers per session (active subscriptions only), in session order; [] when none yet."""
    rows = db.session.execute(
        select(Rsvp.session_id, Rsvp.partstat, func.count())
        .join(Subscription, Subscription.id == Rsvp.subscription_id)
        .where(Subscription.event_id == event.id, Subscription.is_active)
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
    return Outcome("rsvp", record(message.target.event, message.parsed)[1])


register_handler("calendar-reply", _calendar_reply)
