"""Helpers for the e-forum tests: a forum like the seed announcement, its members,
raw RFC 5322 messages, a real LMTP server, and reading what was queued."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import make_msgid

from flask import Flask
from icalendar import Calendar
from sqlalchemy import select

from forum.calendars import calendar
from forum.core import clock
from forum.core.extensions import db
from forum.mail.lmtp import RunningServer, start_lmtp
from forum.models import (
    Event,
    EventPanelist,
    OutboundMessage,
    Panelist,
    Post,
    Session,
    Thread,
)
from forum.scheduling.scheduler import run_job
from tests.support import factories
from tests.support.factories import outbox as outbox
from tests.support.factories import parsed as parsed
from tests.support.factories import subscribe as subscribe
from tests.support.factories import text_of as text_of

DOMAIN = "lists.forum.test"
LIST = f"mentoring@{DOMAIN}"
RSVP = f"mentoring+rsvp@{DOMAIN}"
# Tuesday 9/10/2030 10:00 AM - Wednesday 9/11/2030 6:00 PM Eastern (EDT, UTC-4)
OPEN_AT = datetime(2030, 9, 10, 16, 0, tzinfo=UTC)  # 12:00 PM Eastern on day one
BEFORE = datetime(2030, 9, 3, 12, 0, tzinfo=UTC)
AFTER = datetime(2030, 9, 12, 12, 0, tzinfo=UTC)


def make_forum(  # type: ignore[no-untyped-def]
    slug: str = "mentoring", moderation: str = "none", title: str = "Mentoring in Technical Services", **kw
) -> Event:
    """A published two-day e-forum, 10 AM-6 PM Eastern, as in the seed announcement."""
    fields = {
        "kind": "eforum",
        "status": "published",
        "timezone": "America/New_York",
        "contact_name": "Megan Dougherty",
        "contact_email": "megan@example.org",
        **kw,
    }
    event = Event(slug=slug, title=title, moderation=moderation, **fields)
    for day in (10, 11):
        session = Session(event=event, position=day)
        session.set_times(datetime(2030, 9, day, 10), datetime(2030, 9, day, 18), "America/New_York")
        db.session.add(session)
    db.session.add(event)
    db.session.commit()
    return event


def add_panelist(event: Event, email: str, name: str, role: str = "panelist") -> Panelist:
    panelist = Panelist(name=name, email=email)
    db.session.add(EventPanelist(event=event, panelist=panelist, role=role))
    db.session.commit()
    return panelist


def message(
    sender: str = "ann@example.org",
    subject: str = "Mentoring at small libraries",
    body: str = "Who has mentored a new cataloger?",
    to: str = LIST,
    name: str = "Ann Reader",
    msgid: str | None = None,
    html: str | None = None,
    headers: dict[str, str] | None = None,
    authenticated: bool = True,
) -> bytes:
    """A message as our MTA hands it over: by default with its Authentication-Results saying
    the From passed DMARC (a genuine sender); `authenticated=False` for a forged From."""
    msg = EmailMessage()
    if authenticated:
        msg["Authentication-Results"] = f"{DOMAIN}; dmarc=pass header.from={sender.rpartition('@')[2]}"
    msg["From"] = f"{name} <{sender}>"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = msgid or make_msgid(domain="example.org")
    for key, value in (headers or {}).items():
        msg[key] = value
    msg.set_content(body)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    return msg.as_bytes()


def reply_calendar(session, participant, partstat: str = "ACCEPTED") -> str:  # type: ignore[no-untyped-def]
    """What a calendar client answers to our own invite: METHOD:REPLY, the attendee's PARTSTAT."""
    # Our invite as the attendee's client holds it (the join link, for registrants, is stripped below).
    invite = Calendar.from_ical(calendar.build_calendar([session], method="REQUEST", attendee=participant).to_ical())
    invite["METHOD"] = "REPLY"
    for vevent in invite.walk("VEVENT"):
        vevent["ATTENDEE"].params["PARTSTAT"] = partstat
        for name in ("DESCRIPTION", "LOCATION"):
            vevent.pop(name, None)
    return invite.to_ical().decode()


