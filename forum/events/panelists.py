"""Panelists: the people on an event's page, with their bios, and who appears in which
session. A panelist (their bio) outlives any one event; an event only links to them.
Every door (officer pages, API, demo data) changes them through here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from forum.core.extensions import db
from forum.models import Event, EventPanelist, Panelist, Session

PANELIST_FIELDS = frozenset(("name", "title", "affiliation", "pronouns", "email", "photo_url", "links", "bio"))


def save_panelist(panelist: Panelist | None, values: Mapping[str, Any]) -> Panelist:
    """Create (None) or change a panelist's bio fields. The address is kept lower-case, and
    an empty one is no address (None), so one person is found by it whatever the door."""
    unknown = set(values) - PANELIST_FIELDS
    if unknown:  # a door's bug, not the officer's
        raise ValueError(f"not panelist fields: {', '.join(sorted(unknown))}")
    if panelist is None:
        panelist = Panelist()
        db.session.add(panelist)
    for name, value in values.items():
        if name == "email":
            value = (value or "").strip().lower() or None
        setattr(panelist, name, value)
    return panelist


def attach_panelist(event: Event, panelist: Panelist, role: str) -> EventPanelist:
    """Put a panelist on an event (at the end), or change their role if already there."""
    for link in event.panelist_links:
        if link.panelist_id == panelist.id and panelist.id is not None:
            link.role = role
            return link
    position = max((link.position for link in event.panelist_links), default=0) + 1
    link = EventPanelist(panelist=panelist, role=role, position=position)
    event.panelist_links.append(link)
    return link


def move_panelist(link: EventPanelist, step: int) -> None:
    """Swap a panelist with the neighbour above (step -1) or below (+1) on the page."""
    links = sorted(link.event.panelist_links, key=lambda x: (x.position, x.id or 0))
    for number, item in enumerate(links, start=1):
        item.position = number
    index = links.index(link)
    other = index + step
    if 0 <= other < len(links):
        links[index].position, links[other].position = links[other].position, links[index].position


def detach_panelist(link: EventPanelist) -> None:
    """Take a panelist off an event, and so off each of its sessions."""
    for session in link.event.sessions:
        if link.panelist in session.panelists:
            session.panelists.remove(link.panelist)
    link.event.panelist_links.remove(link)
    db.session.delete(link)


def set_session_panelists(session: Session, panelist_ids: list[int]) -> None:
    """Who appears in this session (shown with it): chosen among the event's panelists;
    ids of anyone else are ignored."""
    on_event = {link.panelist_id: link.panelist for link in session.event.panelist_links}
    session.panelists = [on_event[i] for i in dict.fromkeys(panelist_ids) if i in on_event]
