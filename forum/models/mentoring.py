"""A mentoring programme: cycles with an application window, applications, matches, check-ins.

A *programme* is the standing thing officers describe once (eligibility, length, check-in
pace, its home zone) and owns two question forms (the registration engine's, owner
"mentoring-mentor" / "mentoring-mentee"). A *cycle* ("Fall 2027") has an application
window given as wall times in the programme's zone (the truth) with the instants derived
beside them. An *application* is one person (a `Participant`: no account, "register
once") applying in one role in one cycle. A *match* pairs a mentor's application with a
mentee's; each month each side gets a *check-in* mail whose one-click answer is stored on it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from forum.core.extensions import Model, db
from forum.models.base import Keyed, Timestamps, TZDateTime, WallTime, belongs_to
from forum.models.participants import Participant

ROLES = ("mentor", "mentee")
#: pending: address not confirmed yet; guardian: a minor's guardian has not confirmed yet;
#: active: counts; withdrawn: the applicant withdrew (or was erased)
APPLICATION_STATUSES = ("pending", "guardian", "active", "withdrawn")
#: career stages, lowest first (the gap between a mentor's and a mentee's is a criterion)
CAREER_STAGES = ("student", "early", "returning", "changing", "mid", "senior")
AVAILABILITY = ("weekday-mornings", "weekday-afternoons", "weekday-evenings", "weekends")
#: the sensitive sections an applicant may ask to be matched on ("same as me")
SENSITIVE_SECTIONS = ("gender", "region", "ethnicity")
#: active: confirmed and introduced; ended: stopped early; completed: ran its length
#: (suggestions are worked out on the matching page and stored only once confirmed)
MATCH_STATUSES = ("active", "ended", "completed")
CHECKIN_ANSWERS = ("going-well", "could-be-better", "not-working")
#: the criteria of a match's score, each weighted by the officer (0 = ignored)
CRITERIA = ("interests", "stage", "zone", "availability", "language", "preferences")
DEFAULT_WEIGHTS = {"interests": 3, "stage": 2, "zone": 2, "availability": 2, "language": 3, "preferences": 2}


class MentoringProgramme(Keyed, Timestamps, Model):
    __tablename__ = "mentoring_programme"

    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    eligibility: Mapped[str] = mapped_column(Text, default="")
    timezone: Mapped[str] = mapped_column(String(64), default="America/Chicago")
    length_months: Mapped[int] = mapped_column(Integer, default=12)
    checkin_months: Mapped[int] = mapped_column(Integer, default=1)  # the check-in pace
    contact_email: Mapped[str] = mapped_column(String(320), default="")
    mentor_form_id: Mapped[int | None] = mapped_column(ForeignKey("question_form.id", ondelete="SET NULL"))
    mentee_form_id: Mapped[int | None] = mapped_column(ForeignKey("question_form.id", ondelete="SET NULL"))
    #: {"gender": question id, ...} per role: which form question each sensitive section is
    sections: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    cycles: Mapped[list[MentoringCycle]] = relationship(
        back_populates="programme", order_by="MentoringCycle.opens_at", cascade="all, delete-orphan"
    )

    @classmethod
    def by_slug(cls, slug: str) -> MentoringProgramme | None:
        return db.session.scalar(select(cls).where(cls.slug == slug))

    def form_id(self, role: str) -> int | None:
        return self.mentor_form_id if role == "mentor" else self.mentee_form_id


class MentoringCycle(Keyed, Timestamps, Model):
    __tablename__ = "mentoring_cycle"

    programme_id: Mapped[int] = belongs_to("mentoring_programme")
    name: Mapped[str] = mapped_column(String(120))
    # the window as the officer typed it, in the programme's zone, and the instants derived
    opens_wall: Mapped[datetime] = mapped_column(WallTime())
    closes_wall: Mapped[datetime] = mapped_column(WallTime())
    opens_at: Mapped[datetime] = mapped_column(TZDateTime(), index=True)
    closes_at: Mapped[datetime] = mapped_column(TZDateTime())
    weights: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    matched_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    opening_mailed_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    #: the CE evaluations (questions, answers, results) each pair member gets half-way through
    #: and at the end of their year; made when first needed
    midyear_evaluation_id: Mapped[int | None] = mapped_column(
        ForeignKey("evaluation.id", ondelete="SET NULL")
    )
    final_evaluation_id: Mapped[int | None] = mapped_column(ForeignKey("evaluation.id", ondelete="SET NULL"))

    programme: Mapped[MentoringProgramme] = relationship(back_populates="cycles")
    applications: Mapped[list[MentoringApplication]] = relationship(
        back_populates="cycle", order_by="MentoringApplication.id", cascade="all, delete-orphan"
    )


class MentoringApplication(Keyed, Timestamps, Model):
    __tablename__ = "mentoring_application"
    __table_args__ = (UniqueConstraint("cycle_id", "participant_id", "role"),)

    cycle_id: Mapped[int] = belongs_to("mentoring_cycle")
    participant_id: Mapped[int] = belongs_to("participant")
    role: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(12), default="pending")
    name: Mapped[str] = mapped_column(String(200), default="")
    bio: Mapped[str] = mapped_column(Text, default="")
    timezone: Mapped[str] = mapped_column(String(64), default="America/New_York")
    checkin_hour: Mapped[int] = mapped_column(Integer, default=10)
    interests: Mapped[str] = mapped_column(Text, default="")  # one per line, lower-cased keys
    stage: Mapped[str] = mapped_column(String(12), default="early")
    languages: Mapped[str] = mapped_column(String(200), default="English")  # comma separated
    availability: Mapped[str] = mapped_column(String(200), default="")  # comma separated
    capacity: Mapped[int] = mapped_column(Integer, default=1)  # mentors: mentees they offer to take
    #: sections the applicant asked to be matched on ("same as me"); used only as they asked
    prefer_same: Mapped[str] = mapped_column(String(100), default="")
    member_number: Mapped[str] = mapped_column(String(60), default="")
    adult: Mapped[bool] = mapped_column(Boolean, default=True)
    guardian_name: Mapped[str] = mapped_column(String(200), default="")
    guardian_email: Mapped[str] = mapped_column(String(320), default="")
    guardian_address: Mapped[str] = mapped_column(Text, default="")
    guardian_confirmed_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    confirmed_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    withdrawn_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    certificate_code: Mapped[str | None] = mapped_column(String(24), unique=True)

    cycle: Mapped[MentoringCycle] = relationship(back_populates="applications")
    participant: Mapped[Participant] = relationship()

    @property
    def interest_list(self) -> list[str]:
        return [line.strip() for line in self.interests.splitlines() if line.strip()]

    @property
    def language_list(self) -> list[str]:
        return [item.strip() for item in self.languages.split(",") if item.strip()]

    @property
    def availability_list(self) -> list[str]:
        return [item.strip() for item in self.availability.split(",") if item.strip()]

    @property
    def prefer_list(self) -> list[str]:
        return [item.strip() for item in self.prefer_same.split(",") if item.strip()]


class MentoringMember(Keyed, Model):
    """One line of the officers' member list: an address key or a member number."""

    __tablename__ = "mentoring_member"

    key: Mapped[str] = mapped_column(String(320), unique=True)
    imported_at: Mapped[datetime] = mapped_column(TZDateTime())


