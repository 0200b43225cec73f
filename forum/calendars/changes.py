"""Session updates and cancellations: an iTIP REQUEST (same UID, new SEQUENCE) or CANCEL
to every active subscriber, written in fan-out steps (`change_chunk`) with the text body
encoded once per group and the calendar per recipient (`PersonalCalendar`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage

from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from icalendar import Component, vCalAddress, vText

from forum.calendars.calendar import (
    CALENDAR_MAIL_KIND,
    attach_calendar,
    attendee_for,
    build_calendar,
    description_for,
    event_page_url,
    organizer_for,
    wants_replies,
)
from forum.common import audience, subjects
from forum.core import i18n
from forum.core.extensions import db
from forum.core.timezones import format_when
from forum.mail import texts as mail_texts
from forum.mail.bulk import Attachment, InlinePart
from forum.mail.compose import ListOptions, list_message
from forum.mail.list_copies import ListCopy, list_messages
from forum.mail.outbox import enqueue_copies
from forum.models import Event, Session, Subscription
from forum.webinars import join_links


class PersonalCalendar:
    """A session's iTIP calendar, serialised once per language; per recipient only three
    content lines differ.

    Every copy of an update or cancellation carries the same VCALENDAR apart from the
    ORGANIZER (the registration's own RSVP address), the ATTENDEE (the recipient) and the
    DESCRIPTION (their personal join link), and the words the app writes around the
    officer's titles ("Cancelled: ...", "Panelists: ...") are in the recipient's language.
    icalendar folds each content line on its own, so the file is written once per language
    with stand-in lines and each recipient's lines replace them: the bytes
    `build_calendar([session], method=, attendee=subscription, reader=)` would give, without
    re-serialising the VTIMEZONEs ten thousand times.
    """

    _ATTENDEE = "mailto:zz-attendee@invalid"
    _ORGANIZER = "mailto:zz-organizer@invalid"
    _DESCRIPTION = "zz-description"
    _OWN = ("ORGANIZER", "ATTENDEE", "DESCRIPTION")

    def __init__(self, session: Session, method: str) -> None:
        self.session = session
        self.method = method
        self._by_locale: dict[str, tuple[Component, tuple[str, ...], tuple[bytes, ...]]] = {}

    def _shared(self, locale: str) -> tuple[Component, tuple[str, ...], tuple[bytes, ...]]:
        """(the VEVENT, the order of the own lines, the shared bytes around them) in `locale`,
        built the first time a recipient in it comes (at most one per language of the list)."""
        if locale not in self._by_locale:
            with i18n.in_locale(locale):
                calendar = build_calendar([self.session], method=self.method)
            (vevent,) = calendar.walk("VEVENT")
            vevent.pop("DESCRIPTION", None)
            vevent.add("DESCRIPTION", self._DESCRIPTION)
            vevent.pop("ORGANIZER", None)
            vevent.add("ORGANIZER", vCalAddress(self._ORGANIZER))
            vevent.add("ATTENDEE", vCalAddress(self._ATTENDEE))
            data = calendar.to_ical()
            lines = {name: vevent.content_line(name, vevent[name]).to_ical() + b"\r\n" for name in self._OWN}
            order = tuple(sorted(lines, key=lambda name: data.index(lines[name])))
            pieces: list[bytes] = []
            rest = data
            for name in order:
                before, _sep, rest = rest.partition(lines[name])
                pieces.append(before)
            self._by_locale[locale] = (vevent, order, (*pieces, rest))
        return self._by_locale[locale]

    def for_reader(self, subscription: Subscription, link: str | None = None) -> bytes:
        """The calendar addressed to `subscription`, with their personal join link (`link`
        when the caller has it: see `description_for`)."""
        return b"".join(self.pieces_for(subscription, link))

    def pieces_for(self, subscription: Subscription, link: str | None = None) -> tuple[bytes, ...]:
        """`for_reader`'s bytes as (shared, own, shared, own, shared, own, shared): the shared
        ones are the same objects for every reader of one language, the own ones their
        ORGANIZER, ATTENDEE and DESCRIPTION."""
        event = self.session.event
        locale = i18n.recipient_locale(subscription.participant.language)
        vevent, order, shared_pieces = self._shared(locale)
        rsvp = self.method == "REQUEST" and wants_replies(event)
        with i18n.in_locale(locale):
            description = description_for(self.session, subscription, link)
        values = {
            "ORGANIZER": organizer_for(event, subscription),
            "ATTENDEE": attendee_for(subscription.participant, rsvp=rsvp),
            "DESCRIPTION": vText(description),
        }
        out: list[bytes] = [shared_pieces[0]]
        for name, shared in zip(order, shared_pieces[1:], strict=True):
            out += [vevent.content_line(name, values[name]).to_ical() + b"\r\n", shared]
        return tuple(out)


def subscribers_after(event: Event, after_id: int, limit: int | None) -> Iterator[Subscription]:
    """The active subscribers (who get calendar mail) streamed from `after_id` on, at most `limit` (a fan-out step)."""
    stmt = audience.subscribers(event, after_id=after_id).execution_options(yield_per=1000)
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
        event,
        subscription,
        ListOptions(
            subject=subjects.session_subject(spec.subject, session),
            template=spec.template,
            context={**context, "join_link": join_links.personal_link(subscription, session)},
            automated=True,
        ),
    )
    ics = build_calendar([session], method=spec.method, attendee=subscription, reader=lambda s: subscription).to_ical()
    return attach_calendar(message, ics, spec.method)


@dataclass(frozen=True)
class _Change:
    method: str
    template: str
    subject: str
    key_prefix: str
    text_kind: str  # the officer's mail text (`mail_texts`) for this mail


_CHANGES = {
    "update": _Change("REQUEST", "session_update", _l("Updated"), "calendar-update", "session_update"),
    "cancel": _Change("CANCEL", "session_cancelled", _l("Cancelled"), "calendar-cancel", "session_cancelled"),
}


def _change_context(session: Session, changes: Sequence[object], reason: str) -> dict[str, object]:
    lines = [LazyString(describe, change) for change in changes]  # worded in each reader's language
    return {"session": session, "event_url": event_page_url(session.event), "changes": lines, "reason": reason}


def describe(change: object) -> str:
    """One line of "what changed" in the language in force: `When: was ..., now ...` with
    the times in the reader's formats (a line recorded as text before this was data stays)."""
    if not isinstance(change, dict):
        return str(change)
    what = change.get("what")
    if what == "when":
        zone = str(change["zone"])
        was_start, was_end = (datetime.fromisoformat(t) for t in change["was"])
        now_start, now_end = (datetime.fromisoformat(t) for t in change["now"])
        was = format_when(was_start, was_end, zone)
        now = format_when(now_start, now_end, zone)
        return _("When: was %(was)s, now %(now)s", was=was, now=now)
    if what == "title":
        return _("Title: was “%(was)s”, now “%(now)s”", was=change["was"], now=change["now"])
    if what == "join_link":
        return _("Join link: removed") if change.get("removed") else _("Join link: changed; use the new link below")
    if what == "description":
        return _("Description: updated")
    return ""


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
        event,
        subscriptions,
        ListOptions(
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
        ),
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


def _sample_change(kind: str) -> mail_texts.SampleBuilder:
    """The officer's preview of an update or cancellation mail: the real one, for one sample."""

    def build(event: Event, subscription: Subscription, session: Session | None) -> bytes:
        assert session is not None  # mail_texts asks only when the event has a session
        changes = [_("Time: was the old time, now the time above (a sample line)")] if kind == "update" else []
        reason = _("the reason you give when cancelling (a sample)") if kind == "cancel" else ""
        copy = next(iter(change_copies(session, [subscription], kind=kind, changes=changes, reason=reason)))
        return copy.data

    return build


mail_texts.register_sample("session_update", _sample_change("update"))
mail_texts.register_sample("session_cancelled", _sample_change("cancel"))
