"""Confirmed matches: the introduction, a year of check-ins, the officer's alerts, the end.

Confirming a match stores it and, in the same transaction, enqueues the introduction to
both people and lays out their check-ins: one per `checkin_months` over the programme's
length, each due at the person's own hour in their own zone on the same day of the month
as the match began (wall time is the truth, so 10 AM stays 10 AM across DST changes; an
hour skipped by spring-forward moves to the next). The scheduler's `mentoring` job mails
what is due (`run_once` per check-in), alerts the officer about quiet pairs, and at the
end marks pairs completed and mails both a certificate of participation.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select

from forum.core import clock, i18n, timezones
from forum.core.extensions import db
from forum.core.tokens import make_stable_token, read_stable_token
from forum.core.urls import external_url
from forum.mail.compose import build_message
from forum.mail.headers import address
from forum.mail.outbox import enqueue
from forum.mentoring import applications
from forum.mentoring.matching import explain
from forum.mentoring.programmes import MentoringError, weights_of
from forum.models import (
    MentoringApplication,
    MentoringCheckIn,
    MentoringCycle,
    MentoringDecline,
    MentoringMatch,
)
from forum.models.base import add_once
from forum.models.mentoring import CHECKIN_ANSWERS

QUIET_AFTER = timedelta(days=60)
#: waking hours for suggested first meetings, local to each person
WAKING = (9, 19)


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


local_instant = timezones.hour_on  # `hour`:00 on a day in a zone (spring-forward: the next hour)


def checkin_count(match: MentoringMatch) -> int:
    programme = match.cycle.programme
    return programme.length_months // programme.checkin_months


def checkin_due(match: MentoringMatch, side: MentoringApplication, number: int) -> datetime:
    start = timezones.to_zone(match.started_at, side.timezone).date()
    months = number * match.cycle.programme.checkin_months
    return local_instant(add_months(start, months), side.checkin_hour, side.timezone)


# --- confirming -------------------------------------------------------------------------------------


def _active_mentees(mentor: MentoringApplication) -> int:
    return len(
        list(
            db.session.scalars(
                select(MentoringMatch.id).where(
                    MentoringMatch.mentor_id == mentor.id, MentoringMatch.status == "active"
                )
            )
        )
    )


def create_match(
    cycle: MentoringCycle, mentor: MentoringApplication, mentee: MentoringApplication, *, manual: bool = False
) -> MentoringMatch:
    """One pair, checked: active applications of this cycle, in the right roles, not the same
    person, the mentee unmatched, the mentor with a place left. A pair the officer declined
    is only made by hand (the override)."""
    if mentor.cycle_id != cycle.id or mentee.cycle_id != cycle.id:
        raise MentoringError(_("Both must have applied in this cycle."), field="mentor")
    if mentor.role != "mentor" or mentee.role != "mentee":
        raise MentoringError(_("Pair a mentor with a mentee."), field="mentor")
    if "active" not in (mentor.status, mentee.status) or mentor.status != mentee.status:
        raise MentoringError(_("Both applications must be active."), field="mentor")
    if mentor.participant_id == mentee.participant_id:
        raise MentoringError(_("Nobody can mentor themselves."), field="mentor")
    if _active_mentees(mentor) >= mentor.capacity:
        raise MentoringError(
            ngettext(
                "%(name)s offered to take %(num)d mentee and has no place left.",
                "%(name)s offered to take %(num)d mentees and has no place left.",
                mentor.capacity,
                name=mentor.name,
            ),
            field="mentor",
        )
    if db.session.scalar(
        select(MentoringMatch.id).where(
            MentoringMatch.mentee_id == mentee.id, MentoringMatch.status == "active"
        )
    ):
        raise MentoringError(_("%(name)s already has a mentor.", name=mentee.name), field="mentee")
    now = clock.now()
    score, reasons = explain(cycle, mentor, mentee, weights_of(cycle))
    home = cycle.programme.timezone
    start_day = timezones.to_zone(now, home).date()
    ends = local_instant(add_months(start_day, cycle.programme.length_months), 12, home)
    match = MentoringMatch(
        cycle=cycle,
        mentor=mentor,
        mentee=mentee,
        score=score,
        reasons=reasons,
        manual=manual,
        started_at=now,
        ends_at=ends,
        last_heard_at=now,
    )
    db.session.add(match)
    db.session.flush()
    for side in (mentor, mentee):
        for number in range(1, checkin_count(match) + 1):
            db.session.add(
                MentoringCheckIn(
                    match=match, application=side, number=number, due_at=checkin_due(match, side, number)
                )
            )
    send_introduction(match)
    cycle.matched_at = cycle.matched_at or now
    db.session.flush()
    return match


def confirm_matches(cycle: MentoringCycle, chosen: list[tuple[int, int, bool]]) -> list[MentoringMatch]:
    """The officer's choices (mentor id, mentee id, chosen by hand?) in one go, after the window."""
    if clock.now() < cycle.closes_at:
        raise MentoringError(_("Match after the application window closes."), field="mentor")
    made = []
    for mentor_id, mentee_id, manual in chosen:
        mentor = db.session.get(MentoringApplication, mentor_id)
        mentee = db.session.get(MentoringApplication, mentee_id)
        if mentor is None or mentee is None:
            raise MentoringError(_("There is no such application."), field="mentor")
        made.append(create_match(cycle, mentor, mentee, manual=manual))
    return made