class MentoringDecline(Keyed, Model):
    """A pair the officer (or a re-match) ruled out: never suggested again in the cycle."""

    __tablename__ = "mentoring_decline"
    __table_args__ = (UniqueConstraint("mentor_id", "mentee_id"),)

    mentor_id: Mapped[int] = belongs_to("mentoring_application", index=False)
    mentee_id: Mapped[int] = belongs_to("mentoring_application", index=False)


class MentoringMatch(Keyed, Timestamps, Model):
    __tablename__ = "mentoring_match"

    cycle_id: Mapped[int] = belongs_to("mentoring_cycle")
    mentor_id: Mapped[int] = belongs_to("mentoring_application")
    mentee_id: Mapped[int] = belongs_to("mentoring_application")
    status: Mapped[str] = mapped_column(String(10), default="active")
    score: Mapped[float] = mapped_column(default=0.0)
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    manual: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime] = mapped_column(TZDateTime())
    ends_at: Mapped[datetime] = mapped_column(TZDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    ended_reason: Mapped[str] = mapped_column(String(200), default="")
    last_heard_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    quiet_alerted_at: Mapped[datetime | None] = mapped_column(TZDateTime())

    mentor: Mapped[MentoringApplication] = relationship(foreign_keys=[mentor_id])
    mentee: Mapped[MentoringApplication] = relationship(foreign_keys=[mentee_id])
    cycle: Mapped[MentoringCycle] = relationship()


class MentoringCheckIn(Keyed, Model):
    """One check-in mail to one side of a match, and its one-click answer."""

    __tablename__ = "mentoring_checkin"
    __table_args__ = (UniqueConstraint("match_id", "application_id", "number"),)

    match_id: Mapped[int] = belongs_to("mentoring_match")
    application_id: Mapped[int] = belongs_to("mentoring_application", index=False)
    number: Mapped[int] = mapped_column(Integer)  # 1 for the first month
    due_at: Mapped[datetime] = mapped_column(TZDateTime(), index=True)
    sent_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    answer: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime | None] = mapped_column(TZDateTime())

    match: Mapped[MentoringMatch] = relationship()
    application: Mapped[MentoringApplication] = relationship()


class MentoringWatch(Keyed, Model):
    """ "Tell me when applications open": one confirmed address per programme."""

    __tablename__ = "mentoring_watch"
    __table_args__ = (UniqueConstraint("programme_id", "participant_id"),)

    programme_id: Mapped[int] = belongs_to("mentoring_programme", index=False)
    participant_id: Mapped[int] = belongs_to("participant", index=False)
    confirmed_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    created_at: Mapped[datetime] = mapped_column(TZDateTime())


class MentoringStory(Keyed, Model):
    """One pair member's story for the newsletter, sent through the signed link of the
    officer's invitation; `may_publish` is their consent to print it."""

    __tablename__ = "mentoring_story"
    __table_args__ = (UniqueConstraint("match_id", "application_id"),)

    match_id: Mapped[int] = belongs_to("mentoring_match")
    application_id: Mapped[int] = belongs_to("mentoring_application", index=False)
    text: Mapped[str] = mapped_column(Text, default="")
    may_publish: Mapped[bool] = mapped_column(Boolean, default=False)
    submitted_at: Mapped[datetime] = mapped_column(TZDateTime())

    match: Mapped[MentoringMatch] = relationship()
    application: Mapped[MentoringApplication] = relationship()
