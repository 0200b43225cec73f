"""iCalendar building (icalendar 7): files, feeds and iTIP invites.

Every session is one VEVENT with one UID for life (`Session.uid@LIST_DOMAIN`); its
SEQUENCE is `Session.sequence`, which `forum.events` bumps on every change attendees
must see.  Invites and updates are iTIP `METHOD:REQUEST` (RFC 5546) carried in mail
the way RFC 6047 and the big calendar clients expect: a `text/calendar; method=...`
part inside multipart/alternative plus an `.ics` attachment.  Files and feeds carry
no METHOD and the sessions' own VTIMEZONEs (see `forum.vtimezone`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage, MIMEPart

from flask import current_app
from icalendar import Calendar, vCalAddress, vDuration, vText
from icalendar import Event as VEvent
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from forum.calendars.vtimezone import vtimezone
from forum.common import subjects
from forum.common.subjects import session_label
from forum.core import clock, timezones
from forum.core.extensions import db
from forum.core.urls import external_url
from forum.mail import texts as mail_texts
from forum.mail.addresses import rsvp_address
from forum.mail.bulk import Attachment, InlinePart
from forum.mail.compose import ListCopy, list_message, list_messages
from forum.mail.outbox import Outgoing, enqueue_copies, enqueue_many
from forum.models import Event, EventPanelist, OutboundMessage, Participant, Session, Subscription
from forum.webinars import join_links

PRODID = "-//Forum//Forum calendars 1.0//EN"
#: Raise when the shape of produced calendars changes, so feed ETags change with it.
FORMAT_VERSION = "3"  # 3: LOCATION is the platform, personal join links, UTC for repeated hours
CALENDAR_MAIL_KIND = "calendar"


# --- what a session says ------------------------------------------------------------


def uid_for(session: Session) -> str:
    """The session's iCalendar UID: stable for life, unique across deployments."""
    return f"{session.uid}@{current_app.config['LIST_DOMAIN']}"


def event_page_url(event: Event) -> str:
    """The public event page, absolute (mails and calendars leave the site)."""
    return external_url("public.event", slug=event.slug)


def is_cancelled(session: Session) -> bool:
    return session.status == "cancelled" or session.event.status == "cancelled"


def summary_for(session: Session) -> str:
    """`Event title: session title`, or the event title alone; cancelled ones say so."""
    event = session.event
    title = event.title
    if session.title and session.title != event.title:
        title = f"{event.title}: {session.title}"
    elif event.is_eforum and len(event.sessions) > 1 and session in event.sessions:
        title = f"{event.title} (day {event.sessions.index(session) + 1} of {len(event.sessions)})"
    return f"Cancelled: {title}" if is_cancelled(session) else title


def location_for(session: Session) -> str:
    """Where, for everyone: the platform's name ("Zoom") or "Online", never the join URL
    (registrants get theirs as a personal link in the description; see join_links)."""
    if session.join_url:
        return join_links.platform_name(session.join_url)
    event = session.event
    if event.is_eforum:
        return f"E-forum by email: {event.list_address(current_app.config['LIST_DOMAIN'])}"
    return ""


def panelist_line(event: Event) -> str:
    names = [
        f"{link.panelist.name} ({link.role_label})" if link.role != "panelist" else link.panelist.name
        for link in event.panelist_links
    ]
    return "Panelists: " + ", ".join(names) if names else ""


#: Who a calendar is written for: the reader's registration for a session's event, or None
#: (public files and feeds, shared fan-out bodies): personal links only go to a reader.
Reader = Callable[[Session], Subscription | None]


