"""Applying to be a mentor or a mentee: eligibility, the double opt-in, a guardian's consent,
editing until the window closes, withdrawing, the member list, "delete my data".

No accounts: an applicant is a `Participant` (one per address, "register once": an address
confirmed for anything before needs no second confirmation) and manages the application
through a signed link. The rules are checked here, on the server, whatever the door:

* the window must be open to apply or edit (withdrawing works at any time);
* a mentor must be on the officers' member list (address or member number), and a
  non-member is told so, never silently dropped;
* a mentee under 18 names a parent or guardian (name, address, postal address); the
  guardian confirms through their own signed link before the application counts;
* the answers to the programme's questions (sensitive ones included) go through the
  registration engine's `check_answers`/`save_answers`, so they follow its rules;
* someone typing another person's address cannot rewrite that person's confirmed
  application: they get the same "check your inbox", and the owner a mail with their link.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select

from forum.core import clock, i18n, timezones
from forum.core.extensions import db
from forum.core.tokens import make_stable_token, read_stable_token
from forum.core.urls import external_url
from forum.core.validation import control_character_problem, email_key
from forum.mail import links
from forum.mail.compose import build_message
from forum.mail.headers import address
from forum.mail.outbox import enqueue
from forum.mentoring.programmes import MentoringError, is_open
from forum.models import MentoringApplication, MentoringCycle, MentoringMember, QuestionForm
from forum.models.mentoring import AVAILABILITY, CAREER_STAGES, ROLES, SENSITIVE_SECTIONS
from forum.registration import answers as answer_rules
from forum.registration.answers import Raw
from forum.subscriptions.erasure import Erasure, register_erasure_step
from forum.subscriptions.service import SubscriptionError, get_or_create_participant, normalize_email

#: fields an applicant fills in besides the programme's questions
PROFILE_FIELDS = (
    "name",
    "bio",
    "timezone",
    "checkin_hour",
    "interests",
    "stage",
    "languages",
    "availability",
    "capacity",
    "prefer_same",
    "member_number",
)


@dataclass
class Applied:
    """What `apply` did, for the door's message (the page says the same in every case)."""

    application: MentoringApplication
    needs_confirmation: bool
    answer_errors: dict[int, str] = field(default_factory=dict)


class AnswerErrors(MentoringError):
    def __init__(self, errors: dict[int, str]):
        super().__init__(_("Some answers need your attention."), field="answers")
        self.errors = errors


# --- the member list ------------------------------------------------------------------------------


def member_key(raw: str) -> str:
    """An address's identity, or a member number (spaces, hyphens and case ignored: "a-1234"
    on the form is "A 1234" on the list)."""
    text = raw.strip()
    return email_key(text) if "@" in text else "#" + "".join(c for c in text if c.isalnum()).upper()


def import_members(text: str, *, replace: bool = False) -> int:
    """A CSV (or one per line) of addresses and/or member numbers; returns how many are new."""
    if replace:
        db.session.execute(delete(MentoringMember))
    known = set(db.session.scalars(select(MentoringMember.key)))
    added = 0
    now = clock.now()
    for row in csv.reader(io.StringIO(text)):
        for cell in row:
            if not cell.strip() or control_character_problem(cell) or len(cell) > 320:
                continue
            key = member_key(cell)
            if key not in known and key not in ("#", ""):
                known.add(key)
                db.session.add(MentoringMember(key=key, imported_at=now))
                added += 1
    db.session.flush()
    return added


def member_count() -> int:
    return len(list(db.session.scalars(select(MentoringMember.id))))


def is_member(email: str, member_number: str) -> bool:
    keys = [member_key(email)]
    if member_number.strip():
        keys.append(member_key(member_number))
    return db.session.scalar(select(MentoringMember.id).where(MentoringMember.key.in_(keys))) is not None


# --- applying -------------------------------------------------------------------------------------


def _line(data: Mapping[str, object], name: str, limit: int, *, required: bool = False) -> str:
    value = data.get(name)
    text = "" if value is None else str(value).strip()
    problem = control_character_problem(text, multiline=name in ("bio", "interests", "guardian_address"))
    if problem:
        raise MentoringError(problem, field=name)
    if required and not text:
        raise MentoringError(_("This field is needed."), field=name)
    if len(text) > limit:
        raise MentoringError(_("Keep this under %(limit)d characters.", limit=limit), field=name)
    return text


