"""The scheduler's `mentoring` job: window openings, check-ins due, quiet pairs, the year's end.

Every unit goes through `run_once` with its own key (a check-in, a quiet-pair alert per
pair and 60-day period, a certificate per application), so a rerun or a catch-up after
downtime sends nothing twice; a check-in that came due during downtime goes out once, late.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from functools import partial

from flask_babel import gettext as _
from sqlalchemy import select

from forum.ce.certificates import CODE_ALPHABET, Verified, code_url, participation_pdf, register_finder
from forum.common.jobs import JobReport, register_job, run_reported
from forum.core import i18n, timezones
from forum.core.extensions import db
from forum.mail.compose import build_message
from forum.mail.headers import address
from forum.mail.outbox import enqueue
from forum.mentoring import evaluations, outreach, pairs
from forum.models import Event, MentoringApplication, MentoringCheckIn, MentoringMatch
from forum.subscriptions.erasure import is_erased

MAX_PER_RUN = 500


def send_due_checkins(at: datetime, report: JobReport) -> None:
    due = db.session.scalars(
        select(MentoringCheckIn)
        .join(MentoringMatch)
        .where(
            MentoringCheckIn.sent_at.is_(None),
            MentoringCheckIn.due_at <= at,
            MentoringMatch.status == "active",
        )
        .order_by(MentoringCheckIn.due_at, MentoringCheckIn.id)
        .limit(MAX_PER_RUN)
    ).all()
    for checkin_id in [c.id for c in due]:
        checkin = db.session.get(MentoringCheckIn, checkin_id)
        if checkin is None or checkin.sent_at is not None:
            continue
        run_reported(
            report,
            f"mentoring check-in {checkin.id}",
            "mentoring-checkin",
            f"checkin:{checkin.id}",
            "once",
            checkin.due_at,
            partial(pairs.send_checkin, checkin, at),
        )


def alert_quiet(at: datetime, report: JobReport) -> None:
    """A pair nobody has answered a check-in for in two months: the officer is told once per quiet spell."""
    for match in db.session.scalars(
        select(MentoringMatch).where(
            MentoringMatch.status == "active", MentoringMatch.last_heard_at <= at - pairs.QUIET_AFTER
        )
    ).all():
        heard = match.last_heard_at
        if heard is None:
            continue

        def send(match: MentoringMatch = match) -> tuple[int, str]:
            pairs.alert_officer(match, "quiet", _("Neither has answered a check-in for two months."))
            match.quiet_alerted_at = at
            return 1, "quiet"

        run_reported(
            report,
            f"mentoring quiet pair {match.id}",
            "mentoring-quiet",
            f"match:{match.id}",
            f"{heard:%Y%m%d}",
            at,
            send,
        )


def new_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(12))
    return f"M{raw[:3]}-{raw[3:7]}-{raw[7:]}"


def certificate_mail(match: MentoringMatch, side: MentoringApplication, at: datetime) -> tuple[int, str]:
    if not side.participant.email or side.status != "active":
        return 0, "not active"
    side.certificate_code = side.certificate_code or new_code()
    language = side.participant.language
    with i18n.in_locale(language):  # the mail and the PDF's words and dates in their language
        programme = match.cycle.programme
        home = programme.timezone
        first = timezones.format_date(timezones.to_zone(match.started_at, home), weekday=False)
        last = timezones.format_date(timezones.to_zone(match.ends_at, home), weekday=False)
        role = _("mentor") if side.role == "mentor" else _("mentee")
        other = match.mentee if side.role == "mentor" else match.mentor
        pdf = participation_pdf(
            name=side.name,
            title=f"{programme.title}, {match.cycle.name}",
            lines=[_("as a %(role)s, with %(other)s", role=role, other=other.name), f"{first} – {last}"],
            code=side.certificate_code,
            issued=timezones.format_date(timezones.to_zone(at, home), weekday=False),
        )
        msg = build_message(
            to=address(side.participant.email, side.name),
            subject=_("Your certificate: %(title)s", title=programme.title),
            template="mentoring_certificate",
            context={
                "me": side,
                "match": match,
                "programme": programme,
                "other": other,
                "verify_url": code_url(side.certificate_code),
            },
            headers={"Auto-Submitted": "auto-generated"},
            language=language,
        )
    msg.add_attachment(
        pdf,
        maintype="application",
        subtype="pdf",
        filename=f"certificate-{programme.slug}-{side.certificate_code}.pdf",
    )
    enqueue(msg, kind="mentoring-certificate", key=f"mentoring-certificate:{match.id}:{side.id}")
    return 1, "certificate"


@register_finder
def verify(code: str) -> Verified | None:
    """The public verification page's answer for a mentoring certificate's code: the name,
    the programme and cycle, the dates of the year; nothing else (None once the person is erased)."""
    raw = "".join(c for c in code.upper() if c.isalnum())
    if len(raw) != 13 or not raw.startswith("M"):
        return None
    side = db.session.scalar(
        select(MentoringApplication).where(
            MentoringApplication.certificate_code == f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"
        )
    )
    match = pairs.current_match(side) if side is not None else None
    if side is None or match is None or not side.name or is_erased(side.participant):
        return None
    home = match.cycle.programme.timezone
    first = timezones.format_date(timezones.to_zone(match.started_at, home), weekday=False)
    last = timezones.format_date(timezones.to_zone(match.ends_at, home), weekday=False)
    return Verified(
        name=side.name,
        title=f"{match.cycle.programme.title}, {match.cycle.name}",
        detail=f"{first} – {last}",
        issued=last,
        code=side.certificate_code or "",
    )


def complete_due(at: datetime, report: JobReport) -> None:
    """Pairs that ran their length: completed, and a certificate for each side."""
    for match in db.session.scalars(
        select(MentoringMatch).where(MentoringMatch.status == "active", MentoringMatch.ends_at <= at)
    ).all():
        for side in (match.mentor, match.mentee):
            run_reported(
                report,
                f"mentoring certificate {match.id}/{side.id}",
                "mentoring-certificate",
                f"match:{match.id}:{side.id}",
                "end",
                match.ends_at,
                partial(certificate_mail, match, side, at),
            )
        match.status = "completed"
        db.session.commit()


def mentoring_job(at: datetime, report: JobReport, event: Event | None = None) -> None:
    for line in outreach.record_openings(at) + outreach.send_due_news(at):
        report.add(line)
    send_due_checkins(at, report)
    alert_quiet(at, report)
    evaluations.send_due(at, report)
    complete_due(at, report)


register_job(
    "mentoring",
    "mentoring: window openings, monthly check-ins, quiet pairs, evaluations, certificates",
    mentoring_job,
)
