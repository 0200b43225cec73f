"""The mid-year and end-of-year evaluations of a mentoring cycle, on the CE evaluation engine.

Each cycle has two `Evaluation`s (forum.ce's tables: questions, one response per person,
results per question), made with mentoring's default questions when first needed; they
belong to no event, so this module decides who is asked and when. Each member of a pair
is mailed a signed link (no login) half-way through the programme and at its end, at their
own check-in hour in their own zone, in their own language; the link stays open for
`OPEN_DAYS`. Answers are stored through `ce.evaluations.record_answers` (so they follow its
rules) and the officer reads the results per question, with the response rate.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

from flask_babel import gettext as _
from sqlalchemy import delete, func, select

from forum.ce import evaluations as ce_evaluations
from forum.common.jobs import JobReport, run_reported
from forum.core import clock, i18n, timezones
from forum.core.extensions import db
from forum.core.tokens import make_stable_token, read_stable_token
from forum.core.urls import external_url
from forum.mentoring import pairs
from forum.mentoring.programmes import MentoringError
from forum.models import (
    Evaluation,
    EvaluationQuestion,
    EvaluationResponse,
    JobRun,
    MentoringApplication,
    MentoringCycle,
    MentoringMatch,
)
from forum.subscriptions.erasure import Erasure, register_erasure_step

PERIODS = ("midyear", "final")
#: how long a person's link takes answers after it was mailed
OPEN_DAYS = 60
#: a scheduler that was down catches up on invitations this late, no later
LATE = timedelta(days=14)
JOB_KIND = "mentoring-evaluation"

#: the questions a cycle's evaluations start with (stored as data, like an event's defaults;
#: officers reword them on the CE engine's terms)
DEFAULTS: dict[str, list[tuple[str, str, str]]] = {
    "midyear": [
        ("rating", "How useful has the mentoring been so far?", ""),
        ("choice", "How often have you met?", "Monthly or more\nEvery two months\nLess often\nNot yet"),
        ("rating", "How would you rate your partner as a match for you?", ""),
        ("text", "What has worked well, and what would you change for the rest of the year?", ""),
    ],
    "final": [
        ("rating", "Overall, how would you rate the mentoring programme?", ""),
        ("choice", "Did you reach the goals you set together?", "Yes\nPartly\nNo"),
        ("choice", "Would you recommend the programme to a colleague?", "Yes\nMaybe\nNo"),
        ("text", "What should we keep or change for the next cycle?", ""),
    ],
}


def period_label(period: str) -> str:
    return _("Mid-year evaluation") if period == "midyear" else _("End-of-year evaluation")


def months_of(cycle: MentoringCycle, period: str) -> int:
    """When the evaluation comes, in months after the match began (0: this programme has none)."""
    length = cycle.programme.length_months
    return length // 2 if period == "midyear" else length


def evaluation_of(cycle: MentoringCycle, period: str, *, create: bool = False) -> Evaluation | None:
    """The cycle's evaluation for `period`; made with the default questions when `create`."""
    if period not in PERIODS:
        raise MentoringError(_("Choose the mid-year or the end-of-year evaluation."), field="period")
    column = f"{period}_evaluation_id"
    found = db.session.get(Evaluation, getattr(cycle, column)) if getattr(cycle, column) else None
    if found is not None or not create:
        return found
    found = Evaluation(event_id=None, intro="", open_days=OPEN_DAYS)
    found.questions = [
        EvaluationQuestion(kind=kind, prompt=prompt, choices=choices, required=False, position=n)
        for n, (kind, prompt, choices) in enumerate(DEFAULTS[period])
    ]
    db.session.add(found)
    db.session.flush()
    setattr(cycle, column, found.id)
    return found


def due_at(match: MentoringMatch, side: MentoringApplication, period: str) -> datetime | None:
    """The person's check-in hour, in their zone, `months_of` months after the match began."""
    months = months_of(match.cycle, period)
    if not months:
        return None
    start = timezones.to_zone(match.started_at, side.timezone).date()
    return pairs.local_instant(pairs.add_months(start, months), side.checkin_hour, side.timezone)


# --- the personal link ---------------------------------------------------------------------------


def personal_url(side: MentoringApplication, period: str) -> str:
    token = make_stable_token("mentoring-evaluation", [side.id, period])
    return external_url("mentoring.evaluation", token=token)


def read_personal_token(token: str) -> tuple[MentoringApplication, str] | None:
    """(application, period) a link names; raises tokens.TokenError for a cut or changed one."""
    value = read_stable_token("mentoring-evaluation", token)
    if not (isinstance(value, list) and len(value) == 2 and value[1] in PERIODS):
        return None
    item = db.session.get(MentoringApplication, value[0]) if isinstance(value[0], int) else None
    return (item, value[1]) if item is not None else None


def match_for(side: MentoringApplication) -> MentoringMatch | None:
    return pairs.current_match(side)


