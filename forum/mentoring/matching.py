"""Suggested pairs: a maximum-weight assignment of mentees to mentors' places, with reasons.

Each mentor offers `capacity` places (less the mentees they already have); every (mentee,
place) pair gets a score, the sum over the officer's weighted criteria of a value in 0..1:

* interests: shared interests and specialties (share of the smaller list);
* stage: a mentor at least two career stages ahead scores 1, one stage 0.5, none 0;
* zone: how far apart their clocks are (0 hours: 1, 12 hours or more: 0), for meeting times;
* availability: the share of the mentee's free times the mentor shares;
* language: a language in common (1) or not (0);
* preferences: of the sensitive sections either of them asked to be matched on ("same
  gender", "same region", ...), the share that agree. A section is read only when that
  applicant asked for it, and only as "same or not": the answer itself never enters a
  reason, so the matching page shows no one's gender or ethnicity.

`assign` is pure (no database) so `bench/` and the tests call it directly; it solves the
whole problem at once with scipy's `linear_sum_assignment` (the Hungarian method's modern
form) rather than first-fit, and never pairs a person with themselves or a declined pair.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select

from forum.core import clock, timezones
from forum.core.extensions import db
from forum.mentoring.applications import active_applications, form_of
from forum.models import FormAnswer, MentoringApplication, MentoringCycle, MentoringDecline, MentoringMatch
from forum.models.mentoring import CAREER_STAGES, CRITERIA, DEFAULT_WEIGHTS
from forum.registration.answers import PREFER_NOT

FORBIDDEN = -1e9
SECTION_WORDS = {"gender": "gender", "region": "region", "ethnicity": "race/ethnicity"}


@dataclass
class Candidate:
    """One applicant as matching sees them (nothing else about them is read)."""

    id: int
    person: int  # the participant: the same person applying twice is never paired with themselves
    name: str = ""
    stage: int = 1
    interests: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset({"english"})
    availability: frozenset[str] = frozenset()
    offset_hours: float = 0.0
    capacity: int = 1
    prefer: frozenset[str] = frozenset()
    sections: dict[str, str] = field(default_factory=dict)  # only the sections asked about


@dataclass
class Pair:
    mentor: int
    mentee: int
    score: float
    reasons: list[str]


@dataclass
class Result:
    pairs: list[Pair]
    unmatched: dict[int, str]  # mentee id -> why


def score(mentor: Candidate, mentee: Candidate, weights: dict[str, int]) -> tuple[float, list[str]]:
    """The pair's score and its reasons in words (strongest first)."""
    parts: list[tuple[float, str]] = []
    w = {name: weights.get(name, DEFAULT_WEIGHTS[name]) for name in CRITERIA}
    shared = sorted(mentor.interests & mentee.interests)
    if w["interests"]:
        smaller = max(1, min(len(mentor.interests), len(mentee.interests)))
        value = len(shared) / smaller
        if shared:
            parts.append((w["interests"] * value, _("shared interests: %(list)s", list=", ".join(shared))))
    if w["stage"]:
        gap = mentor.stage - mentee.stage
        value = 1.0 if gap >= 2 else 0.5 if gap == 1 else 0.0
        if value:
            parts.append((w["stage"] * value, _("mentor is %(n)d career stages ahead", n=gap)))
        else:
            parts.append((0.0, _("mentor is not further along in their career")))
    if w["zone"]:
        apart = abs(mentor.offset_hours - mentee.offset_hours)
        apart = min(apart, 24 - apart)
        value = max(0.0, 1 - apart / 12)
        text = _("same time zone") if apart == 0 else _("clocks %(h)g hours apart", h=apart)
        parts.append((w["zone"] * value, text))
    if w["availability"] and mentee.availability:
        both = sorted(mentor.availability & mentee.availability)
        value = len(both) / len(mentee.availability)
        if both:
            words = ", ".join(b.replace("-", " ") for b in both)
            parts.append((w["availability"] * value, _("both free: %(list)s", list=words)))
        else:
            parts.append((0.0, _("no free time in common")))
    if w["language"]:
        common = sorted(mentor.languages & mentee.languages)
        if common:
            parts.append(
                (w["language"] * 1.0, _("both speak %(list)s", list=", ".join(c.title() for c in common)))
            )
        else:
            parts.append((0.0, _("no language in common")))
    asked = sorted(mentor.prefer | mentee.prefer)
    if w["preferences"] and asked:
        agree = [s for s in asked if _same(mentor.sections.get(s), mentee.sections.get(s))]
        for section in asked:
            word = SECTION_WORDS.get(section, section)
            if section in agree:
                parts.append((w["preferences"] / len(asked), _("same %(section)s, as asked", section=word)))
            else:
                parts.append((0.0, _("not the same %(section)s they asked for", section=word)))
    total = sum(p for p, _text in parts)
    reasons = [text for _p, text in sorted(parts, key=lambda item: -item[0])]
    return round(total, 3), reasons


