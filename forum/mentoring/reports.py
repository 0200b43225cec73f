"""The officer's figures for a cycle: one `overview` that the page, the CSV and the API all read.

Sensitive answers (gender, region, race/ethnicity) appear only as counts of groups of five
or more; smaller groups are folded into "Fewer than 5", so no one is identifiable.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from forum.core import clock, timezones
from forum.core.extensions import db
from forum.mentoring.pairs import matches_of
from forum.models import FormAnswer, MentoringCheckIn, MentoringCycle, MentoringMatch

MIN_GROUP = 5


@dataclass
class Overview:
    per_day: list[tuple[date, int, int]]  # day, mentor applications, mentee applications
    mentors: int
    mentees: int
    matched_mentees: int
    checkins: list[tuple[int, int, int]]  # month number, sent, answered
    active_at: dict[int, int]  # months -> pairs active (or completed) at that point
    pairs: int
    sections: dict[str, list[tuple[str, int]]] = field(default_factory=dict)

    @property
    def ratio(self) -> str:
        return f"{self.mentors}:{self.mentees}"

    @property
    def checkin_rates(self) -> list[tuple[int, int, int, int]]:
        """(month, sent, answered, percent answered) per check-in month."""
        return [
            (n, sent, answered, round(100 * answered / sent) if sent else 0)
            for n, sent, answered in self.checkins
        ]

    @property
    def match_rate(self) -> int:
        return round(100 * self.matched_mentees / self.mentees) if self.mentees else 0


def overview(cycle: MentoringCycle) -> Overview:
    zone = cycle.programme.timezone
    counted = [a for a in cycle.applications if a.status in ("active", "guardian")]
    first = timezones.to_zone(cycle.opens_at, zone).date()
    last = timezones.to_zone(min(cycle.closes_at, max(clock.now(), cycle.opens_at)), zone).date()
    days: dict[date, list[int]] = {first + timedelta(days=n): [0, 0] for n in range((last - first).days + 1)}
    for item in counted:
        day = timezones.to_zone(item.created_at, zone).date()
        days.setdefault(day, [0, 0])[0 if item.role == "mentor" else 1] += 1
    matches = matches_of(cycle)
    mentees = [a for a in counted if a.role == "mentee" and a.status == "active"]
    matched = {m.mentee_id for m in matches if m.status in ("active", "completed")}
    checkins = db.session.scalars(
        select(MentoringCheckIn).where(MentoringCheckIn.match_id.in_([m.id for m in matches]))
    ).all()
    by_number: dict[int, list[int]] = {}
    for c in checkins:
        if c.sent_at is not None:
            row = by_number.setdefault(c.number, [0, 0])
            row[0] += 1
            row[1] += c.answer is not None
    now = clock.now()
    active_at = {}
    for months in (3, 6, 12):
        active_at[months] = sum(1 for m in matches if _lasted(m, months, now))
    return Overview(
        per_day=[(d, v[0], v[1]) for d, v in sorted(days.items())],
        mentors=sum(1 for a in counted if a.role == "mentor" and a.status == "active"),
        mentees=len(mentees),
        matched_mentees=len(matched & {m.id for m in mentees}),
        checkins=[(n, v[0], v[1]) for n, v in sorted(by_number.items())],
        active_at=active_at,
        pairs=len(matches),
        sections=sensitive_groups(cycle),
    )


def _lasted(match: MentoringMatch, months: int, now: object) -> bool:
    point = match.started_at + timedelta(days=round(months * 30.44))
    if point > now:  # type: ignore[operator]
        return False
    return match.ended_at is None or match.ended_at >= point


def sensitive_groups(cycle: MentoringCycle) -> dict[str, list[tuple[str, int]]]:
    """Counts per answer of each sensitive section, groups under five folded together."""
    out: dict[str, list[tuple[str, int]]] = {}
    people = {a.participant_id for a in cycle.applications if a.status == "active"}
    for role, ids in (cycle.programme.sections or {}).items():
        for section, qid in ids.items():
            counts: Counter[str] = Counter()
            for participant_id, value in db.session.execute(
                select(FormAnswer.participant_id, FormAnswer.value).where(FormAnswer.question_id == int(qid))
            ):
                if participant_id not in people:
                    continue
                for item in json.loads(value) if value.startswith("[") else [value]:
                    counts[item] += 1
            shown = [(k, v) for k, v in sorted(counts.items()) if v >= MIN_GROUP]
            small = sum(v for v in counts.values() if v < MIN_GROUP)
            if small >= MIN_GROUP:  # a folded group under five would still point at someone
                shown.append((_("Fewer than 5 (grouped)"), small))
            out[f"{role}:{section}"] = shown
    return out


def overview_csv(cycle: MentoringCycle) -> str:
    data = overview(cycle)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["figure", "key", "value"])
    for day, mentors, mentees in data.per_day:
        writer.writerow(["applications", f"{day.isoformat()} mentors", mentors])
        writer.writerow(["applications", f"{day.isoformat()} mentees", mentees])
    writer.writerow(["ratio", "mentors:mentees", data.ratio])
    writer.writerow(["match rate", "percent of mentees matched", data.match_rate])
    for number, sent, answered, rate in data.checkin_rates:
        writer.writerow(["check-ins", f"month {number} sent", sent])
        writer.writerow(["check-ins", f"month {number} answered", answered])
        writer.writerow(["check-ins", f"month {number} response rate percent", rate])
    for months, count in data.active_at.items():
        writer.writerow(["pairs active", f"at {months} months", count])
    for key, groups in data.sections.items():
        for label, count in groups:
            writer.writerow([key, label, count])
    return buffer.getvalue()