def description_for(session: Session, reader: Subscription | None = None, link: str | None = None) -> str:
    """Plain text: what it is, who speaks, how to join, where the details are.

    Only a registrant's own calendar (`reader`) carries their personal join link and,
    once the session is over, its recording and materials. `link` is the reader's
    `join_links.personal_link` when the caller has it already (a fan-out signs it once).
    """
    event = session.event
    parts = [event.summary.strip(), session.description.strip(), panelist_line(event)]
    personal = None
    if reader and reader.status == "active":
        personal = link or join_links.personal_link(reader, session)
    if personal and session.ends_at > clock.now():
        parts.append(f"Join ({location_for(session)}), your personal link: {personal}")
    elif session.join_url and not event.is_eforum and reader is None:
        parts.append("Join: registrants get a personal join link by mail.")  # no clock: feeds cache
    elif event.is_eforum:
        parts.append(f"Post by email to {event.list_address(current_app.config['LIST_DOMAIN'])}")
    if reader is not None and reader.status == "active" and session.ends_at <= clock.now():
        parts.extend(f"{m.label}: {m.url}" for m in session.materials)
    parts.append(f"Details: {event_page_url(event)}")
    return "\n\n".join(p for p in parts if p)


def organizer_for(event: Event) -> vCalAddress:
    """The event's RSVP address (`<slug>+rsvp@LIST_DOMAIN`), named after the event.

    Calendar clients send "Accepted/Declined" replies (iTIP REPLY) to the ORGANIZER, so it
    must be an address that exists and is read: the forum records the answer
    (`forum.rsvp`) instead of posting it to a list or bouncing it.
    """
    organizer = vCalAddress(f"mailto:{rsvp_address(event)}")
    organizer.params["CN"] = vText(_param_text(event.title))
    return organizer


def attendee_for(participant: Participant) -> vCalAddress:
    attendee = vCalAddress(f"mailto:{participant.email}")
    if participant.name:
        attendee.params["CN"] = vText(_param_text(participant.name))
    attendee.params["CUTYPE"] = "INDIVIDUAL"
    attendee.params["ROLE"] = "REQ-PARTICIPANT"
    attendee.params["PARTSTAT"] = "NEEDS-ACTION"
    attendee.params["RSVP"] = "FALSE"
    return attendee


def _param_text(value: str) -> str:
    """Parameter values cannot hold quotes or line breaks; drop them rather than mangle."""
    return " ".join(value.replace('"', "'").split())


# --- building calendars -------------------------------------------------------------


def session_vevent(
    session: Session, *, stamp: datetime | None = None, reader: Subscription | None = None
) -> VEvent:
    """One VEVENT; DTSTAMP is the last change unless the caller (iTIP) gives "now"."""
    vevent = VEvent()
    vevent.add("UID", uid_for(session))
    vevent.add("SEQUENCE", session.sequence or 0)
    vevent.add("DTSTAMP", stamp or _last_change(session))
    start, end = session_times(session)
    vevent.add("DTSTART", start)
    vevent.add("DTEND", end)
    vevent.add("SUMMARY", summary_for(session))
    vevent.add("DESCRIPTION", description_for(session, reader))
    vevent.add("URL", event_page_url(session.event))
    location = location_for(session)
    if location:
        vevent.add("LOCATION", location)
    vevent.add("ORGANIZER", organizer_for(session.event))
    vevent.add("STATUS", "CANCELLED" if is_cancelled(session) else "CONFIRMED")
    vevent.add("TRANSP", "TRANSPARENT" if session.event.is_eforum else "OPAQUE")
    return vevent


def session_times(session: Session) -> tuple[datetime, datetime]:
    """DTSTART/DTEND: local time in the session's zone, or UTC when either falls in a
    repeated (fall-back) hour.

    RFC 5545 reads such a local time as its first occurrence, but ical.js and libical
    (Thunderbird, Evolution, Nextcloud) take the second, so the session would show an
    hour late there (30 minutes for Lord Howe).  A UTC time means the same to all;
    the officer is told so when the time is entered (`timezones.localize`).
    """
    zone = session.timezone
    if timezones.is_ambiguous(session.start_wall, zone) or timezones.is_ambiguous(session.end_wall, zone):
        return session.starts_at.astimezone(UTC), session.ends_at.astimezone(UTC)
    return session.start_local, session.end_local


