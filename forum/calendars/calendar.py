"""iCalendar building (icalendar 7): what a session says, and the calendars made of it.

Every session is one VEVENT with one UID for life (`Session.uid@LIST_DOMAIN`); its
SEQUENCE is `Session.sequence`, which `forum.events` bumps on every change attendees
must see.  Invites and updates are iTIP `METHOD:REQUEST` (RFC 5546) carried in mail
the way RFC 6047 and the big calendar clients expect: a `text/calendar; method=...`
part inside multipart/alternative plus an `.ics` attachment.  Files and feeds carry
no METHOD and the sessions' own VTIMEZONEs (see `forum.vtimezone`).

The mail that carries these is in `calendars.invites` (a subscriber's invites) and
`calendars.changes` (updates and cancellations to everyone); the feeds in
`calendars.feeds`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage, MIMEPart

from flask import current_app
from flask_babel import gettext as _
from icalendar import Calendar, vCalAddress, vDuration, vText
from icalendar import Event as VEvent

from forum.calendars.vtimezone import vtimezone
from forum.core import clock, i18n, timezones
from forum.core.urls import external_url
from forum.mail.addresses import rsvp_address
from forum.models import Event, Participant, Session, Subscription
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
    """`Event title: session title`, or the event title alone; cancelled ones say so (the
    words around the officer's titles in the language in force)."""
    event = session.event
    title = event.title
    if session.title and session.title != event.title:
        title = f"{event.title}: {session.title}"
    elif event.is_eforum and len(event.sessions) > 1 and session in event.sessions:
        title = _(
            "%(title)s (day %(day)s of %(days)s)",
            title=event.title,
            day=event.sessions.index(session) + 1,
            days=len(event.sessions),
        )
    return _("Cancelled: %(title)s", title=title) if is_cancelled(session) else title


def location_for(session: Session) -> str:
    """Where, for everyone: the platform's name ("Zoom") or "Online", never the join URL
    (registrants get theirs as a personal link in the description; see join_links)."""
    if session.join_url:
        return join_links.platform_name(session.join_url)
    event = session.event
    if event.is_eforum:
        return _("E-forum by email: %(address)s", address=event.list_address(current_app.config["LIST_DOMAIN"]))
    return ""


def panelist_line(event: Event) -> str:
    names = [
        f"{link.panelist.name} ({link.role_label})" if link.role != "panelist" else link.panelist.name
        for link in event.panelist_links
    ]
    return _("Panelists: %(names)s", names=", ".join(names)) if names else ""


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
    if reader and reader.is_active:
        personal = link or join_links.personal_link(reader, session)
    if personal and session.ends_at > clock.now():
        parts.append(_("Join (%(platform)s), your personal link: %(link)s", platform=location_for(session), link=personal))
    elif session.join_url and not event.is_eforum and reader is None:
        parts.append(_("Join: registrants get a personal join link by mail."))  # no clock: feeds cache
    elif event.is_eforum:
        parts.append(_("Post by email to %(address)s", address=event.list_address(current_app.config["LIST_DOMAIN"])))
    if reader is not None and reader.is_active and session.ends_at <= clock.now():
        parts.extend(f"{m.label}: {m.url}" for m in session.materials)
    parts.append(details_line(event))
    return "\n\n".join(p for p in parts if p)


def details_line(event: Event) -> str:
    """`Details: <event page>`, the last line of every session's description."""
    return _("Details: %(url)s", url=event_page_url(event))


@contextmanager
def written_for(person: Participant | None) -> Iterator[None]:
    """Write what follows (a calendar's own words) in `person`'s language when it is for one
    person, else in the language in force (a feed: its reader's; a page: the request's)."""
    if person is None:
        yield
        return
    with i18n.in_locale(person.language):
        yield


def organizer_for(event: Event, registration: Subscription | None = None) -> vCalAddress:
    """The event's RSVP address, named after the event: `<slug>+rsvp-<id>-<tag>@LIST_DOMAIN`
    in the iTIP mail of one registration, `<slug>+rsvp@LIST_DOMAIN` in shared files.

    Calendar clients send "Accepted/Declined" replies (iTIP REPLY) to the ORGANIZER, so it
    must be an address that exists and is read: the forum records the answer
    (`forum.calendars.rsvp`) instead of posting it to a list or bouncing it. The signed
    per-registration form records answers for that registration only, whoever sends them.
    """
    organizer = vCalAddress(f"mailto:{rsvp_address(event, registration)}")
    organizer.params["CN"] = vText(_param_text(event.title))
    return organizer


def wants_replies(event: Event) -> bool:
    """Whether an invite asks for an answer (ATTENDEE RSVP=TRUE): a webinar series'
    registrants say whether they come (recorded by `rsvp`); an e-forum's days are read
    whenever one likes, so its invites ask for nothing."""
    return not event.is_eforum


def attendee_for(participant: Participant, *, rsvp: bool = False) -> vCalAddress:
    attendee = vCalAddress(f"mailto:{participant.email}")
    if participant.name:
        attendee.params["CN"] = vText(_param_text(participant.name))
    attendee.params["CUTYPE"] = "INDIVIDUAL"
    attendee.params["ROLE"] = "REQ-PARTICIPANT"
    attendee.params["PARTSTAT"] = "NEEDS-ACTION"
    attendee.params["RSVP"] = "TRUE" if rsvp else "FALSE"
    return attendee


def _param_text(value: str) -> str:
    """Parameter values cannot hold quotes or line breaks; drop them rather than mangle."""
    return " ".join(value.replace('"', "'").split())


# --- building calendars -------------------------------------------------------------


def session_vevent(
    session: Session,
    *,
    stamp: datetime | None = None,
    reader: Subscription | None = None,
    registration: Subscription | None = None,
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
    vevent.add("ORGANIZER", organizer_for(session.event, registration))
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
    attendee: Participant | Subscription | None = None,
    name: str | None = None,
    refresh: timedelta | None = None,
    reader: Reader | None = None,
) -> Calendar:
    """A VCALENDAR of `sessions` with one compact VTIMEZONE per zone they use.

    `method` (REQUEST/CANCEL) makes it an iTIP message: DTSTAMP is then now, and the
    attendee is listed.  Without it, it is a file or feed (no METHOD, no PUBLISH).
    An iTIP message to a registration (`attendee` a Subscription) names that
    registration's own RSVP address as ORGANIZER, and a REQUEST asks for an answer
    where one is recorded (`wants_replies`).
    """
    person = attendee.participant if isinstance(attendee, Subscription) else attendee
    with written_for(person):  # an attendee's calendar speaks their language
        return _build_calendar(
            sessions, method=method, attendee=attendee, person=person, name=name, refresh=refresh, reader=reader
        )


def _build_calendar(
    sessions: Sequence[Session],
    *,
    method: str | None,
    attendee: Participant | Subscription | None,
    person: Participant | None,
    name: str | None,
    refresh: timedelta | None,
    reader: Reader | None,
) -> Calendar:
    registration = attendee if isinstance(attendee, Subscription) and method else None
    rsvp = bool(registration and method == "REQUEST" and wants_replies(registration.event))
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
        vevent = session_vevent(
            session, stamp=stamp, reader=reader(session) if reader else None, registration=registration
        )
        if person is not None:
            vevent.add("ATTENDEE", attendee_for(person, rsvp=rsvp))
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
