"""Mail to many about a programme: "tell me when applications open", the call for mentors, and
the newsletter to a cycle's mentors and mentees.

Each is one `FanOut` row recorded in the caller's transaction (an officer's click, or the
job when a window opens); the sender side writes the copies step by step through the
kinds registered here, so nothing proportional to the list happens in a request.
"""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from forum.common import fanout
from forum.common.fanout import Step
from forum.core import clock, i18n, timezones
from forum.core.extensions import db
from forum.core.text import markdown
from forum.core.urls import external_url
from forum.core.validation import control_character_problem
from forum.mail import links
from forum.mail.compose import build_message
from forum.mail.headers import address
from forum.mail.outbox import enqueue
from forum.mentoring.programmes import MentoringError, current_cycle, window_text
from forum.models import (
    Announcement,
    FanOut,
    MentoringApplication,
    MentoringCycle,
    MentoringMatch,
    MentoringMember,
    MentoringProgramme,
    MentoringWatch,
    Participant,
)
from forum.models.base import newest_first
from forum.subscriptions.erasure import Erasure, register_erasure_step
from forum.subscriptions.service import SubscriptionError, get_or_create_participant, normalize_email

CHUNK = 500


# --- "tell me when applications open" -------------------------------------------------------------


def watch(programme: MentoringProgramme, raw_email: str, language: str | None = None) -> MentoringWatch:
    """Ask to be told; a new address confirms first (double opt-in), a known one is noted.
    `language`: the browser's, kept for a new address (the mails come in it)."""
    try:
        email = normalize_email(raw_email)
    except SubscriptionError as exc:
        raise MentoringError(str(exc), field="email") from None
    participant = get_or_create_participant(email, language=language)
    item = db.session.scalar(
        select(MentoringWatch).where(
            MentoringWatch.programme_id == programme.id, MentoringWatch.participant_id == participant.id
        )
    )
    if item is None:
        item = MentoringWatch(
            programme_id=programme.id, participant_id=participant.id, created_at=clock.now()
        )
        db.session.add(item)
        db.session.flush()
    if item.confirmed_at is None and participant.confirmed_at is not None:
        item.confirmed_at = clock.now()
    elif item.confirmed_at is None:
        msg = build_message(
            to=address(participant.email, participant.name),
            subject=_l("Confirm: tell me when applications open for %(title)s", title=programme.title),
            template="mentoring_watch_confirm",
            context={"programme": programme, "confirm_url": watch_confirm_url(item)},
            headers={"Auto-Submitted": "auto-generated"},
            language=participant.language,
        )
        enqueue(msg, kind="mentoring-watch", key=f"mentoring-watch:{item.id}:{clock.now():%Y%m%d%H}")
    db.session.flush()
    return item


def watch_confirm_url(item: MentoringWatch) -> str:
    return links.signed_link("mentoring.watch_confirm", "mentoring-watch", item.id)


def confirm_watch(token: str) -> MentoringWatch | None:
    """The confirm link; raises tokens.TokenError."""
    item = links.linked_row(MentoringWatch, "mentoring-watch", token, lifetime="confirm")
    if item is not None and item.confirmed_at is None:
        item.confirmed_at = clock.now()
        participant = db.session.get(Participant, item.participant_id)
        if participant is not None and participant.confirmed_at is None:
            participant.confirmed_at = clock.now()
    return item


def record_openings(at: datetime) -> list[str]:
    """For each cycle whose window has opened and whose watchers were not told: one fan-out."""
    lines = []
    for cycle in db.session.scalars(
        select(MentoringCycle).where(
            MentoringCycle.opening_mailed_at.is_(None),
            MentoringCycle.opens_at <= at,
            MentoringCycle.closes_at > at,
        )
    ):
        cycle.opening_mailed_at = at
        fanout.record("mentoring-open", f"mentoring-open:{cycle.id}", event_id=None, target_id=cycle.id)
        lines.append(f"cycle {cycle.id}: watchers to be told")
    db.session.commit()
    return lines


