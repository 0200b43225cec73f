"""Answers for officers' exports and the API, a chunk of registrations at a time.

Sensitive questions are left out unless the caller asks for them (`include_sensitive`), and
never reach public pages: only the officer pages, the token API and the CSV call these.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Sequence

from sqlalchemy import select

from forum.core.extensions import db
from forum.models import Event, FormAnswer, FormQuestion
from forum.registration.answers import choices_of, country_name
from forum.registration.questions import event_form

#: below this many people, a sensitive question's answers are not shown even in aggregate
MIN_GROUP = 5


def export_questions(event: Event, *, include_sensitive: bool = False) -> list[FormQuestion]:
    """The questions whose answers an export carries, in the form's order."""
    form = event_form(event)
    if form is None:
        return []
    return [q for q in form.questions if include_sensitive or not q.sensitive]


def cell_text(question: FormQuestion, value: str) -> str:
    """A stored answer as one spreadsheet cell (choices joined by "; ", countries named)."""
    if question.kind == "multi":
        return "; ".join(json.loads(value or "[]"))
    if question.kind == "country":
        return country_name(value)
    return value


def answers_by_subscription(
    subscription_ids: Sequence[int], questions: Sequence[FormQuestion]
) -> dict[int, dict[int, str]]:
    """{subscription id: {question id: cell text}} for one chunk of registrations (one query)."""
    if not subscription_ids or not questions:
        return {}
    by_id = {q.id: q for q in questions}
    found: dict[int, dict[int, str]] = defaultdict(dict)
    rows = db.session.execute(
        select(FormAnswer.subscription_id, FormAnswer.question_id, FormAnswer.value).where(
            FormAnswer.subscription_id.in_(subscription_ids), FormAnswer.question_id.in_(list(by_id))
        )
    )
    for sub_id, qid, value in rows:
        if sub_id is not None:  # the IN clause already rules it out; this tells mypy
            found[sub_id][qid] = cell_text(by_id[qid], value)
    return found


def tallies(event: Event, *, include_sensitive: bool = False) -> list[dict[str, object]]:
    """For each choice question: how many picked each choice (for the officer's chart and
    table). A sensitive question with fewer than MIN_GROUP answers shows no counts; a count
    below MIN_GROUP in one is shown as "fewer than 5"."""
    result = []
    for question in export_questions(event, include_sensitive=include_sensitive):
        if question.kind not in ("choice", "multi", "yesno", "country"):
            continue
        counter: Counter[str] = Counter()
        total = 0
        for (value,) in db.session.execute(
            select(FormAnswer.value).where(FormAnswer.question_id == question.id)
        ):
            total += 1
            picked = json.loads(value) if question.kind == "multi" else [value]
            counter.update(cell_text(question, v) if question.kind == "country" else v for v in picked)
        order = choices_of(question) if question.kind != "country" else sorted(counter)
        rows = [(choice, counter.get(choice, 0)) for choice in order]
        suppressed = question.sensitive and total < MIN_GROUP
        result.append(
            {
                "question": question,
                "total": total,
                "suppressed": suppressed,
                "rows": [(choice, None if question.sensitive and n < MIN_GROUP else n) for choice, n in rows]
                if not suppressed
                else [],
            }
        )
    return result
