"""Registration questions: a form (an event's, or another owner's), its questions, the answers
people give, and the officers' library of preset questions.

A form belongs to an event through `event_id`, or to something else through `owner` alone
(the mentoring programme's applications reuse the same engine without an event). Answers are
kept per person (`participant_id`) and, for an event, per registration (`subscription_id`).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from forum.core.extensions import Model
from forum.models.base import Keyed, Timestamps, TZDateTime, belongs_to

#: what a question asks for; the web form, the API and the CSV export all read this table
FORM_QUESTION_KINDS = {
    "short": _l("Short text"),
    "long": _l("Long text"),
    "choice": _l("One choice"),
    "multi": _l("Several choices"),
    "yesno": _l("Yes or no"),
    "consent": _l("Consent checkbox"),
    "number": _l("Number"),
    "date": _l("Date"),
    "country": _l("Country"),
    "email": _l("Email of a colleague or supervisor"),
}
#: how a one-choice question is shown
CHOICE_DISPLAYS = {"radio": "Radio buttons", "list": "Drop-down list"}
#: kinds whose answer is one of the question's choices (the ones a condition can test)
CHOICE_KINDS = ("choice", "multi", "yesno")


def lines(text: str) -> list[str]:
    """The non-empty lines of a one-per-line text column, stripped."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


class QuestionForm(Keyed, Timestamps, Model):
    """The questions one registration (or application) asks, in order."""

    __tablename__ = "question_form"

    # "event" for an event's registration form; other areas name their own owner
    owner: Mapped[str] = mapped_column(String(40), default="event")
    event_id: Mapped[int | None] = belongs_to("event", unique=True)

    questions: Mapped[list[FormQuestion]] = relationship(
        back_populates="form",
        order_by="(FormQuestion.position, FormQuestion.id)",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class QuestionFields:
    """What a question and a preset share: the officer's wording and choices."""

    kind: Mapped[str] = mapped_column(String(12), default="short")
    label: Mapped[str] = mapped_column(String(300))
    help: Mapped[str] = mapped_column(Text, default="")
    choices: Mapped[str] = mapped_column(Text, default="")  # one per line
    display: Mapped[str] = mapped_column(String(8), default="radio")
    # demographics, health or accessibility needs: always optional, shown to officers only,
    # left out of exports and the API unless asked for
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    # an answer is mailed to the event's contact when it is given (accommodation requests)
    notify: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    @property
    def choice_list(self) -> list[str]:
        if self.kind == "yesno":
            return ["Yes", "No"]
        return lines(self.choices)

    @property
    def kind_label(self) -> str:
        return FORM_QUESTION_KINDS.get(self.kind, self.kind)


class FormQuestion(Keyed, QuestionFields, Timestamps, Model):
    __tablename__ = "form_question"

    form_id: Mapped[int] = belongs_to("question_form")
    position: Mapped[int] = mapped_column(Integer, default=0)
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    preset_id: Mapped[int | None] = mapped_column(ForeignKey("question_preset.id", ondelete="SET NULL"))
    # shown only if the answer to `condition_question` is one of `condition_values` (one per line)
    condition_question_id: Mapped[int | None] = mapped_column(
        ForeignKey("form_question.id", ondelete="SET NULL")
    )
    condition_values: Mapped[str] = mapped_column(Text, default="")

    form: Mapped[QuestionForm] = relationship(back_populates="questions")
    condition_question: Mapped[FormQuestion | None] = relationship(remote_side="FormQuestion.id")

    @property
    def field_name(self) -> str:
        """The name of its input on the web form (and its key in the API's `answers`)."""
        return f"q{self.id}"


class FormAnswer(Keyed, Model):
    """One person's answer to one question; multi-choice answers are a JSON list."""

    __tablename__ = "form_answer"
    __table_args__ = (UniqueConstraint("question_id", "participant_id"),)

    question_id: Mapped[int] = belongs_to("form_question")
    participant_id: Mapped[int] = belongs_to("participant")
    subscription_id: Mapped[int | None] = belongs_to("subscription")
    value: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime] = mapped_column(TZDateTime())

    question: Mapped[FormQuestion] = relationship()

    @property
    def data(self) -> Any:
        """The answer as the service checked it: a list for "several choices", else text."""
        if self.question.kind == "multi":
            return json.loads(self.value or "[]")
        return self.value


class QuestionPreset(Keyed, QuestionFields, Timestamps, Model):
    """A question officers reuse across events (job title, employer, region ...)."""

    __tablename__ = "question_preset"

    position: Mapped[int] = mapped_column(Integer, default=0)
