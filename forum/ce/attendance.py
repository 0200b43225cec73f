"""Who attended what, and what it is worth: the one place every door reads attendance from.

Rows come from the personal join links (engineer "webinars"' /join/<token>), from an
officer's upload of the platform's report (forum.attendance_import), from an officer's
mark by hand (here), and for an e-forum from the posts themselves: a day with an
accepted post counts, derived at read time from `post` so a post accepted late, or
rejected after all, is reflected without a sync step.

Hours: a session is worth its `ce_minutes` override, else its length rounded to the
quarter hour; what a person earns there follows the minimum attendance and the credit
rule (forum.ce.credit): a join-link click alone only says they joined. The completion
rule (models.ce.CESettings) is "every session" unless the officer sets "at least N
sessions" or "at least N hours", counted over the sessions whose minimum was met.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from babel.numbers import format_decimal
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from forum.ce import credit
from forum.core import clock
from forum.core.extensions import db
from forum.core.timezones import reader_locale, to_zone
from forum.models import Attendance, CESettings, Event, Post, Session, Subscription

QUARTER = 15
REGISTERED_STATUSES = ("active", "unsubscribed")  # people who were in; leaving later keeps the record


class AttendanceError(ValueError):
    """Input an officer can fix; `field` names the form field."""

    def __init__(self, message: str, field: str = "value"):
        super().__init__(message)
        self.field = field


# --- hours and the rule --------------------------------------------------------------------


def default_minutes(session: Session) -> int:
    """The session's length rounded to the nearest quarter hour (at least one quarter)."""
    length = (session.ends_at - session.starts_at).total_seconds() / 60
    return max(QUARTER, int(length / QUARTER + 0.5) * QUARTER)  # half a quarter rounds up


def session_minutes(session: Session) -> int:
    return session.ce_minutes if session.ce_minutes is not None else default_minutes(session)


def hours_text(minutes: int) -> str:
    """`1.5`, `2`, `0.25`: hours as a CE record writes them; with the locale's decimal sign
    (`4,5`) when a language other than English is in force (CLDR's, through Babel)."""
    text = f"{minutes / 60:.2f}".rstrip("0").rstrip(".")
    locale = reader_locale()
    return text if locale is None else format_decimal(float(text), locale=locale)


def hours_count(minutes: int) -> int:
    """The number `ngettext` picks "hour" or "hours" by for `hours_text(minutes)`.

    gettext's plural rules read whole numbers only: whole hours count as themselves, and a
    fraction (1.5, 0.25) as 2, which every catalog's rule reads as its plural form ("1.5
    hours", "1,5 horas", "1,5 heures")."""
    return minutes // 60 if minutes % 60 == 0 else 2


def parse_hours(raw: str, field: str = "hours") -> int | None:
    """Minutes for hours typed by an officer (`1.5`, `1,25`, `90m`); empty means None."""
    text = (raw or "").strip().lower().replace(",", ".")
    if not text:
        return None
    try:
        minutes = float(text[:-1]) if text.endswith("m") else float(text.rstrip("h")) * 60
        minutes = round(minutes, 6)
    except ValueError:
        raise AttendanceError(_("“%(raw)s” is not a number of hours, e.g. 1.5.", raw=raw), field) from None
    if minutes < 0 or minutes > 100 * 60:
        raise AttendanceError(_("Hours must be between 0 and 100."), field)
    if round(minutes) % QUARTER:
        raise AttendanceError(_("Use quarter hours: 0.25, 0.5, 0.75, 1, 1.25 …"), field)
    return int(round(minutes))


def set_session_hours(session: Session, raw: str) -> None:
    """Override (or, with an empty value, go back to the default) a session's CE hours."""
    minutes = parse_hours(raw)
    if minutes != session.ce_minutes:
        session.ce_minutes = minutes


