"""The rows most tests start from, made one way: events with sessions and panelists,
subscribers, officers, and the outbox read back.

The area helpers (tests/support/calendars.py, live.py, scheduling.py ...) keep their own
defaults (a series with a contact, a digest reader with a name ...) and build through
these, so a change to what a valid event or subscription is lands in one place.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage

from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from forum.core import clock
from forum.core.extensions import db
from forum.events import service as events
from forum.models import (
    Event,
    EventPanelist,
    Officer,
    OutboundMessage,
    Panelist,
    Participant,
    Session,
    Subscription,
)
from forum.subscriptions import service as subscriptions
from tests.support.fanouts import write_fan_outs

NY = "America/New_York"
OFFICER_PASSWORD = "correct horse battery"


def weekly(
    first: datetime, count: int = 2, *, minutes: int = 60, days: int = 7
) -> list[tuple[datetime, datetime]]:
    """Wall times of `count` sessions of `minutes` each, `days` apart from `first`: what
    `make_event` takes for a weekly series (days=1: an e-forum's consecutive days)."""
    starts = [first + timedelta(days=days * i) for i in range(count)]
    return [(start, start + timedelta(minutes=minutes)) for start in starts]


def make_event(
    slug: str,
    walls: Sequence[tuple[datetime, datetime]],
    *,
    kind: str = "eforum",
    zone: str = NY,
    publish: bool = True,
    panelists: Sequence[tuple[str, str]] = (),
    join_url: str = "",
    title: str = "",
    **fields: object,
) -> Event:
    """An event with sessions at the given wall times in `zone` and panelists (name, role),
    published through the events service unless `publish` is false; committed. The title
    is made from the slug unless given."""
    title = title or slug.replace("-", " ").title()
    event = Event(slug=slug, title=title, kind=kind, timezone=zone, **fields)
    db.session.add(event)
    for position, (start, end) in enumerate(walls):
        session = Session(position=position, join_url=join_url)
        events.set_session_times(session, start, end, zone)
        event.sessions.append(session)
    for position, (name, role) in enumerate(panelists):
        panelist = Panelist(name=name, bio=f"**{name}** has a bio.", title="Librarian", affiliation="A Library")
        event.panelist_links.append(EventPanelist(panelist=panelist, role=role, position=position))
    if publish:
        events.publish_event(event)
    db.session.commit()
    return event


def subscribe(
    event: Event,
    email: str,
    name: str = "",
    mode: str = "each",
    status: str = "active",
    timezone: str | None = None,
    posts_approved: int = 0,
) -> Subscription:
    """`email` (a participant, made if new) subscribed to `event`; an active one is
    confirmed, as the sign-up flow leaves it. Committed."""
    participant = Participant.by_email(email)
    if participant is None:
        participant = Participant(email=email, email_key=email.lower(), name=name, timezone=timezone)
        db.session.add(participant)
    subscription = Subscription(
        participant=participant,
        event=event,
        mode=mode,
        status=status,
        confirmed_at=clock.now() if status == "active" else None,
        posts_approved=posts_approved,
    )
    db.session.add(subscription)
    db.session.commit()
    return subscription


#: When `sign_up` signs people up unless told otherwise (the seat and approval tests' NOW).
SIGN_UP_AT = datetime(2025, 1, 10, 15, 0).astimezone()


def sign_up(event: Event, email: str, at: datetime = SIGN_UP_AT) -> Subscription:
    """A confirmed address signing up through the service, as the sign-up page does: a seat,
    the waiting list or the approval queue, as the event decides. Committed."""
    with clock.frozen(at):
        if Participant.by_email(email) is None:
            db.session.add(Participant(email=email, email_key=email, confirmed_at=clock.now()))
            db.session.flush()
        sub = subscriptions.subscribe(event, email, conduct_accepted=True)
        db.session.commit()
    return sub


def make_officer(email: str, name: str = "Pat Officer", password: str = OFFICER_PASSWORD) -> Officer:
    """An officer who can sign in with `password`, made if new; committed. A site
    administrator (every event), as every officer was before roles (forum/team/roles.py)."""
    officer = Officer.by_email(email)
    if officer is None:
        officer = Officer(email=email, name=name, is_admin=True)
        # a cheap hash keeps tests fast; the app's own default (scrypt) is used everywhere else
        officer.password_hash = generate_password_hash(password, method="pbkdf2:sha256:1000")
        db.session.add(officer)
        db.session.commit()
    return officer


def login_officer(client: FlaskClient, email: str = "officer@example.org", name: str = "Megan Officer") -> Officer:
    """Sign an officer in the way Flask-Login remembers one (its session keys)."""
    officer = make_officer(email, name)
    with client.session_transaction() as sess:
        sess["_user_id"] = str(officer.id)
        sess["_fresh"] = True
    return officer


def outbox(kind: str | None = None, recipient: str | None = None) -> list[OutboundMessage]:
    """The queued mail (fan-outs written out first), oldest first."""
    write_fan_outs()
    stmt = select(OutboundMessage).order_by(OutboundMessage.id)
    if kind:
        stmt = stmt.where(OutboundMessage.kind == kind)
    if recipient:
        stmt = stmt.where(OutboundMessage.recipient == recipient)
    return list(db.session.scalars(stmt))


def parsed(row: OutboundMessage) -> EmailMessage:
    return message_from_bytes(row.full_message, policy=policy.default)  # type: ignore[return-value]


def text_of(row: OutboundMessage) -> str:
    part = parsed(row).get_body(preferencelist=("plain",))
    assert part is not None
    return part.get_content()


def html_of(row: OutboundMessage) -> str:
    part = parsed(row).get_body(preferencelist=("html",))
    assert part is not None
    return part.get_content()