def _last_change(session: Session) -> datetime:
    stamps = [session.updated_at, session.event.updated_at, session.created_at]
    return max(s for s in stamps if s is not None) if any(stamps) else clock.now()


def build_calendar(
    sessions: Sequence[Session],
    *,
    method: str | None = None,
    attendee: Participant | None = None,
    name: str | None = None,
    refresh: timedelta | None = None,
    reader: Reader | None = None,
) -> Calendar:
    """A VCALENDAR of `sessions` with one compact VTIMEZONE per zone they use.

    `method` (REQUEST/CANCEL) makes it an iTIP message: DTSTAMP is then now, and the
    attendee is listed.  Without it, it is a file or feed (no METHOD, no PUBLISH).
    """
    cal = Calendar()
    cal.add("PRODID", PRODID)
    cal.add("VERSION", "2.0")
    cal.add("CALSCALE", "GREGORIAN")
    if method:
        cal.add("METHOD", method)
    if name:
        name = _param_text(name)  # one line: a CR/LF here would break the content line
        cal.add("X-WR-CALNAME", name)
        cal.add("NAME", name)
    if refresh:
        # RFC 7986, and the older name Outlook and Apple read; both take a DURATION.
        cal.add("REFRESH-INTERVAL", vDuration(refresh), parameters={"VALUE": "DURATION"})
        cal.add("X-PUBLISHED-TTL", vDuration(refresh))
    stamp = clock.now() if method else None
    events = []
    spans: dict[str, tuple[datetime, datetime]] = {}
    for session in sessions:
        vevent = session_vevent(session, stamp=stamp, reader=reader(session) if reader else None)
        if attendee is not None:
            vevent.add("ATTENDEE", attendee_for(attendee))
        events.append(vevent)
        if "TZID" in vevent["DTSTART"].params:
            first, last = spans.get(session.timezone, (session.starts_at, session.ends_at))
            spans[session.timezone] = (min(first, session.starts_at), max(last, session.ends_at))
    for zone, (first, last) in sorted(spans.items()):
        cal.add_component(vtimezone(zone, first, last))
    for vevent in events:
        cal.add_component(vevent)
    return cal


def event_file(event: Event) -> bytes:
    """Every session of the event (an e-forum's days one VEVENT each)."""
    return build_calendar(event.sessions, name=event.title).to_ical()


def session_file(session: Session, subscription: Subscription | None = None) -> bytes:
    """The .ics bytes for one session (downloads; reminders attach it).

    A plain file (no METHOD), so opening it adds or refreshes the same UID rather
    than asking for a reply; mailed to a `subscription`, it lists the recipient as
    attendee and carries their personal join link.
    """
    attendee = subscription.participant if subscription else None
    return build_calendar([session], attendee=attendee, reader=lambda s: subscription).to_ical()


# --- iTIP mail ----------------------------------------------------------------------


def attach_calendar(message: EmailMessage, ics: bytes, method: str) -> EmailMessage:
    """Give a mail an iTIP calendar the way RFC 6047 and Gmail/Outlook expect it.

    multipart/mixed -> [multipart/alternative -> text, HTML, text/calendar; method=...]
    + the same calendar as an `invite.ics` attachment for clients that only look there.
    """
    if not message.is_multipart():
        message.make_alternative()
    part = MIMEPart(policy=message.policy)
    text = ics.decode("utf-8")
    # Quoted-printable for names with accents: not every relay takes 8-bit bodies.
    cte = "7bit" if text.isascii() else "quoted-printable"
    part.set_content(text, subtype="calendar", charset="UTF-8", cte=cte, params={"method": method})
    # typeshed types attach() as taking Self; a bare MIMEPart is the right sub-part (no MIME-Version).
    message.attach(part)  # type: ignore[arg-type]
    message.make_mixed()
    filename = "cancel.ics" if method == "CANCEL" else "invite.ics"
    message.add_attachment(ics, maintype="application", subtype="ics", filename=filename)
    return message


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
    return build_calendar(
        [session], method="REQUEST", attendee=subscription.participant, reader=lambda s: subscription
    ).to_ical()


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
            event=event,
            subscription=subscription,
            subject=subjects.subject("Invitation", event, label),
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
    if subscription.status != "active":
        return 0
    sessions = invite_sessions(subscription, requested=True)
    items = session_invites(subscription, sessions, suffix=clock.now().date().isoformat(), requested=True)
    return enqueue_many(items, kind=CALENDAR_MAIL_KIND)