def set_session_minimum(session: Session, raw: str) -> None:
    """Override (or, empty, go back to the event's) the session's minimum attendance."""
    try:
        minimum = credit.parse_minimum(raw)
    except credit.MinimumError as exc:
        raise AttendanceError(str(exc), "minimum") from None
    share = minimum.share if minimum else None
    minutes = minimum.minutes if minimum else None
    if (session.ce_min_share, session.ce_min_minutes) != (share, minutes):
        session.ce_min_share, session.ce_min_minutes = share, minutes


def set_credit(event: Event, minimum: str, rule: str) -> CESettings:
    """The event's minimum attendance per session (empty: 75 %) and its credit rule."""
    if rule not in credit.CREDIT_RULES:
        raise AttendanceError(_("Unknown credit rule “%(rule)s”.", rule=rule), "credit")
    try:
        parsed = credit.parse_minimum(minimum, "min_attendance") or credit.Minimum(share=credit.DEFAULT_SHARE)
    except credit.MinimumError as exc:
        raise AttendanceError(str(exc), "min_attendance") from None
    settings = settings_for(event, create=True)
    settings.min_share, settings.min_minutes = parsed.share, parsed.minutes
    settings.credit = rule
    return settings


def minimum_text(settings: CESettings) -> str:
    """`75 % of each session` / `45 min of each session`, for the page and the API."""
    return f"{credit.event_minimum(settings).text} of each session"


def settings_for(event: Event, *, create: bool = False) -> CESettings:
    """The event's CE settings; an unsaved row of defaults unless `create` (then it is added)."""
    row = db.session.scalar(select(CESettings).where(CESettings.event_id == event.id))
    if row is None:
        row = CESettings(
            event_id=event.id,
            rule="all",
            evaluation_required=False,
            mail_certificates=True,
            certificate_delay_hours=24,
            min_share=credit.DEFAULT_SHARE,
            min_minutes=None,
            credit="full",
        )
        if create:
            db.session.add(row)
    return row


def set_rule(event: Event, rule: str, value: str = "") -> CESettings:
    """Set the completion rule: `all`, `sessions` with a count, or `hours` with hours."""
    settings = settings_for(event, create=True)
    if rule == "all":
        settings.rule, settings.rule_sessions, settings.rule_minutes = "all", None, None
    elif rule == "sessions":
        try:
            count = int((value or "").strip())
        except ValueError:
            raise AttendanceError(_("Give the number of sessions, e.g. 3."), "rule_value") from None
        total = len(event.active_sessions)
        if not 1 <= count <= max(total, 1):
            raise AttendanceError(_("Choose between 1 and %(count)s sessions.", count=max(total, 1)), "rule_value")
        settings.rule, settings.rule_sessions, settings.rule_minutes = "sessions", count, None
    elif rule == "hours":
        minutes = parse_hours(value, "rule_value")
        if not minutes:
            raise AttendanceError(_("Give the hours needed, e.g. 4.5."), "rule_value")
        settings.rule, settings.rule_sessions, settings.rule_minutes = "hours", None, minutes
    else:
        raise AttendanceError(_("Unknown rule “%(rule)s”.", rule=rule), "rule")
    return settings


def rule_text(settings: CESettings, event: Event) -> str:
    if settings.rule == "sessions" and settings.rule_sessions:
        return f"at least {settings.rule_sessions} of {len(event.active_sessions)} sessions"
    if settings.rule == "hours" and settings.rule_minutes:
        return f"at least {hours_text(settings.rule_minutes)} hours"
    return f"all {len(event.active_sessions)} sessions"


# --- the record ------------------------------------------------------------------------------


@dataclass
class Mark:
    """One person at one session, whichever doors saw them."""

    session_id: int
    sources: set[str] = field(default_factory=set)
    minutes: int | None = None
    first_seen_at: object = None
    marked_by: str = ""
    # Filled by `records` (forum.ce.credit): minutes confirmed (None: joined only), the
    # minutes the session needs, whether they were met, and the CE minutes earned.
    confirmed: int | None = None
    needed: int = 0
    met: bool = False
    credit: int = 0

    @property
    def state(self) -> str:
        """What the officer's table says: attended, too short, or only joined (a link click)."""
        if self.met:
            return "attended"
        return "short" if self.confirmed is not None else "joined"