def open_until(side: MentoringApplication, period: str) -> datetime | None:
    """Until when the person's link takes answers (None: never opened for them)."""
    match = match_for(side)
    due = due_at(match, side, period) if match is not None else None
    return due + timedelta(days=OPEN_DAYS) if due is not None else None


def is_open(side: MentoringApplication, period: str, at: datetime | None = None) -> bool:
    match = match_for(side)
    due = due_at(match, side, period) if match is not None else None
    now = at or clock.now()
    return due is not None and due <= now < due + timedelta(days=OPEN_DAYS) and side.status == "active"


def answer(side: MentoringApplication, period: str, answers: dict[str, str]) -> EvaluationResponse:
    """Save (or change) the person's answers while their link is open; the caller commits."""
    if not is_open(side, period):
        raise ce_evaluations.EvaluationError({"form": _("This evaluation is not open.")})
    evaluation = evaluation_of(side.cycle, period, create=True)
    assert evaluation is not None  # noqa: S101 - create=True always gives one
    return ce_evaluations.record_answers(
        evaluation, {"mentoring_application_id": side.id}, answers, clock.now()
    )


def response_of(side: MentoringApplication, period: str) -> EvaluationResponse | None:
    evaluation = evaluation_of(side.cycle, period)
    if evaluation is None:
        return None
    return ce_evaluations.response_by(evaluation, {"mentoring_application_id": side.id})


# --- the invitations -------------------------------------------------------------------------------


def _invite(match: MentoringMatch, side: MentoringApplication, period: str) -> tuple[int, str]:
    if side.status != "active" or not side.participant.email:
        return 0, "not active"
    evaluation = evaluation_of(match.cycle, period, create=True)
    assert evaluation is not None  # noqa: S101 - create=True always gives one
    other = match.mentee if side.id == match.mentor_id else match.mentor
    with i18n.in_locale(side.participant.language):
        until = open_until(side, period)
        pairs.send_mail(
            side,
            _("%(what)s: %(title)s", what=period_label(period), title=match.cycle.programme.title),
            "mentoring_evaluation",
            f"mentoring-evaluation:{side.id}:{period}",
            other=other,
            period=period,
            evaluation_url=personal_url(side, period),
            questions=len(evaluation.questions),
            until=timezones.format_date(timezones.to_zone(until, side.timezone)) if until else "",
        )
    return 1, period


def send_due(at: datetime, report: JobReport) -> None:
    """Invite each side of a pair at 6 and 12 months (or the programme's half and whole length)."""
    for period in PERIODS:
        statuses = ("active",) if period == "midyear" else ("active", "completed")
        for cycle_id, months in _cycles_with(period):
            earliest = at - timedelta(days=months * 31 + LATE.days + 1)
            latest = at - timedelta(days=months * 28)
            for match in db.session.scalars(
                select(MentoringMatch).where(
                    MentoringMatch.cycle_id == cycle_id,
                    MentoringMatch.status.in_(statuses),
                    MentoringMatch.started_at.between(earliest, latest),
                )
            ).all():
                for side in (match.mentor, match.mentee):
                    due = due_at(match, side, period)
                    if due is None or not (due <= at < due + LATE):
                        continue
                    run_reported(
                        report,
                        f"mentoring {period} evaluation {match.id}/{side.id}",
                        JOB_KIND,
                        f"cycle:{cycle_id}:application:{side.id}",  # once a person, however many mentees
                        period,
                        due,
                        partial(_invite, match, side, period),
                    )


def _cycles_with(period: str) -> list[tuple[int, int]]:
    """(cycle id, months) of cycles with pairs, and an evaluation in this period."""
    out = []
    for cycle in db.session.scalars(select(MentoringCycle).where(MentoringCycle.matched_at.is_not(None))):
        months = months_of(cycle, period)
        if months:
            out.append((cycle.id, months))
    return out


# --- results ---------------------------------------------------------------------------------------


def invited_count(cycle: MentoringCycle, period: str) -> int:
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(JobRun)
            .where(
                JobRun.kind == JOB_KIND,
                JobRun.target.like(f"cycle:{cycle.id}:%"),
                JobRun.period == period,
                JobRun.recipients > 0,
            )
        )
        or 0
    )


def results(cycle: MentoringCycle, period: str) -> ce_evaluations.Results:
    """The CE engine's results (counts, means, texts per question) with the cycle's response rate."""
    evaluation = evaluation_of(cycle, period, create=True)
    assert evaluation is not None  # noqa: S101 - create=True always gives one
    return ce_evaluations.results(evaluation, invited=invited_count(cycle, period))


@register_erasure_step
def _forget_answers(erasure: Erasure) -> None:
    """ "Delete my data": the person's evaluation answers go."""
    ids = select(MentoringApplication.id).where(MentoringApplication.participant_id == erasure.participant_id)
    db.session.execute(
        delete(EvaluationResponse).where(EvaluationResponse.mentoring_application_id.in_(ids)),
        execution_options={"synchronize_session": False},
    )