# --- officers' mail to many -------------------------------------------------------------------------


def _checked_text(subject: str, body: str) -> tuple[str, str]:
    subject, body = subject.strip(), body.strip()
    if not subject or control_character_problem(subject) or len(subject) > 200:
        raise MentoringError(_("Write a subject of up to 200 characters on one line."), field="subject")
    if not body or len(body) > 20000:
        raise MentoringError(_("Write the message (up to 20,000 characters)."), field="body")
    return subject, body


def call_for_mentors(cycle: MentoringCycle, subject: str, body: str) -> FanOut | None:
    """Past mentors of the programme and members on the member list, in one step."""
    subject, body = _checked_text(subject, body)
    return fanout.record(
        "mentoring-call",
        f"mentoring-call:{cycle.id}:{clock.now():%Y%m%d%H%M%S}",
        event_id=None,
        target_id=cycle.id,
        params={"subject": subject, "body": body},
    )


def newsletter(
    cycle: MentoringCycle, subject: str, body: str, send_wall: datetime | None = None
) -> Announcement:
    """Everyone in an active match of the cycle, as a timed announcement (the events area's
    `Announcement`: the wall time in the programme's zone is the truth, a spring-forward gap is
    refused). No time: it goes now; a time: the mentoring job sends it then. Either way the
    copies are one fan-out, written by the sender side."""
    subject, body = _checked_text(subject, body)
    item = Announcement(mentoring_cycle_id=cycle.id, kind="newsletter", subject=subject, body=body)
    zone = cycle.programme.timezone
    wall = send_wall or timezones.to_zone(clock.now(), zone).replace(tzinfo=None, second=0, microsecond=0)
    try:
        item.set_send_time(wall, zone)
    except timezones.TimeInputError as exc:
        raise MentoringError(str(exc), field="send_at") from None
    if send_wall is not None and item.send_at <= clock.now():
        raise MentoringError(
            _("Choose a time in the future, or leave it empty to send now."), field="send_at"
        )
    item.status = "scheduled"
    db.session.add(item)
    db.session.flush()
    if send_wall is None:
        release(item, clock.now())
    return item


def release(item: Announcement, at: datetime) -> FanOut | None:
    """A newsletter whose time has come: one fan-out to the cycle's pairs, and it is sent."""
    fan = fanout.record(
        "mentoring-news",
        f"mentoring-news:{item.id}",
        event_id=None,
        target_id=item.mentoring_cycle_id,
        params={"subject": item.subject, "body": item.body},
    )
    item.status, item.sent_at = "sent", at
    return fan


def send_due_news(at: datetime) -> list[str]:
    """The mentoring job: each newsletter whose time has come goes out once (the status guards it)."""
    lines = []
    for item in db.session.scalars(
        select(Announcement)
        .where(
            Announcement.mentoring_cycle_id.is_not(None),
            Announcement.status == "scheduled",
            Announcement.send_at <= at,
        )
        .order_by(Announcement.send_at, Announcement.id)
    ).all():
        release(item, at)
        lines.append(f"newsletter {item.id}: to the pairs of cycle {item.mentoring_cycle_id}")
    db.session.commit()
    return lines


def newsletters(cycle: MentoringCycle) -> list[Announcement]:
    return newest_first(Announcement, Announcement.mentoring_cycle_id == cycle.id, by=Announcement.send_at)