@dataclass
class Record:
    """One registration's CE record for an event."""

    subscription: Subscription
    marks: dict[int, Mark]  # session id -> mark
    sessions: list[Session]
    settings: CESettings

    @property
    def attended(self) -> list[Session]:
        """Sessions whose minimum attendance was met (the ones that count)."""
        return [s for s in self.sessions if s.id in self.marks and self.marks[s.id].met]

    @property
    def joined(self) -> list[Session]:
        """Sessions with some trace of the person (a click, a short stay) but no credit."""
        return [s for s in self.sessions if s.id in self.marks and not self.marks[s.id].met]

    @property
    def minutes(self) -> int:
        """CE minutes earned: the one number the table, CSV, API and certificate show."""
        return sum(self.marks[s.id].credit for s in self.attended)

    def credit_of(self, session: Session) -> int:
        mark = self.marks.get(session.id)
        return mark.credit if mark is not None and mark.met else 0

    @property
    def completed(self) -> bool:
        count = len(self.attended)
        rule = self.settings
        if rule.rule == "sessions" and rule.rule_sessions:
            return count >= rule.rule_sessions
        if rule.rule == "hours" and rule.rule_minutes:
            return self.minutes >= rule.rule_minutes
        return bool(self.sessions) and count == len(self.sessions)


def mark_text(mark: Mark) -> str:
    """One cell of the table and of the CSV: what was confirmed and what it earned."""
    if mark.met:
        seen = f"{mark.minutes} min" if "import" in mark.sources and mark.minutes is not None else "yes"
        return f"{seen}, {hours_text(mark.credit)} h"
    if mark.confirmed is not None:
        return f"{mark.confirmed} min, under the {mark.needed} min minimum"
    return "joined, time not confirmed"


def post_days(event: Event, participant_ids: list[int] | None = None) -> dict[int, set[int]]:
    """E-forum: participant id -> ids of the sessions (days) on which they had a post accepted.

    A post counts on the day it was written (event's zone), matched to the session of
    that date; a post outside every session day counts for nothing.
    """
    if not event.is_eforum:
        return {}
    by_day: dict[date, int] = {}
    for s in event.active_sessions:
        by_day.setdefault(to_zone(s.starts_at, event.timezone).date(), s.id)
    stmt = select(Post.participant_id, Post.created_at).where(
        Post.event_id == event.id, Post.status == "accepted", Post.participant_id.is_not(None)
    )
    if participant_ids is not None:
        stmt = stmt.where(Post.participant_id.in_(participant_ids))
    days: dict[int, set[int]] = defaultdict(set)
    for pid, created in db.session.execute(stmt):
        session_id = by_day.get(to_zone(created, event.timezone).date())
        if session_id is not None and pid is not None:
            days[pid].add(session_id)
    return days


def registrations(event: Event) -> list[Subscription]:
    """Everyone whose registration counts for the record: confirmed, still in or left later."""
    stmt = (
        select(Subscription)
        .where(Subscription.event_id == event.id, Subscription.status.in_(REGISTERED_STATUSES))
        .options(joinedload(Subscription.participant))
        .order_by(Subscription.id)
    )
    return list(db.session.scalars(stmt))


