"""Who may see an e-forum's pages, and in which zone: the `discussion` blueprint, the
e-forum lookup, the reader grant a subscriber's or moderator's signed link leaves in the
session, the remembered posting link, and the reader's zone.

Who may read: anyone when the archive is public; otherwise officers, moderators and
subscribers who came through their signed link (remembered in the session for the
forum). The same visit remembers a subscriber's posting link, so the archive pages
can offer "Reply" on each post. Times are shown in the reader's zone: `?tz=` or the `tz`
cookie the page's script sets from the browser, else the forum's home zone.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, request, session
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from forum.core import clock, i18n, timezones
from forum.core.extensions import db
from forum.core.tokens import TokenError, read_token
from forum.discussion import service as discussion
from forum.mail.links import token_max_age
from forum.models import Event, EventPanelist, Participant, Subscription
from forum.team import roles

bp = Blueprint("discussion", __name__)


# --- access ------------------------------------------------------------------------------------


def _event_or_404(slug: str) -> Event:
    event = Event.by_slug(slug)
    if event is None or not event.is_eforum or (not event.is_public and not _is_officer(event)):
        abort(404, description=_l("There is no e-forum here."))
    return event


def _is_officer(event: Event) -> bool:
    """A signed-in officer with a role on this event (any role: they see its drafts and
    archive); an officer of other events is a reader like anyone else here."""
    if not getattr(current_user, "is_authenticated", False):
        return False
    return roles.can(current_user, roles.EVENT_VIEW, event)  # type: ignore[arg-type]


def _grant(key: str, event_id: int) -> None:
    granted = set(session.get(key, []))
    granted.add(event_id)
    session[key] = sorted(granted)


def _granted(key: str, event_id: int) -> bool:
    return event_id in session.get(key, [])


def _remember_poster(event_id: int, token: str) -> None:
    """Keep the subscriber's signed posting link for this forum, beside the reader grant."""
    links = dict(session.get("forum_post_links", {}))
    links[str(event_id)] = token
    session["forum_post_links"] = links


def poster_token(event: Event) -> str | None:
    """The remembered posting link for this forum, while it is still valid and the forum open."""
    token = session.get("forum_post_links", {}).get(str(event.id))
    if not token:
        return None
    sub = _subscription_from_token(token)
    if sub is None or sub.event_id != event.id:
        return None
    if discussion.closed_reason(event, clock.now()):
        return None
    return token


def _subscription_from_token(token: str) -> Subscription | None:
    try:
        sub_id = read_token("post", token, token_max_age("post"))
    except TokenError:
        return None
    sub = db.session.get(Subscription, sub_id) if isinstance(sub_id, int) else None
    if sub is not None and sub.is_active:
        i18n.use_locale(sub.participant.language)  # the compose page in the poster's language
        return sub
    return None


def _panelist_moderator(event: Event, token: str | None) -> EventPanelist | None:
    """The moderator a hold notice's signed link was made for, if still a moderator."""
    if not token:
        return None
    try:
        payload = read_token("moderate", token, token_max_age("moderate"))
    except TokenError:
        return None
    if not (isinstance(payload, list) and len(payload) == 2 and payload[0] == event.id):
        return None
    return next(
        (
            link
            for link in event.panelist_links
            if link.panelist_id == payload[1] and link.role == "moderator"
        ),
        None,
    )


def _require_reader(event: Event) -> None:
    """Public archives are open; others need an officer, a moderator or a subscriber's link."""
    token = request.args.get("t")
    if token:
        sub = _subscription_from_token(token)
        is_subscriber = sub is not None and sub.event_id == event.id
        if is_subscriber:
            _remember_poster(event.id, token)
        if is_subscriber or _panelist_moderator(event, token) is not None:
            _grant("forum_readers", event.id)
    if event.archive_public or _is_officer(event) or _granted("forum_readers", event.id):
        return
    abort(
        403,
        description=_l("This e-forum's archive is for its subscribers. "
        "Open it from the link in any message from the list."),
    )


# --- reader's zone --------------------------------------------------------------------------------


def reader_zone(event: Event, participant: Participant | None = None) -> str:
    """?tz=, then the zone remembered from it, then the participant's own (a signed posting
    link tells who reads), then the e-forum's."""
    own = participant.timezone if participant is not None else None
    return timezones.reader_zone(request.args.get("tz"), request.cookies.get("tz"), own, fallback=event.timezone)


def _with_zone_cookie(resp: Response) -> Response:
    zone = request.args.get("tz")
    if zone and timezones.is_zone(zone):
        resp.set_cookie("tz", zone, max_age=365 * 86400, samesite="Lax")
    return resp

