"""Recordings and materials of webinar sessions, and the "recording available" mail.

People register partway through a series, and the sessions they missed are what they
want next: so materials are per session, each public or for registrants only, and

* the event page lists the public ones; registrants see all of them on their signed-link
  pages (join link after the end, preferences) and in their personal calendar files;
* each session's registrants get one "recording available" mail, sent by the scheduler's
  `recordings` job (exactly once per session through `run_once`, one body per zone group
  through `list_messages`, so a large series costs no time in the officer's request);
* a late registrant's welcome lists the past sessions' materials ("It isn't too late").
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, String, cast, exists, literal, select

from forum.common import subjects
from forum.common.audience import active_subscriptions
from forum.common.jobs import JobReport, register_job, run_reported
from forum.core import clock
from forum.core.extensions import db
from forum.core.urls import external_url
from forum.mail.compose import ListOptions
from forum.mail.list_copies import list_messages
from forum.mail.outbox import enqueue_copies
from forum.models import Event, JobRun, Material, Session, Subscription
from forum.models.events import MATERIAL_KINDS

JOB_KIND = "recording"


class MaterialError(ValueError):
    """Input an officer can fix; `field` names the form field."""

    def __init__(self, message: str, field: str = "url"):
        super().__init__(message)
        self.field = field


def add_material(
    session: Session,
    *,
    url: str,
    kind: str = "recording",
    title: str = "",
    public: bool = False,
    hold_for_captions: bool = False,
) -> Material:
    """Attach a link to a session (the caller commits); the mail follows from the job."""
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise MaterialError(_("Give the full web address, starting with https://."))
    if len(url) > 500:
        raise MaterialError(_("That address is longer than 500 characters."))
    if kind not in MATERIAL_KINDS:
        raise MaterialError(_("Choose one of: %(kinds)s.", kinds=', '.join(MATERIAL_KINDS)), field="kind")
    material = Material(
        session=session,
        url=url,
        kind=kind,
        title=(title or "").strip()[:200],
        public=public,
        position=len(session.materials),
        hold_for_captions=hold_for_captions,
    )
    db.session.add(material)
    db.session.flush()
    return material


def remove_material(material: Material) -> None:
    db.session.delete(material)


def offer_to_new_registrants(event: Event, offer: bool) -> None:
    """Whether the event, once over, takes registrations for its recordings ("Register for
    the recordings" on its page; the welcome carries what is there, the recordings job the
    rest). Off by default: an ended event has no form unless the officer wants one."""
    event.recordings_signup = offer


def public_materials(event: Event) -> list[tuple[Session, list[Material]]]:
    """(session, its public materials) for the public event page, in session order."""
    return [
        (s, [m for m in s.materials if m.public])
        for s in event.sessions
        if any(m.public for m in s.materials)
    ]


def past_for_registrant(event: Event, at: datetime | None = None) -> list[tuple[Session, list[Material]]]:
    """Sessions already over, with every material (a registrant may see all), for the welcome."""
    at = at or clock.now()
    return [(s, list(s.materials)) for s in event.active_sessions if s.ends_at <= at and s.materials]


# --- the "recording available" mail ----------------------------------------------------------


def due_sessions(at: datetime, event: Event | None = None) -> list[Session]:
    """Sessions over by `at` with at least one material and no mail yet: the job's work."""
    target = literal("session:").concat(cast(Session.id, String))
    mailed = exists().where(JobRun.kind == JOB_KIND, JobRun.target == target)
    stmt = (
        select(Session)
        .join(Event)
        .where(
            Session.webinar_clause(),
            Session.ends_at <= at,
            Session.id.in_(select(Material.session_id)),
            ~mailed,
            ~Session.id.in_(_waiting_for_captions()),
        )
        .order_by(Session.ends_at, Session.id)
    )
    if event is not None:
        stmt = stmt.where(Session.event_id == event.id)
    return list(db.session.scalars(stmt))


def _waiting_for_captions() -> Select[Any]:
    """Sessions with a material whose officer said "send when captions are ready" and whose
    captions have not come yet: their mail waits (the next run after captions sends it)."""
    return select(Material.session_id).where(
        Material.hold_for_captions, Material.captions_url == "", Material.captions_vtt == ""
    )


def run(at: datetime, report: JobReport, event: Event | None = None) -> None:
    """Scheduler job: one "recording available" mail per session to its registrants."""
    for session in due_sessions(at, event):
        run_reported(
            report,
            f"recording {session.event.slug} session {session.id}",
            JOB_KIND,
            f"session:{session.id}",
            "available",
            session.ends_at,
            partial(send, session),
        )


def send(session: Session) -> tuple[int, str]:
    """Queue the mail to every active registrant (idempotent per session and registrant)."""
    event = session.event
    copies = list_messages(
        event,
        active_subscriptions(event, include_no_mail=True),
        ListOptions(
            subject=subjects.session_subject(_l("Recording available"), session),
            template="recording",
            context={
                "session": session,
                "materials": list(session.materials),
                "event_url": external_url("public.event", slug=event.slug),
            },
            automated=True,
            posting_open=False,
        ),
    )
    count = enqueue_copies(copies, kind="recording", key=f"recording:{session.id}", event_id=event.id)
    return count, ""


def registrant_materials(subscription: Subscription) -> list[tuple[Session, list[Material]]]:
    """What an active registrant may see of their event's past sessions (preferences page)."""
    if not subscription.is_active:
        return []
    return past_for_registrant(subscription.event)


register_job("recordings", 'one "recording available" mail per webinar session', run)