def value_of(mentor: Candidate, mentee: Candidate, w: dict[str, int]) -> float:
    """The same total as `score`, without the words: the assignment scores every pair with
    this (36,000 pairs for 300 x 120), and words are written only for the pairs it keeps."""
    total = 0.0
    if w["interests"] and mentor.interests and mentee.interests:
        shared = len(mentor.interests & mentee.interests)
        total += w["interests"] * shared / max(1, min(len(mentor.interests), len(mentee.interests)))
    if w["stage"]:
        gap = mentor.stage - mentee.stage
        total += w["stage"] * (1.0 if gap >= 2 else 0.5 if gap == 1 else 0.0)
    if w["zone"]:
        apart = abs(mentor.offset_hours - mentee.offset_hours)
        total += w["zone"] * max(0.0, 1 - min(apart, 24 - apart) / 12)
    if w["availability"] and mentee.availability:
        total += w["availability"] * len(mentor.availability & mentee.availability) / len(mentee.availability)
    if w["language"] and mentor.languages & mentee.languages:
        total += w["language"]
    if w["preferences"] and (mentor.prefer or mentee.prefer):
        asked = mentor.prefer | mentee.prefer
        agree = sum(1 for s in asked if _same(mentor.sections.get(s), mentee.sections.get(s)))
        total += w["preferences"] * agree / len(asked)
    return round(total, 3)


def _same(a: str | None, b: str | None) -> bool:
    if not a or not b or PREFER_NOT in (a, b):
        return False
    return a == b


def assign(
    mentors: list[Candidate],
    mentees: list[Candidate],
    weights: dict[str, int],
    declined: Iterable[tuple[int, int]] = (),
) -> Result:
    """The best total score over all pairs, each mentor taking at most `capacity` mentees."""
    ruled_out = set(declined)
    places = [m for m in mentors for _slot in range(max(0, m.capacity))]
    if not places or not mentees:
        why = _("not enough mentors: no mentor has a place left") if mentees else ""
        return Result([], {m.id: why for m in mentees})
    w = {name: weights.get(name, DEFAULT_WEIGHTS[name]) for name in CRITERIA}
    scores = np.full((len(mentees), len(mentors)), FORBIDDEN)
    for i, mentee in enumerate(mentees):
        row = scores[i]
        for j, mentor in enumerate(mentors):
            if mentor.person == mentee.person or (mentor.id, mentee.id) in ruled_out:
                continue
            row[j] = value_of(mentor, mentee, w)
    column_of = {id(m): j for j, m in enumerate(mentors)}
    matrix = scores[:, [column_of[id(m)] for m in places]]
    # Imported here: scipy.optimize costs half a second at import, and every process that
    # loads the app (web workers, CLI commands, the LMTP server) would pay it; only a matching does.
    from scipy.optimize import linear_sum_assignment  # noqa: PLC0415 - only a matching needs scipy (see above)

    rows, cols = linear_sum_assignment(matrix, maximize=True)
    pairs: list[Pair] = []
    placed: set[int] = set()
    for i, c in zip(rows.tolist(), cols.tolist(), strict=True):
        j = column_of[id(places[c])]
        if scores[i, j] <= FORBIDDEN / 2:
            continue
        value, why = score(mentors[j], mentees[i], weights)
        pairs.append(Pair(mentors[j].id, mentees[i].id, value, why))
        placed.add(i)
    unmatched: dict[int, str] = {}
    shortage = len(mentees) > len(places)
    for i, mentee in enumerate(mentees):
        if i in placed:
            continue
        if not (scores[i] > FORBIDDEN / 2).any():
            unmatched[mentee.id] = _("every mentor with a place was ruled out for this mentee")
        elif shortage:
            unmatched[mentee.id] = ngettext(  # a shortage: always two mentees or more
                "not enough mentors: %(mentees)d mentees for %(num)d place",
                "not enough mentors: %(mentees)d mentees for %(num)d places",
                len(places),
                mentees=len(mentees),
            )
        else:
            unmatched[mentee.id] = _("the mentors who suit this mentee are better used elsewhere")
    pairs.sort(key=lambda p: -p.score)
    return Result(pairs, unmatched)