def _listed(raw: object, allowed: tuple[str, ...] | None, name: str) -> list[str]:
    items = raw if isinstance(raw, list | tuple) else str(raw or "").replace("\n", ",").split(",")
    out: list[str] = []
    for item in items:
        text = str(item).strip()
        if not text:
            continue
        if allowed is not None and text not in allowed:
            raise MentoringError(_("“%(value)s” is not one of the choices.", value=text[:60]), field=name)
        if text not in out:
            out.append(text)
    return out


def _apply_profile(item: MentoringApplication, data: Mapping[str, object]) -> None:
    """Check and set the applicant's own fields (not the programme's questions)."""
    item.name = _line(data, "name", 200, required=True)
    item.bio = _line(data, "bio", 4000)
    zone = timezones.canonical(_line(data, "timezone", 64) or "America/New_York")
    if not timezones.is_zone(zone):
        raise MentoringError(_("“%(zone)s” is not a known time zone.", zone=zone[:64]), field="timezone")
    item.timezone = zone
    try:
        hour = int(str(data.get("checkin_hour", 10) or 10))
    except ValueError:
        hour = -1
    if not 6 <= hour <= 21:
        raise MentoringError(_("Choose an hour between 6 AM and 9 PM."), field="checkin_hour")
    item.checkin_hour = hour
    interests = [i.lower() for i in _listed(data.get("interests"), None, "interests")][:20]
    item.interests = "\n".join(i[:80] for i in interests)
    stage = str(data.get("stage") or "early")
    if stage not in CAREER_STAGES:
        raise MentoringError(_("Choose a career stage from the list."), field="stage")
    item.stage = stage
    item.languages = ", ".join(_listed(data.get("languages") or "English", None, "languages")[:8])[:200]
    item.availability = ",".join(_listed(data.get("availability"), AVAILABILITY, "availability"))
    item.prefer_same = ",".join(_listed(data.get("prefer_same"), SENSITIVE_SECTIONS, "prefer_same"))
    try:
        capacity = int(str(data.get("capacity", 1) or 1))
    except ValueError:
        capacity = 0
    if item.role == "mentor" and not 1 <= capacity <= 5:
        raise MentoringError(_("Offer to take from 1 to 5 mentees."), field="capacity")
    item.capacity = capacity if item.role == "mentor" else 1
    item.member_number = _line(data, "member_number", 60)


def _apply_guardian(item: MentoringApplication, data: Mapping[str, object]) -> None:
    """A mentee says whether they are 18 or over; under 18, the guardian's details are needed."""
    adult = data.get("adult")
    item.adult = item.role == "mentor" or str(adult).lower() in ("1", "true", "yes", "on", "y")
    if item.adult:
        item.guardian_name = item.guardian_email = item.guardian_address = ""
        return
    item.guardian_name = _line(data, "guardian_name", 200, required=True)
    raw_email = _line(data, "guardian_email", 320, required=True)
    try:
        item.guardian_email = normalize_email(raw_email)
    except SubscriptionError as exc:
        raise MentoringError(str(exc), field="guardian_email") from None
    item.guardian_address = _line(data, "guardian_address", 1000, required=True)


def form_of(cycle: MentoringCycle, role: str) -> QuestionForm | None:
    form_id = cycle.programme.form_id(role)
    return db.session.get(QuestionForm, form_id) if form_id else None