def decline(mentor: MentoringApplication, mentee: MentoringApplication) -> None:
    """Never suggest this pair again."""
    add_once(MentoringDecline(mentor_id=mentor.id, mentee_id=mentee.id))


# --- the introduction ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    mine: str
    theirs: str


def meeting_slots(
    me: MentoringApplication, other: MentoringApplication, after: datetime, count: int = 3
) -> list[Slot]:
    """Whole hours on weekdays of the next two weeks inside both people's waking hours, one per day."""
    slots: list[Slot] = []
    start = timezones.to_zone(after, me.timezone).date() + timedelta(days=2)
    for offset in range(14):
        day = start + timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        for hour in range(WAKING[0], WAKING[1]):
            instant = local_instant(day, hour, me.timezone)
            theirs = timezones.to_zone(instant, other.timezone)
            if WAKING[0] <= theirs.hour < WAKING[1] and theirs.weekday() < 5:
                slots.append(Slot(_stamp(instant, me.timezone), _stamp(instant, other.timezone)))
                break
        if len(slots) >= count:
            break
    return slots


def _stamp(instant: datetime, zone: str) -> str:
    local = timezones.to_zone(instant, zone)
    return f"{timezones.format_date(local)}, {timezones.format_time(local)} {local.tzname()}"


def worksheet_url(match: MentoringMatch) -> str:
    return external_url("mentoring.worksheet", slug=match.cycle.programme.slug)


def send_mail(to: MentoringApplication, subject: str, template: str, key: str, **context: object) -> None:
    """One mail to one side of a pair. Callers build the subject and context inside
    `i18n.in_locale(to.participant.language)` (dates, labels), so all of it is in their language."""
    msg = build_message(
        to=address(to.participant.email, to.name),
        subject=subject,
        template=template,
        context={
            "me": to,
            "programme": to.cycle.programme,
            "manage_url": applications.manage_url(to),
            **context,
        },
        headers={"Auto-Submitted": "auto-generated"},
        language=to.participant.language,
    )
    enqueue(msg, kind=template.replace("_", "-"), key=key)


def send_introduction(match: MentoringMatch) -> None:
    now = clock.now()
    for me, other in ((match.mentor, match.mentee), (match.mentee, match.mentor)):
        if not me.participant.email:
            continue
        with i18n.in_locale(me.participant.language):
            _introduce(match, me, other, now)


def _introduce(
    match: MentoringMatch, me: MentoringApplication, other: MentoringApplication, now: datetime
) -> None:
    """The introduction to one side (inside their locale: dates, times and words in it)."""
    send_mail(
        me,
        _(
            "Meet your %(role)s: %(name)s",
            role=_("mentee") if me.role == "mentor" else _("mentor"),
            name=other.name,
        ),
        "mentoring_intro",
        f"mentoring-intro:{match.id}:{me.id}",
        match=match,
        other=other,
        my_now=_stamp(now, me.timezone),
        their_now=_stamp(now, other.timezone),
        slots=meeting_slots(me, other, now),
        worksheet_url=worksheet_url(match),
        checkins=checkin_count(match),
        first_checkin=_stamp(checkin_due(match, me, 1), me.timezone),
    )


# --- check-ins ----------------------------------------------------------------------------------------


def checkin_url(checkin: MentoringCheckIn, answer: str = "") -> str:
    token = make_stable_token("mentoring-checkin", checkin.id)
    return external_url("mentoring.checkin", token=token, answer=answer or None)


def read_checkin_token(token: str) -> MentoringCheckIn | None:
    value = read_stable_token("mentoring-checkin", token)
    return db.session.get(MentoringCheckIn, value) if isinstance(value, int) else None


