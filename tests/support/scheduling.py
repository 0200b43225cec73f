"""Helpers for the scheduler tests: forums, series, subscribers, posts and the outbox."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage

from flask.testing import FlaskClient
from sqlalchemy import select

from forum.core.extensions import db
from forum.core.text import markdown
from forum.models import Event, Officer, OutboundMessage, Participant, Post, Session, Subscription, Thread
from tests.support.fanouts import write_fan_outs

NY = "America/New_York"


def make_forum(
    slug: str = "mentoring",
    first_day: date = date(2019, 9, 10),
    days: int = 2,
    zone: str = NY,
    hours: tuple[int, int] = (10, 18),
    digest_hour: int = 18,
) -> Event:
    """A published e-forum open `hours` each day, like the seed announcement (10 AM-6 PM Eastern)."""
    event = Event(
        slug=slug,
        kind="eforum",
        title="Mentoring in Technical Services",
        status="published",
        timezone=zone,
        digest_hour=digest_hour,
    )
    for n in range(days):
        day = first_day + timedelta(days=n)
        session = Session(event=event, position=n)
        session.set_times(datetime.combine(day, time(hours[0])), datetime.combine(day, time(hours[1])), zone)
    db.session.add(event)
    db.session.commit()
    return event


def make_series(
    slug: str = "cataloging",
    starts: list[datetime] | None = None,
    zone: str = NY,
    offsets: str = "1440,60",
) -> Event:
    """A published webinar series with hour-long sessions at the given wall times."""
    event = Event(
        slug=slug,
        kind="series",
        title="Cataloging Webinar Series",
        status="published",
        timezone=zone,
        reminder_offsets=offsets,
    )
    for n, start in enumerate(starts or [datetime(2024, 11, 5, 10)]):
        session = Session(
            event=event, position=n, title=f"Session {n + 1}", join_url=f"https://meet.example.org/s{n + 1}"
        )
        session.set_times(start, start + timedelta(hours=1), zone)
    db.session.add(event)
    db.session.commit()
    return event


def subscribe(
    event: Event, email: str, mode: str = "digest", zone: str | None = None, status: str = "active"
) -> Subscription:
    participant = db.session.scalar(select(Participant).where(Participant.email_key == email.lower()))
    if participant is None:
        participant = Participant(
            email=email, email_key=email.lower(), name=email.split("@")[0].title(), timezone=zone
        )
    subscription = Subscription(participant=participant, event=event, mode=mode, status=status)
    db.session.add(subscription)
    db.session.commit()
    return subscription


def add_post(
    event: Event,
    at: datetime,
    subject: str,
    body: str = "Some thoughts on mentoring.",
    author: str = "Jeannette Ho",
    role: str = "participant",
    status: str = "accepted",
) -> Post:
    """An accepted post, created directly (the inbound flow is tested elsewhere)."""
    thread = Thread(event=event, subject=subject, subject_key=subject.lower(), created_at=at, last_post_at=at)
    post = Post(
        event=event,
        thread=thread,
        message_id=f"<{uuid.uuid4().hex}@example.org>",
        subject=subject,
        author_name=author,
        author_email=f"{author.split()[0].lower()}@example.org",
        author_role=role,
        is_panelist=role != "participant",
        body_text=body,
        body_html=str(markdown(body)),
        status=status,
        created_at=at,
        accepted_at=at if status == "accepted" else None,
    )
    db.session.add_all([thread, post])
    db.session.commit()
    return post


def outbox(kind: str | None = None, recipient: str | None = None) -> list[OutboundMessage]:
    write_fan_outs()
    stmt = select(OutboundMessage).order_by(OutboundMessage.id)
    if kind:
        stmt = stmt.where(OutboundMessage.kind == kind)
    if recipient:
        stmt = stmt.where(OutboundMessage.recipient == recipient)
    return list(db.session.scalars(stmt))


def parsed(row: OutboundMessage) -> EmailMessage:
    return message_from_bytes(row.full_message, policy=policy.default)  # type: ignore[return-value]


def subject_of(row: OutboundMessage) -> str:
    """The decoded Subject (a folded subject may start with the fold's space)."""
    return str(parsed(row)["Subject"]).strip()


def text_of(row: OutboundMessage) -> str:
    part = parsed(row).get_body(preferencelist=("plain",))
    assert part is not None
    return part.get_content()


def html_of(row: OutboundMessage) -> str:
    part = parsed(row).get_body(preferencelist=("html",))
    assert part is not None
    return part.get_content()


def login_officer(client: FlaskClient, email: str = "officer@example.org") -> Officer:
    """Sign an officer in the way Flask-Login remembers one."""
    officer = db.session.scalar(select(Officer).where(Officer.email == email))
    if officer is None:
        officer = Officer(email=email, name="Megan Officer", is_admin=True)
        db.session.add(officer)
        db.session.commit()
    with client.session_transaction() as sess:
        sess["_user_id"] = str(officer.id)
        sess["_fresh"] = True
    return officer


def eastern(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    """An aware instant from a New York wall time (tests only; the app uses timezones.localize)."""
    from forum.core.timezones import localize

    return localize(datetime(y, mo, d, h, mi), NY).instant