# --- from the database ----------------------------------------------------------------------------


def _sections(cycle: MentoringCycle, item: MentoringApplication, wanted: set[str]) -> dict[str, str]:
    """The applicant's answers to the sensitive sections that someone in the pair asked about."""
    ids = (cycle.programme.sections or {}).get(item.role, {})
    by_question = {int(qid): section for section, qid in ids.items() if section in wanted}
    if not by_question:
        return {}
    rows = db.session.execute(
        select(FormAnswer.question_id, FormAnswer.value).where(
            FormAnswer.participant_id == item.participant_id, FormAnswer.question_id.in_(list(by_question))
        )
    )
    out = {}
    for qid, value in rows:
        text = value
        if value.startswith("["):
            items = json.loads(value)
            text = "; ".join(sorted(items))
        out[by_question[qid]] = text
    return out


def candidate(cycle: MentoringCycle, item: MentoringApplication, at: datetime, wanted: set[str]) -> Candidate:
    offset = timezones.to_zone(at, item.timezone).utcoffset()
    taken = 0
    if item.role == "mentor":
        taken = len(
            list(
                db.session.scalars(
                    select(MentoringMatch.id).where(
                        MentoringMatch.mentor_id == item.id, MentoringMatch.status == "active"
                    )
                )
            )
        )
    return Candidate(
        id=item.id,
        person=item.participant_id,
        name=item.name,
        stage=CAREER_STAGES.index(item.stage) if item.stage in CAREER_STAGES else 1,
        interests=frozenset(item.interest_list),
        languages=frozenset(lang.lower() for lang in item.language_list),
        availability=frozenset(item.availability_list),
        offset_hours=offset.total_seconds() / 3600 if offset is not None else 0.0,
        capacity=max(0, item.capacity - taken),
        prefer=frozenset(item.prefer_list),
        sections=_sections(cycle, item, wanted),
    )


def declined_pairs(cycle: MentoringCycle) -> set[tuple[int, int]]:
    ids = [a.id for a in cycle.applications]
    rows = db.session.execute(
        select(MentoringDecline.mentor_id, MentoringDecline.mentee_id).where(
            MentoringDecline.mentee_id.in_(ids)
        )
    )
    return {(a, b) for a, b in rows}


def matched_mentee_ids(cycle: MentoringCycle) -> set[int]:
    return set(
        db.session.scalars(
            select(MentoringMatch.mentee_id).where(
                MentoringMatch.cycle_id == cycle.id, MentoringMatch.status.in_(("active", "completed"))
            )
        )
    )


def suggest(cycle: MentoringCycle, weights: dict[str, int]) -> Result:
    """Suggestions for the cycle's active mentees who have no match yet."""
    at = clock.now()
    mentors = active_applications(cycle, "mentor")
    done = matched_mentee_ids(cycle)
    mentees = [m for m in active_applications(cycle, "mentee") if m.id not in done]
    wanted = {s for a in (*mentors, *mentees) for s in a.prefer_list}
    return assign(
        [candidate(cycle, m, at, wanted) for m in mentors],
        [candidate(cycle, m, at, wanted) for m in mentees],
        weights,
        declined_pairs(cycle),
    )


def explain(
    cycle: MentoringCycle, mentor: MentoringApplication, mentee: MentoringApplication, weights: dict[str, int]
) -> tuple[float, list[str]]:
    """The score and reasons of a pair the officer chose by hand."""
    at = clock.now()
    wanted = set(mentor.prefer_list) | set(mentee.prefer_list)
    return score(candidate(cycle, mentor, at, wanted), candidate(cycle, mentee, at, wanted), weights)


def form_question_ids(cycle: MentoringCycle, role: str) -> list[int]:
    form = form_of(cycle, role)
    return [q.id for q in form.questions] if form is not None else []