def apply(
    cycle: MentoringCycle,
    role: str,
    raw_email: str,
    data: Mapping[str, object],
    raw_answers: Mapping[int, Raw],
    language: str | None = None,
) -> Applied:
    """An application; raises MentoringError (a field) or AnswerErrors (the questions).
    `language` is the applicant's browser's (kept for a new address): every later mail to
    them, from the confirmation to the certificate, is written in it."""
    if role not in ROLES:
        raise MentoringError(_("Apply as a mentor or as a mentee."), field="role")
    if not is_open(cycle):
        raise MentoringError(_("Applications for this cycle are not open."), field="email")
    try:
        email = normalize_email(raw_email)
    except SubscriptionError as exc:
        raise MentoringError(str(exc), field="email") from None
    draft = MentoringApplication(cycle_id=cycle.id, role=role)
    _apply_profile(draft, data)
    _apply_guardian(draft, data)
    if role == "mentor" and not is_member(email, draft.member_number):
        raise MentoringError(
            _(
                "Mentors must be members, and we could not find this address or member number on "
                "our member list. Check the member number on your card, or write to us if you "
                "joined recently."
            ),
            field="member_number",
        )
    checked = answer_rules.check_answers(form_of(cycle, role), raw_answers)
    if not checked.ok:
        raise AnswerErrors(checked.errors)
    participant = get_or_create_participant(email, draft.name, language)
    item = db.session.scalar(
        select(MentoringApplication).where(
            MentoringApplication.cycle_id == cycle.id,
            MentoringApplication.participant_id == participant.id,
            MentoringApplication.role == role,
        )
    )
    if item is not None and item.status in ("guardian", "active"):
        send_manage_link(item)  # the owner gets their link; a stranger changes nothing
        return Applied(item, needs_confirmation=False)
    if item is None:
        item = MentoringApplication(cycle=cycle, participant=participant, role=role)
        db.session.add(item)
    for name in (*PROFILE_FIELDS, "adult", "guardian_name", "guardian_email", "guardian_address"):
        setattr(item, name, getattr(draft, name))
    item.status, item.withdrawn_at = "pending", None
    db.session.flush()
    answer_rules.save_answers(form_of(cycle, role), participant.id, checked)
    if participant.confirmed_at is not None:
        confirm(item)
        return Applied(item, needs_confirmation=False)
    send_confirmation(item)
    return Applied(item, needs_confirmation=True)


def confirm(item: MentoringApplication) -> None:
    """The applicant's address is theirs: a minor's application waits for the guardian."""
    if item.status != "pending":
        return
    now = clock.now()
    item.confirmed_at = item.confirmed_at or now
    if item.participant.confirmed_at is None:
        item.participant.confirmed_at = now
    if item.role == "mentee" and not item.adult and item.guardian_confirmed_at is None:
        item.status = "guardian"
        send_guardian_request(item)
    else:
        item.status = "active"
        send_received(item)
    db.session.flush()


def guardian_confirm(item: MentoringApplication) -> None:
    if item.status == "guardian":
        item.guardian_confirmed_at = clock.now()
        item.status = "active"
        send_received(item)
        db.session.flush()


def edit(
    item: MentoringApplication, data: Mapping[str, object], raw_answers: Mapping[int, Raw]
) -> MentoringApplication:
    """The applicant changes their application (signed link) while the window is open."""
    if item.status == "withdrawn":
        raise MentoringError(_("This application was withdrawn."), field="name")
    if not is_open(item.cycle):
        raise MentoringError(
            _("Applications closed; write to the programme to change anything."), field="name"
        )
    merged: dict[str, object] = {name: getattr(item, name) for name in PROFILE_FIELDS}
    merged.update(data)
    _apply_profile(item, merged)
    if item.role == "mentor" and not is_member(item.participant.email, item.member_number):
        raise MentoringError(_("This member number is not on our member list."), field="member_number")
    checked = answer_rules.check_answers(form_of(item.cycle, item.role), raw_answers)
    if not checked.ok:
        raise AnswerErrors(checked.errors)
    answer_rules.save_answers(form_of(item.cycle, item.role), item.participant_id, checked)
    db.session.flush()
    return item


def active_applications(cycle: MentoringCycle, role: str) -> list[MentoringApplication]:
    return [a for a in cycle.applications if a.role == role and a.status == "active"]


# --- signed links and mail -------------------------------------------------------------------------


def manage_url(item: MentoringApplication) -> str:
    """The applicant's own page (edit, withdraw): valid while the application exists."""
    return external_url("mentoring.application", token=make_stable_token("mentoring-application", item.id))


def read_manage_token(token: str) -> MentoringApplication | None:
    value = read_stable_token("mentoring-application", token)
    return db.session.get(MentoringApplication, value) if isinstance(value, int) else None


