""" "Add to calendar" links: .ics downloads, Google Calendar, Outlook, webcal:// feeds.

Google and Outlook web take the time in the URL; both are given UTC instants
(`...Z`), so the event lands at the right moment whatever zone the reader's calendar
is set to.  Used by the event page (`calendar/_add.html`), the preferences page
(`calendar/_feed_links.html`) and mails.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from flask_babel import gettext as _

from forum.calendars.calendar import details_line, location_for, summary_for
from forum.common import branding
from forum.core.urls import external_url
from forum.models import Event, Participant, Session, Topic

GOOGLE_TEMPLATE = "https://calendar.google.com/calendar/render"
OUTLOOK_COMPOSE = "https://outlook.live.com/calendar/0/action/compose"
OFFICE_COMPOSE = "https://outlook.office.com/calendar/0/action/compose"
OUTLOOK_SUBSCRIBE = "https://outlook.live.com/calendar/0/addfromweb"
OFFICE_SUBSCRIBE = "https://outlook.office.com/calendar/0/addfromweb"


@dataclass(frozen=True)
class SessionLinks:
    ics: str
    google: str
    outlook: str
    office365: str


@dataclass(frozen=True)
class FeedLinks:
    https: str
    webcal: str
    google: str
    outlook: str
    office365: str


def _query(params: dict[str, str]) -> str:
    return urlencode(params, quote_via=quote)


def webcal(url: str) -> str:
    """The same feed URL with the webcal:// scheme calendar apps register for."""
    parts = urlsplit(url)
    return urlunsplit(("webcal", parts.netloc, parts.path, parts.query, ""))


def _utc(dt: datetime, compact: bool) -> str:
    value = dt.astimezone(UTC)
    return value.strftime("%Y%m%dT%H%M%SZ") if compact else value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _details(session: Session) -> str:
    event = session.event
    parts = [event.summary.strip()]  # public links: never the join URL (see join_links)
    parts.append(details_line(event))
    return "\n\n".join(p for p in parts if p)


def google_url(session: Session) -> str:
    params = {
        "action": "TEMPLATE",
        "text": summary_for(session),
        "dates": f"{_utc(session.starts_at, True)}/{_utc(session.ends_at, True)}",
        "details": _details(session),
        "location": location_for(session),
    }
    return f"{GOOGLE_TEMPLATE}?{_query(params)}"


def outlook_url(session: Session, *, office365: bool = False) -> str:
    params = {
        "path": "/calendar/action/compose",
        "rru": "addevent",
        "subject": summary_for(session),
        "startdt": _utc(session.starts_at, False),
        "enddt": _utc(session.ends_at, False),
        "body": _details(session),
        "location": location_for(session),
    }
    return f"{OFFICE_COMPOSE if office365 else OUTLOOK_COMPOSE}?{_query(params)}"


def session_links(session: Session) -> SessionLinks:
    return SessionLinks(
        ics=external_url("feeds.session_ics", slug=session.event.slug, session_id=session.id),
        google=google_url(session),
        outlook=outlook_url(session),
        office365=outlook_url(session, office365=True),
    )


def _subscribe_links(url: str, name: str) -> FeedLinks:
    return FeedLinks(
        https=url,
        webcal=webcal(url),
        google=f"{GOOGLE_TEMPLATE}?{_query({'cid': webcal(url)})}",
        outlook=f"{OUTLOOK_SUBSCRIBE}?{_query({'url': url, 'name': name})}",
        office365=f"{OFFICE_SUBSCRIBE}?{_query({'url': url, 'name': name})}",
    )


def event_links(event: Event) -> dict[str, object]:
    """Download of the whole event, and subscribe links for its public feed."""
    return {
        "ics": external_url("feeds.event_ics", slug=event.slug),
        "feed": _subscribe_links(external_url("feeds.event_feed", slug=event.slug), event.title),
    }


def feed_links(participant: Participant) -> FeedLinks:
    """The participant's secret feed, as webcal:// and for Google/Outlook "add by URL"."""
    url = external_url("feeds.personal", token=participant.feed_token)
    return _subscribe_links(url, _("Forum sessions"))


def catalog_links(topic: Topic | None = None) -> FeedLinks:
    """The organisation's public feed (or one topic's), to subscribe to from the calendar page."""
    if topic is None:
        return _subscribe_links(external_url("feeds.calendar_feed"), branding.current().name)
    return _subscribe_links(
        external_url("feeds.topic_feed", slug=topic.slug), f"{branding.current().name}: {topic.name}"
    )