def send_checkin(checkin: MentoringCheckIn, at: datetime) -> tuple[int, str]:
    """Mail one check-in (in run_once's transaction)."""
    me = checkin.application
    match = checkin.match
    other = match.mentee if me.id == match.mentor_id else match.mentor
    checkin.sent_at = at
    if not me.participant.email:
        return 0, "erased"
    with i18n.in_locale(me.participant.language):
        _send_checkin(checkin, me, other)
    return 1, f"check-in {checkin.number}"


def _send_checkin(checkin: MentoringCheckIn, me: MentoringApplication, other: MentoringApplication) -> None:
    send_mail(
        me,
        _("How is it going with %(name)s?", name=other.name),
        "mentoring_checkin",
        f"mentoring-checkin:{checkin.id}",
        other=other,
        checkin=checkin,
        answers=[(a, answer_label(a), checkin_url(checkin, a)) for a in CHECKIN_ANSWERS],
        total=checkin_count(checkin.match),
    )


def answer_label(answer: str) -> str:
    return {
        "going-well": _("Going well"),
        "could-be-better": _("Could be better"),
        "not-working": _("It is not working"),
    }.get(answer, answer)


def record_answer(checkin: MentoringCheckIn, answer: str, note: str = "") -> None:
    """A one-click answer (and optional note); answering again changes it. "Not working" tells
    the officer at once, in the same transaction."""
    if answer not in CHECKIN_ANSWERS:
        raise MentoringError(_("Choose one of the answers."), field="answer")
    if len(note) > 2000:
        raise MentoringError(_("Keep the note under 2000 characters."), field="note")
    first_time = checkin.answer != answer
    checkin.answer, checkin.note, checkin.answered_at = answer, note.strip(), clock.now()
    checkin.match.last_heard_at = clock.now()
    if answer == "not-working" and first_time:
        alert_officer(
            checkin.match,
            "not-working",
            _("%(name)s says the match is not working.", name=checkin.application.name),
        )
    db.session.flush()


def alert_officer(match: MentoringMatch, what: str, text: str) -> None:
    programme = match.cycle.programme
    if not programme.contact_email:
        return
    msg = build_message(
        to=address(programme.contact_email, programme.title),
        subject=_("Mentoring: %(mentor)s and %(mentee)s", mentor=match.mentor.name, mentee=match.mentee.name),
        template="mentoring_alert",
        context={"match": match, "programme": programme, "text": text},
        headers={"Auto-Submitted": "auto-generated"},
    )
    enqueue(msg, kind="mentoring-alert", key=f"mentoring-alert:{match.id}:{what}:{clock.now():%Y%m%d}")


# --- ending early, re-matching --------------------------------------------------------------------


def end_match(match: MentoringMatch, reason: str, *, by: MentoringApplication | None = None) -> None:
    """A pair stops before its time: the other person is told and offered a new match (their
    application stays active, so the matching page lists them again), the pair is never
    suggested again, and their check-ins stop."""
    if match.status != "active":
        return
    match.status, match.ended_at, match.ended_reason = "ended", clock.now(), reason[:200]
    decline(match.mentor, match.mentee)
    partner = None
    if by is not None:
        partner = match.mentee if by.id == match.mentor_id else match.mentor
    for side in (match.mentor, match.mentee) if partner is None else (partner,):
        if side.status == "active" and side.participant.email:
            with i18n.in_locale(side.participant.language):
                send_mail(
                    side,
                    _("Your mentoring match has ended"),
                    "mentoring_ended",
                    f"mentoring-ended:{match.id}:{side.id}",
                    match=match,
                    rematch=side.role == "mentee" or side.capacity > 0,
                )
    alert_officer(match, "ended", _("The match ended: %(reason)s", reason=reason))
    db.session.flush()


def _end_for(item: MentoringApplication, reason: str) -> None:
    for match in db.session.scalars(
        select(MentoringMatch).where(
            MentoringMatch.status == "active",
            (MentoringMatch.mentor_id == item.id) | (MentoringMatch.mentee_id == item.id),
        )
    ):
        text = (
            _("%(name)s left the programme.", name=item.name)
            if reason != "erased"
            else _("a participant left the programme.")
        )
        end_match(match, text, by=item)


applications.END_MATCHES.append(_end_for)


def matches_of(cycle: MentoringCycle) -> list[MentoringMatch]:
    return list(
        db.session.scalars(
            select(MentoringMatch).where(MentoringMatch.cycle_id == cycle.id).order_by(MentoringMatch.id)
        )
    )


def current_match(item: MentoringApplication) -> MentoringMatch | None:
    return db.session.scalar(
        select(MentoringMatch)
        .where((MentoringMatch.mentor_id == item.id) | (MentoringMatch.mentee_id == item.id))
        .order_by(MentoringMatch.id.desc())
    )