def confirm_url(item: MentoringApplication) -> str:
    return links.signed_link("mentoring.confirm", "mentoring-confirm", item.id)


def guardian_url(item: MentoringApplication) -> str:
    return links.signed_link("mentoring.guardian", "mentoring-guardian", item.id)


def read_token_of(purpose: str, token: str) -> MentoringApplication | None:
    """The application a confirm or guardian link names; raises tokens.TokenError."""
    lifetime = "confirm" if purpose == "mentoring-confirm" else None
    return links.linked_row(MentoringApplication, purpose, token, lifetime)


def _mail(
    item: MentoringApplication,
    subject: str,
    template: str,
    *,
    hourly: bool = False,
    to_guardian: bool = False,
    **extra: object,
) -> None:
    """One mail about an application, to the applicant (or `to_guardian`), in the applicant's
    language (the family's language is the one the applicant chose). `subject` is lazy (`_l`),
    read in it. Each kind goes once per application; `hourly`: once an hour, for the mails a
    visitor's request sends again (the confirm link, the link to one's application)."""
    kind = template.replace("_", "-")
    key = f"{kind}:{item.id}:{clock.now():%Y%m%d%H}" if hourly else f"{kind}:{item.id}"
    to = (
        address(item.guardian_email, item.guardian_name)
        if to_guardian
        else address(item.participant.email, item.name)
    )
    language = item.participant.language
    with i18n.in_locale(language):
        msg = build_message(
            to=to,
            subject=subject,
            template=template,
            context={
                "application": item,
                "programme": item.cycle.programme,
                "cycle": item.cycle,
                "manage_url": manage_url(item),
                **extra,
            },
            headers={"Auto-Submitted": "auto-generated"},
            language=language,
        )
    enqueue(msg, kind=kind, key=key)


def send_confirmation(item: MentoringApplication) -> None:
    subject = _l("Confirm your application: %(title)s", title=item.cycle.programme.title)
    hours = links.token_max_age("confirm") // 3600
    _mail(item, subject, "mentoring_confirm", hourly=True, confirm_url=confirm_url(item), valid_hours=hours)


def send_manage_link(item: MentoringApplication) -> None:
    subject = _l("Your application: %(title)s", title=item.cycle.programme.title)
    _mail(item, subject, "mentoring_link", hourly=True)


def send_guardian_request(item: MentoringApplication) -> None:
    subject = _l("Your permission is asked: %(title)s", title=item.cycle.programme.title)
    _mail(item, subject, "mentoring_guardian", to_guardian=True, guardian_url=guardian_url(item))


def send_received(item: MentoringApplication) -> None:
    with i18n.in_locale(item.participant.language):  # the closing time in their locale's format
        closes = timezones.stated_instant(item.cycle.closes_at, item.cycle.programme.timezone, item.timezone)
    subject = _l("Application received: %(title)s", title=item.cycle.programme.title)
    _mail(item, subject, "mentoring_received", closes=closes)


# --- withdrawing and erasure ----------------------------------------------------------------------

#: set by forum.mentoring.pairs: what ends a withdrawn applicant's match (tells the partner).
#: A hook rather than an import, since pairs.py builds on this module.
END_MATCHES: list[Callable[[MentoringApplication, str], None]] = []


def withdraw(item: MentoringApplication, *, reason: str = "withdrew") -> None:
    """Withdraw at any time; a match in progress ends and the partner is told."""
    if item.status == "withdrawn":
        return
    item.status, item.withdrawn_at = "withdrawn", clock.now()
    for end in END_MATCHES:
        end(item, reason)
    db.session.flush()


@register_erasure_step
def _erase_applications(erasure: Erasure) -> None:
    """ "Delete my data": applications are withdrawn (partners told) and emptied."""
    for item in db.session.scalars(
        select(MentoringApplication).where(MentoringApplication.participant_id == erasure.participant_id)
    ):
        withdraw(item, reason="erased")
        item.name, item.bio, item.interests, item.member_number = "", "", "", ""
        item.guardian_name = item.guardian_email = item.guardian_address = ""
        item.prefer_same = ""
    db.session.flush()