def active_subscriptions(event: Event) -> list[Subscription]:
    """Who gets calendar mail: active subscribers only (not pending, left or bouncing)."""
    return list(
        db.session.scalars(
            select(Subscription)
            .where(Subscription.event_id == event.id, Subscription.status == "active")
            .options(selectinload(Subscription.participant))
            .order_by(Subscription.id)
        )
    )


class PersonalCalendar:
    """A session's iTIP calendar, serialised once; per recipient only two content lines differ.

    Every copy of an update or cancellation carries the same VCALENDAR apart from the
    ATTENDEE (the recipient) and the DESCRIPTION (their personal join link). icalendar
    folds each content line on its own, so the file is written once with stand-in lines
    and each recipient's two lines replace them: the bytes `build_calendar([session],
    method=, attendee=, reader=)` would give, without re-serialising the VTIMEZONEs
    ten thousand times.
    """

    _ATTENDEE = "mailto:zz-attendee@invalid"
    _DESCRIPTION = "zz-description"

    def __init__(self, session: Session, method: str) -> None:
        self.session = session
        calendar = build_calendar([session], method=method)
        (vevent,) = calendar.walk("VEVENT")
        vevent.pop("DESCRIPTION", None)
        vevent.add("DESCRIPTION", self._DESCRIPTION)
        vevent.add("ATTENDEE", vCalAddress(self._ATTENDEE))
        self._vevent = vevent
        data = calendar.to_ical()
        lines = {
            "ATTENDEE": vevent.content_line("ATTENDEE", vevent["ATTENDEE"]).to_ical() + b"\r\n",
            "DESCRIPTION": vevent.content_line("DESCRIPTION", vevent["DESCRIPTION"]).to_ical() + b"\r\n",
        }
        first, second = sorted(lines, key=lambda name: data.index(lines[name]))
        head, _, rest = data.partition(lines[first])
        middle, _, tail = rest.partition(lines[second])
        self._order = (first, second)
        self._pieces = (head, middle, tail)

    def for_reader(self, subscription: Subscription, link: str | None = None) -> bytes:
        """The calendar addressed to `subscription`, with their personal join link (`link`
        when the caller has it: see `description_for`)."""
        return b"".join(self.pieces_for(subscription, link))

    def pieces_for(self, subscription: Subscription, link: str | None = None) -> tuple[bytes, ...]:
        """`for_reader`'s bytes as (shared, own, shared, own, shared): the shared ones are
        the same objects for every reader, the own ones their ATTENDEE and DESCRIPTION."""
        own = {
            "ATTENDEE": self._vevent.content_line("ATTENDEE", attendee_for(subscription.participant)),
            "DESCRIPTION": self._vevent.content_line(
                "DESCRIPTION", vText(description_for(self.session, subscription, link))
            ),
        }
        head, middle, tail = self._pieces
        first, second = self._order
        return (head, own[first].to_ical() + b"\r\n", middle, own[second].to_ical() + b"\r\n", tail)


