"""The continuing-education record of an event: its completion rule, certificates, evaluation.

Attendance rows (models/attendance.py) say who was at which session; this aggregate says
what that is worth (`CESettings`: the completion rule and whether the evaluation gates the
certificate), what was issued (`Certificate`, frozen at issue so a verification code keeps
meaning the same thing) and what people thought (`Evaluation` with its questions, one
`EvaluationResponse` per registration, one `EvaluationAnswer` per question answered).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from forum.core.extensions import Model
from forum.models.base import Keyed, Timestamps, TZDateTime, belongs_to
from forum.models.events import Event
from forum.models.participants import Subscription

COMPLETION_RULES = {
    "all": _l("Attended every session"),
    "sessions": _l("Attended at least N sessions"),
    "hours": _l("Attended at least N hours"),
}
CERTIFICATE_KINDS = {"completion": _l("Certificate of completion"), "attendance": _l("Certificate of attendance")}
QUESTION_KINDS = {"rating": _l("Rating 1–5"), "choice": _l("Multiple choice"), "text": _l("Free text")}


class CESettings(Keyed, Timestamps, Model):
    """Per-event CE settings; an event without a row uses the defaults (every session counts)."""

    __tablename__ = "ce_settings"

    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), unique=True)
    rule: Mapped[str] = mapped_column(String(8), default="all")
    rule_sessions: Mapped[int | None] = mapped_column(Integer)
    rule_minutes: Mapped[int | None] = mapped_column(Integer)  # the officer types hours
    evaluation_required: Mapped[bool] = mapped_column(default=False)
    mail_certificates: Mapped[bool] = mapped_column(default=True)
    # Hours after the last session before certificates are mailed: time to upload reports.
    certificate_delay_hours: Mapped[int] = mapped_column(Integer, default=24)
    # Minimum attendance per session (forum.ce.credit): a share of its length, or minutes
    # when `min_minutes` is set; sessions may override it. `credit`: full | quarter.
    min_share: Mapped[int | None] = mapped_column(Integer, default=75, server_default="75")
    min_minutes: Mapped[int | None] = mapped_column(Integer)
    credit: Mapped[str] = mapped_column(String(8), default="full", server_default="full")
    # The certificate's wording for this event (forum.ce.certificate_look); empty: the site's.
    provider_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    provider_number: Mapped[str] = mapped_column(String(100), default="", server_default="")
    signatory_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    signatory_title: Mapped[str] = mapped_column(String(200), default="", server_default="")

    event: Mapped[Event] = relationship()


class Certificate(Keyed, Timestamps, Model):
    """One person's certificate for one event, identified publicly by `code` only.

    The name, title, hours and sessions are copied in when it is (re)issued, so the
    verification page shows what the PDF says even if the event is renamed later.
    """

    __tablename__ = "certificate"

    code: Mapped[str] = mapped_column(String(24), unique=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("subscription.id", ondelete="CASCADE"), unique=True
    )
    kind: Mapped[str] = mapped_column(String(12), default="completion")
    name: Mapped[str] = mapped_column(String(200), default="")
    event_title: Mapped[str] = mapped_column(String(200), default="")
    minutes: Mapped[int] = mapped_column(Integer, default=0)
    sessions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    issued_at: Mapped[datetime] = mapped_column(TZDateTime())

    subscription: Mapped[Subscription] = relationship()

    @property
    def kind_label(self) -> str:
        return CERTIFICATE_KINDS.get(self.kind, self.kind)


class Evaluation(Keyed, Timestamps, Model):
    """The short questionnaire of one event; open from the last session's end for `open_days`."""

    __tablename__ = "evaluation"

    #: None for an evaluation another area owns (a mentoring cycle's mid-year and end-of-year
    #: ones): that area decides when it is open and who is asked
    event_id: Mapped[int | None] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), unique=True)
    intro: Mapped[str] = mapped_column(Text, default="")
    open_days: Mapped[int] = mapped_column(Integer, default=14)

    event: Mapped[Event | None] = relationship()
    questions: Mapped[list[EvaluationQuestion]] = relationship(
        back_populates="evaluation",
        order_by="(EvaluationQuestion.position, EvaluationQuestion.id)",
        cascade="all, delete-orphan",
    )


class EvaluationQuestion(Keyed, Model):
    __tablename__ = "evaluation_question"

    evaluation_id: Mapped[int] = belongs_to("evaluation")
    position: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(8), default="rating")
    prompt: Mapped[str] = mapped_column(String(500))
    choices: Mapped[str] = mapped_column(Text, default="")  # multiple choice: one per line
    required: Mapped[bool] = mapped_column(default=False)

    evaluation: Mapped[Evaluation] = relationship(back_populates="questions")

    @property
    def choice_list(self) -> list[str]:
        return [c.strip() for c in self.choices.splitlines() if c.strip()]

    @property
    def kind_label(self) -> str:
        return QUESTION_KINDS.get(self.kind, self.kind)


class EvaluationResponse(Keyed, Timestamps, Model):
    """One registration's answers; saving again edits it (unique per evaluation and subscription)."""

    __tablename__ = "evaluation_response"
    __table_args__ = (
        UniqueConstraint("evaluation_id", "subscription_id"),
        UniqueConstraint(
            "evaluation_id", "mentoring_application_id", name="uq_evaluation_response_mentoring"
        ),
    )

    evaluation_id: Mapped[int] = belongs_to("evaluation")
    #: who answered: a registration (an event's evaluation) or a mentoring application
    subscription_id: Mapped[int | None] = belongs_to("subscription")
    mentoring_application_id: Mapped[int | None] = belongs_to("mentoring_application")
    submitted_at: Mapped[datetime] = mapped_column(TZDateTime())

    evaluation: Mapped[Evaluation] = relationship()
    subscription: Mapped[Subscription | None] = relationship()
    answers: Mapped[list[EvaluationAnswer]] = relationship(
        back_populates="response", cascade="all, delete-orphan"
    )


class EvaluationAnswer(Keyed, Model):
    __tablename__ = "evaluation_answer"
    __table_args__ = (UniqueConstraint("response_id", "question_id"),)

    response_id: Mapped[int] = belongs_to("evaluation_response")
    question_id: Mapped[int] = belongs_to("evaluation_question")
    rating: Mapped[int | None] = mapped_column(Integer)
    choice: Mapped[str | None] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text, default="")

    response: Mapped[EvaluationResponse] = relationship(back_populates="answers")
    question: Mapped[EvaluationQuestion] = relationship()