def gmail_reply(ics: str, to: str, sender: str = "ann@example.org", subject: str = "Accepted") -> bytes:
    """The shape Gmail sends: alternative text / HTML / text/calendar;method=REPLY, plus invite.ics."""
    msg = EmailMessage()
    msg["From"] = f"Ann Reader <{sender}>"
    msg["To"] = to
    msg["Subject"] = f"{subject}: Mentoring in Technical Services @ Tue Sep 10, 2030"
    msg["Message-ID"] = f"<{subject.lower()}-{len(ics)}@mail.gmail.test>"
    msg.set_content(f"Ann Reader has {subject.lower()} this invitation.")
    msg.add_alternative(f"<p>Ann Reader has {subject.lower()} this invitation.</p>", subtype="html")
    msg.get_payload()  # multipart/alternative now
    cal_part = EmailMessage()
    cal_part.set_content(ics, subtype="calendar", charset="UTF-8", params={"method": "REPLY"})
    msg.attach(cal_part)
    msg.add_attachment(ics.encode(), maintype="application", subtype="ics", filename="invite.ics")
    return msg.as_bytes()


def queued(kind: str | None = None) -> list[OutboundMessage]:
    """The outbox once the scheduler has caught up: fan-outs written, held posts noticed."""
    run_job("hold-notices")
    db.session.expire_all()
    return outbox(kind)


def posts() -> list[Post]:
    db.session.expire_all()
    return list(db.session.scalars(select(Post).order_by(Post.id)))


def threads() -> list[Thread]:
    db.session.expire_all()
    return list(db.session.scalars(select(Thread).order_by(Thread.id)))


@contextmanager
def lmtp_server(app: Flask) -> Iterator[RunningServer]:
    """The real LMTP server on 127.0.0.1, a free port, for the length of the block."""
    server = start_lmtp(app, "127.0.0.1", 0)
    try:
        yield server
    finally:
        server.stop()


def lmtp_send(
    server: RunningServer, raw: bytes, rcpts: list[str], mail_from: str = "ann@example.org"
) -> list[tuple[int, bytes]]:
    """One LMTP transaction; returns one (code, text) per accepted recipient, as LMTP gives them.

    smtplib.LMTP reads only the first reply after DATA, so the rest are read here.
    """
    with smtplib.LMTP("127.0.0.1", server.port, timeout=20) as conn:
        conn.ehlo_or_helo_if_needed()
        code, text = conn.mail(mail_from)
        assert code == 250, text
        accepted = []
        replies: list[tuple[int, bytes]] = []
        for rcpt in rcpts:
            code, text = conn.rcpt(rcpt)
            if code == 250:
                accepted.append(rcpt)
            else:
                replies.append((code, text))
        if not accepted:
            return replies
        code, text = conn.docmd("DATA")
        assert code == 354, text
        body = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        body = b"\r\n".join((b"." + line if line.startswith(b".") else line) for line in body.split(b"\r\n"))
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        conn.send(body + b".\r\n")
        for _ in accepted:
            replies.append(conn.getreply())
        return replies


def deliver(
    app: Flask, raw: bytes, to: str = LIST, *, at: datetime = OPEN_AT, mail_from: str = "ann@example.org"
) -> int:
    """One message through the real LMTP server (started for it) at `at`, to one recipient:
    the reply code LMTP gave for it."""
    with clock.frozen(at), lmtp_server(app) as server:
        [(code, _)] = lmtp_send(server, raw, [to], mail_from)
    return code


def login_officer(client, email: str = "megan@example.org"):  # type: ignore[no-untyped-def]
    """The forum's contact, signed in as an officer."""
    return factories.login_officer(client, email, "Megan Dougherty")