def subscribers_after(event: Event, after_id: int, limit: int | None) -> Iterator[Subscription]:
    """`active_subscriptions` streamed from `after_id` on, at most `limit` (a fan-out step)."""
    stmt = (
        select(Subscription)
        .where(Subscription.event_id == event.id, Subscription.status == "active", Subscription.id > after_id)
        .options(selectinload(Subscription.participant))
        .order_by(Subscription.id)
        .execution_options(yield_per=1000)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    yield from db.session.scalars(stmt)


def session_change_message(
    session: Session, subscription: Subscription, *, kind: str, changes: Sequence[str] = (), reason: str = ""
) -> EmailMessage:
    """One subscriber's update (`kind` "update") or cancellation ("cancel"), built on its own.

    What every copy of the fan-out means, one message at a time (`change_copies` writes
    the same mail in bulk); kept for single messages and as the reference for tests.
    """
    spec = _CHANGES[kind]
    event = session.event
    context = _change_context(session, changes, reason)
    message = list_message(
        event=event,
        subscription=subscription,
        subject=subjects.session_subject(spec.subject, session),
        template=spec.template,
        context={**context, "join_link": join_links.personal_link(subscription, session)},
        automated=True,
    )
    ics = build_calendar(
        [session], method=spec.method, attendee=subscription.participant, reader=lambda s: subscription
    ).to_ical()
    return attach_calendar(message, ics, spec.method)


@dataclass(frozen=True)
class _Change:
    method: str
    template: str
    subject: str
    key_prefix: str
    text_kind: str  # the officer's mail text (`mail_texts`) for this mail


_CHANGES = {
    "update": _Change("REQUEST", "session_update", "Updated", "calendar-update", "session_update"),
    "cancel": _Change("CANCEL", "session_cancelled", "Cancelled", "calendar-cancel", "session_cancelled"),
}


def _change_context(session: Session, changes: Sequence[str], reason: str) -> dict[str, object]:
    return {"session": session, "event_url": event_page_url(session.event), "changes": list(changes), "reason": reason}


def change_copies(
    session: Session,
    subscriptions: Iterable[Subscription],
    *,
    kind: str,
    changes: Sequence[str] = (),
    reason: str = "",
) -> Iterator[ListCopy]:
    """`session_change_message` for many subscribers: the text body rendered and encoded
    once per group (reader's zone, and name only when the officer's text greets by it;
    the greeting's name is a per-recipient placeholder), the iTIP calendar per recipient
    (ATTENDEE, personal join link) from one serialised `PersonalCalendar`."""
    spec = _CHANGES[kind]
    event = session.event
    by_name = mail_texts.uses_name(event, spec.text_kind)
    personal = PersonalCalendar(session, spec.method)
    filename = "cancel.ics" if spec.method == "CANCEL" else "invite.ics"
    has_link = bool(session.join_url) and not event.is_eforum  # as join_links.personal_link decides

    links: dict[int, str | None] = {}  # signed once per recipient, for the text and the calendar

    def link_for(subscription: Subscription) -> str | None:
        if subscription.id not in links:
            links.clear()  # one recipient at a time: list_messages works through them in order
            links[subscription.id] = join_links.personal_link(subscription, session)
        return links[subscription.id]

    def calendar_parts(subscription: Subscription) -> tuple[InlinePart, Attachment]:
        pieces = personal.pieces_for(subscription, link_for(subscription))
        ics = b"".join(pieces)
        texts = tuple(piece.decode("utf-8") for piece in pieces)  # the shared ones stored once
        part = InlinePart(ics.decode("utf-8"), "calendar", (("method", spec.method),), "UTF-8", texts)
        return part, Attachment(ics, "application", "ics", filename)

    parts: dict[int, tuple[InlinePart, Attachment]] = {}

    def own_parts(subscription: Subscription) -> tuple[InlinePart, Attachment]:
        found = parts.pop(subscription.id, None)
        if found is None:
            found = parts[subscription.id] = calendar_parts(subscription)
        return found

    def own_link(subscription: Subscription) -> dict[str, str]:
        link = link_for(subscription)
        if link is None:  # has_link says every active registrant has one
            raise RuntimeError(f"no personal join link for subscription {subscription.id}")
        return {"join_link": link}

    context = _change_context(session, changes, reason)
    if not has_link:
        context["join_link"] = None
    return list_messages(
        event=event,
        subscriptions=subscriptions,
        subject=subjects.session_subject(spec.subject, session),
        template=spec.template,
        context=context,
        links=own_link if has_link else None,
        group_key=lambda s: (s.participant.timezone, s.participant.name if by_name else ""),
        shared={"participant.timezone", *(["participant.name"] if by_name else [])},
        personal=() if by_name else ("participant.name",),
        inline=lambda s: [own_parts(s)[0]],
        attachments=lambda s: [own_parts(s)[1]],
        automated=True,
    )


def change_chunk(
    session: Session,
    *,
    kind: str,
    changes: Sequence[str] = (),
    reason: str = "",
    after_id: int = 0,
    limit: int | None = None,
) -> tuple[int, int | None]:
    """Queue the update or cancellation for up to `limit` active subscribers after `after_id`,
    in the caller's transaction. Returns (copies new, the last subscription id done, or
    None when nobody is left): the fan-out job (forum/fanout.py) resumes from there.

    Keys are `<calendar-update|calendar-cancel>:<session id>:<sequence>:<subscription id>`
    (``ON CONFLICT DO NOTHING``), so a retried step queues nothing twice; the text body
    is stored once per group and step, the calendar with each row.
    """
    spec = _CHANGES[kind]
    progress = {"count": 0, "last": after_id}

    def subscribers() -> Iterator[Subscription]:
        for sub in subscribers_after(session.event, after_id, limit):
            progress["count"] += 1
            progress["last"] = sub.id
            yield sub

    copies = change_copies(session, subscribers(), kind=kind, changes=changes, reason=reason)
    key = f"{spec.key_prefix}:{session.id}:{session.sequence}"
    count = enqueue_copies(copies, kind=CALENDAR_MAIL_KIND, key=key, event_id=session.event_id)
    more = limit is not None and progress["count"] >= limit
    return count, (progress["last"] if more else None)


def send_updates(session: Session, changes: Sequence[str] = ()) -> int:
    """Enqueue a METHOD:REQUEST update (same UID, new SEQUENCE) to every active subscriber;
    `changes` ("When: was ..., now ...") head the mail. Returns how many were new."""
    return change_chunk(session, kind="update", changes=changes)[0]


def send_cancellations(session: Session, reason: str = "") -> int:
    """Enqueue a METHOD:CANCEL for the session to every active subscriber, with the
    officer's reason when one was given. Returns how many were new."""
    return change_chunk(session, kind="cancel", reason=reason)[0]


# --- feeds --------------------------------------------------------------------------


def participant_sessions(participant: Participant) -> list[Session]:
    """Every session of every non-draft event the participant is actively subscribed to."""
    return list(
        db.session.scalars(
            select(Session)
            .join(Event, Session.event_id == Event.id)
            .join(Subscription, Subscription.event_id == Event.id)
            .where(
                Subscription.participant_id == participant.id,
                Subscription.status == "active",
                Event.public_clause(),
            )
            .options(
                selectinload(Session.event)
                .selectinload(Event.panelist_links)
                .selectinload(EventPanelist.panelist),
                selectinload(Session.event).selectinload(Event.sessions),
            )
            .order_by(Session.starts_at, Session.id)
        )
    )


def participant_feed(participant: Participant) -> bytes:
    """The personal feed: every session of their events, with their own join links."""
    mine = {s.event_id: s for s in participant.subscriptions if s.status == "active"}
    return build_calendar(
        participant_sessions(participant),
        name=f"Forum: {participant.display}",
        refresh=timedelta(hours=1),
        reader=lambda session: mine.get(session.event_id),
    ).to_ical()


def event_feed(event: Event) -> bytes:
    return build_calendar(event.sessions, name=event.title, refresh=timedelta(hours=1)).to_ical()