def records(event: Event, subscriptions: list[Subscription] | None = None) -> list[Record]:
    """The CE record of each registration (or of the ones given), in one pass over the rows."""
    subs = registrations(event) if subscriptions is None else subscriptions
    sessions = event.active_sessions
    session_ids = {s.id for s in sessions}
    settings = settings_for(event)
    marks: dict[int, dict[int, Mark]] = {s.id: {} for s in subs}
    if subs:
        # plain columns of the event's rows, not ORM objects: the record of a big series is 20k+ rows
        stmt = select(
            Attendance.subscription_id,
            Attendance.session_id,
            Attendance.sources,
            Attendance.minutes,
            Attendance.first_seen_at,
            Attendance.marked_by,
        ).where(Attendance.session_id.in_(session_ids or [-1]))
        if subscriptions is not None:
            stmt = stmt.where(Attendance.subscription_id.in_([s.id for s in subs]))
        for sub_id, session_id, sources, minutes, first_seen, marked_by in db.session.execute(stmt):
            doors = {d for d in sources.split(",") if d}
            if doors and sub_id in marks:
                marks[sub_id][session_id] = Mark(session_id, doors, minutes, first_seen, marked_by)
        posted = post_days(event, [s.participant_id for s in subs])
        for sub in subs:
            for session_id in posted.get(sub.participant_id, set()):
                marks[sub.id].setdefault(session_id, Mark(session_id)).sources.add("post")
        by_id = {s.id: s for s in sessions}
        needed = {s.id: credit.session_minimum(s, settings).for_session(s) for s in sessions}
        worth = {s.id: session_minutes(s) for s in sessions}
        for person in marks.values():
            for session_id, m in person.items():
                s = by_id[session_id]
                m.confirmed = credit.confirmed_minutes(m.sources, m.minutes, s)
                m.needed = needed[session_id]
                m.met = m.confirmed is not None and m.confirmed >= m.needed
                m.credit = credit.credit(m.confirmed, s, worth[session_id], settings)
    return [Record(sub, marks[sub.id], sessions, settings) for sub in subs]


def record_for(subscription: Subscription) -> Record:
    return records(subscription.event, [subscription])[0]


@dataclass
class SessionCount:
    session: Session
    registered: int
    attended: int
    minutes: int


def _registered_for(sub: Subscription, session: Session) -> bool:
    """Registered before the session ended and had not left before it began."""
    joined = sub.confirmed_at or sub.created_at
    left = sub.unsubscribed_at if not sub.is_active else None
    return joined <= session.ends_at and (left is None or left > session.starts_at)


def session_counts(event: Event, recs: list[Record] | None = None) -> list[SessionCount]:
    """Registered vs attended per session: the officer page's chart and table."""
    recs = records(event) if recs is None else recs
    out = []
    for s in event.active_sessions:
        # registered for a session = registered before it ended (late registrants missed earlier ones)
        registered = sum(1 for r in recs if _registered_for(r.subscription, s))
        attended = sum(1 for r in recs if s.id in r.marks and r.marks[s.id].met)
        out.append(SessionCount(s, registered, attended, session_minutes(s)))
    return out


# --- doors that write -------------------------------------------------------------------------


def _row(subscription: Subscription, session: Session) -> Attendance:
    row = db.session.scalar(
        select(Attendance).where(
            Attendance.subscription_id == subscription.id, Attendance.session_id == session.id
        )
    )
    if row is None:
        row = Attendance(subscription_id=subscription.id, session_id=session.id, sources="", clicks=0)
        db.session.add(row)
    return row


def mark(subscription: Subscription, session: Session, officer_email: str) -> bool:
    """An officer's mark by hand; returns False when it was already marked."""
    if subscription.event_id != session.event_id:
        raise AttendanceError(_("That person is not registered for this event."))
    row = _row(subscription, session)
    if "manual" in row.source_list:
        return False
    row.add_source("manual")
    row.marked_by, row.marked_at = officer_email, clock.now()
    return True


def unmark(subscription: Subscription, session: Session) -> bool:
    """Undo an officer's mark; other doors' evidence (a click, a report) stays."""
    row = db.session.scalar(
        select(Attendance).where(
            Attendance.subscription_id == subscription.id, Attendance.session_id == session.id
        )
    )
    if row is None or "manual" not in row.source_list:
        return False
    row.remove_source("manual")
    row.marked_by, row.marked_at = "", None
    if not row.source_list:
        db.session.delete(row)
    return True


def attendance_count(event: Event) -> int:
    """Rows for this event (for the API and quick checks)."""
    stmt = select(func.count()).select_from(Attendance).join(Session).where(Session.event_id == event.id)
    return db.session.scalar(stmt) or 0