def _recipients(fan: FanOut, cycle: MentoringCycle) -> list[tuple[str, str, str | None]]:
    """(address, name, language) of a fan-out's people, in a stable order, each once."""
    seen: dict[str, tuple[str, str, str | None]] = {}
    if fan.kind == "mentoring-open":
        rows = db.session.execute(
            select(Participant.email, Participant.name, Participant.language)
            .join(MentoringWatch, MentoringWatch.participant_id == Participant.id)
            .where(
                MentoringWatch.programme_id == cycle.programme_id, MentoringWatch.confirmed_at.is_not(None)
            )
            .order_by(Participant.id)
        )
        people = [(e, n, lang) for e, n, lang in rows]
    elif fan.kind == "mentoring-call":
        rows = db.session.execute(
            select(Participant.email, MentoringApplication.name, Participant.language)
            .join(MentoringApplication, MentoringApplication.participant_id == Participant.id)
            .join(MentoringCycle, MentoringApplication.cycle_id == MentoringCycle.id)
            .where(
                MentoringCycle.programme_id == cycle.programme_id,
                MentoringApplication.role == "mentor",
                MentoringApplication.status != "withdrawn",
            )
            .order_by(Participant.id)
        )
        people = [(e, n, lang) for e, n, lang in rows]
        people += [
            (k, "", None)
            for k in db.session.scalars(select(MentoringMember.key).order_by(MentoringMember.id))
            if "@" in k
        ]
    else:
        people = []
        for match in db.session.scalars(
            select(MentoringMatch).where(
                MentoringMatch.cycle_id == cycle.id, MentoringMatch.status == "active"
            )
        ):
            people += [
                (side.participant.email, side.name, side.participant.language)
                for side in (match.mentor, match.mentee)
            ]
    for email, name, language in people:
        if email and email.lower() not in seen:
            seen[email.lower()] = (email, name, language)
    return list(seen.values())


def _expand(fan: FanOut) -> Step:
    cycle = db.session.get(MentoringCycle, fan.target_id)
    if cycle is None:
        return 0, "cycle deleted", None
    people = _recipients(fan, cycle)
    start = int(fan.params.get("after") or 0)
    batch = people[start : start + CHUNK]
    for offset, (email, name, language) in enumerate(batch, start=start):
        with i18n.in_locale(language):
            msg = _copy(fan, cycle, email, name, language)
        enqueue(msg, kind=fan.kind, key=f"{fan.key}:{offset}")
    after = start + len(batch)
    return len(batch), f"{after} of {len(people)}", (after if after < len(people) else None)


def _copy(fan: FanOut, cycle: MentoringCycle, email: str, name: str, language: str | None) -> EmailMessage:
    """One person's copy, built inside their locale (the officer's own words stay as written)."""
    programme = cycle.programme
    if fan.kind == "mentoring-open":
        subject = _("Applications are open: %(title)s, %(cycle)s", title=programme.title, cycle=cycle.name)
        context = {"window": window_text(cycle, programme.timezone), "apply_url": public_url(programme)}
        template = "mentoring_open"
    else:
        subject = str(fan.params.get("subject", ""))
        context = {
            "body_html": markdown(str(fan.params.get("body", ""))),
            "body": fan.params.get("body", ""),
        }
        template = "mentoring_news"
    return build_message(
        to=address(email, name),
        subject=subject,
        template=template,
        context={
            "programme": programme,
            "cycle": cycle,
            "name": name,
            "page_url": public_url(programme),
            **context,
        },
        headers={"Auto-Submitted": "auto-generated"},
        language=language,
    )


def public_url(programme: MentoringProgramme) -> str:
    return external_url("mentoring.programme", slug=programme.slug)


for _kind in ("mentoring-open", "mentoring-call", "mentoring-news"):
    fanout.register_kind(_kind, _expand)


def next_opening_text(programme: MentoringProgramme, zone: str) -> str:
    cycle = current_cycle(programme)
    if cycle is None or cycle.opens_at <= clock.now():
        return ""
    local = timezones.to_zone(cycle.opens_at, zone)
    return f"{timezones.format_date(local)}, {timezones.format_time(local)} {local.tzname()}"


@register_erasure_step
def _forget_watches(erasure: Erasure) -> None:
    for item in db.session.scalars(
        select(MentoringWatch).where(MentoringWatch.participant_id == erasure.participant_id)
    ):
        db.session.delete(item)
