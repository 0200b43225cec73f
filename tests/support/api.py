"""Helpers for JSON API tests: an officer with a bearer token, and events built directly."""

from __future__ import annotations

from datetime import datetime

from forum.core.extensions import db
from forum.events import service as events
from forum.models import ApiToken, Event, EventPanelist, Officer, Panelist, Session


def officer_token(email: str = "officer@forum.test") -> dict[str, str]:
    """Authorization headers of a fresh officer's API token."""
    officer = Officer.by_email(email) or Officer(email=email, name="Officer", is_admin=True)
    db.session.add(officer)
    _, raw = ApiToken.issue(officer, name="tests")
    db.session.commit()
    return {"Authorization": f"Bearer {raw}"}


def make_event(
    slug: str,
    days: list[tuple[datetime, datetime]],
    *,
    kind: str = "eforum",
    zone: str = "America/New_York",
    publish: bool = True,
    panelists: list[tuple[str, str]] = (),  # type: ignore[assignment]
) -> Event:
    """An event with sessions at the given wall times and panelists (name, role)."""
    event = Event(slug=slug, title=slug.replace("-", " ").title(), kind=kind, timezone=zone)
    db.session.add(event)
    for position, (start, end) in enumerate(days):
        session = Session(position=position)
        events.set_session_times(session, start, end, zone)
        event.sessions.append(session)
    for position, (name, role) in enumerate(panelists):
        panelist = Panelist(name=name, bio=f"**{name}** has a bio.", title="Librarian")
        event.panelist_links.append(EventPanelist(panelist=panelist, role=role, position=position))
    if publish:
        events.publish_event(event)
    db.session.commit()
    return event
