"""Certificates of completion and of attendance: who gets one, the PDF, verification, the mail.

A registration earns a *certificate of completion* when its attendance meets the event's
completion rule, or a *certificate of attendance* (listing what was attended) when it
does not but something was attended; if the officer requires it, only once the
evaluation is answered; and never before the last session has ended. The certificate
row keeps a public verification code and a copy of what the PDF says (name as the person
gave it, title, hours, sessions); issuing again refreshes that copy under the same code,
so a participant who corrects their name on the preferences page gets a corrected PDF.

The PDF is drawn with fpdf2 in DejaVu Sans, shipped in forum/fonts (its licence beside
it), so any name the Unicode BMP can spell renders, whatever fonts the server has.
"""

from __future__ import annotations

import io
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import String, cast, delete, func, literal, select
from sqlalchemy.exc import IntegrityError

from forum.ce import attendance, certificate_look, evaluations
from forum.common import branding
from forum.common.jobs import JobReport, register_job, run_reported
from forum.core import clock, i18n
from forum.core.extensions import db
from forum.core.timezones import format_date, format_range, to_zone, zone_label
from forum.core.urls import external_url
from forum.mail import links
from forum.mail.compose import notice
from forum.mail.outbox import enqueue_for
from forum.models import Certificate, CESettings, Event, JobRun, Session, Subscription
from forum.subscriptions.erasure import Erasure, is_erased, register_erasure_step

if TYPE_CHECKING:
    from fpdf import FPDF

FONT_DIR = Path(__file__).parent.parent / "fonts"
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes are typed from paper
#: Certificates are mailed within this long after the last session (later qualifiers too).
MAIL_WINDOW = timedelta(days=30)
MAX_DELAY = timedelta(days=30)  # the longest delay an officer may set before mailing
DEFAULT_COLOUR = "#0b5cad"  # the certificate's border when no brand colour is set


class CertificateError(ValueError):
    """Why a certificate cannot be had (yet), in words for the participant."""


def organisation_name() -> str:
    """The issuing organisation printed on certificates: the full name from the branding
    settings (the officer's settings page, else ORG_NAME in the environment)."""
    return branding.current().org_name


def new_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def clean_code(code: str) -> str:
    """A code as typed (lower case, spaces, missing dashes) in its stored form."""
    raw = "".join(c for c in code.upper() if c.isalnum())
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}" if len(raw) == 12 else code.strip().upper()


# --- who gets one --------------------------------------------------------------------------


@dataclass
class Standing:
    """Where one registration stands: the certificate it can have now, or why not."""

    kind: str | None  # completion | attendance | None
    reason: str
    record: attendance.Record


def standing(subscription: Subscription, at: datetime | None = None) -> Standing:
    at = at or clock.now()
    event = subscription.event
    record = attendance.record_for(subscription)
    settings = record.settings
    ends = event.ends_at
    if ends is None or at < ends:
        return Standing(None, "Certificates are issued after the last session.", record)
    if not record.attended:
        return Standing(None, "No attendance is recorded for you at this event.", record)
    if settings.evaluation_required and not evaluations.has_answered(subscription):
        return Standing(None, "Answer the evaluation first: the certificate follows it.", record)
    kind = "completion" if record.completed else "attendance"
    return Standing(kind, "", record)


def session_lines(event: Event, record: attendance.Record) -> list[dict[str, object]]:
    """What a certificate lists per session attended: title, date and time in the event's
    zone, and the CE minutes earned there (the credit rule's, so the lines add up)."""
    label = zone_label(event.timezone)
    return [
        {
            "title": s.display_title,
            "date": format_date(to_zone(s.starts_at, event.timezone)),
            "time": format_range(s.starts_at, s.ends_at, event.timezone, label),
            "minutes": record.credit_of(s),
        }
        for s in record.attended
    ]


def event_dates(event: Event) -> str:
    first, last = event.first_date, event.last_date
    if first is None or last is None:
        return ""
    if first == last:
        return format_date(first)
    return f"{format_date(first)} – {format_date(last)}"


def issue(subscription: Subscription, at: datetime | None = None) -> Certificate:
    """The registration's certificate, created or brought up to date; the caller commits.

    Raises CertificateError when there is none to have (yet), or no name to print.
    """
    participant = subscription.participant
    if is_erased(participant):
        raise CertificateError(_("This registration was deleted at the participant's request."))
    state = standing(subscription, at)
    if state.kind is None:
        raise CertificateError(state.reason)
    name = participant.name.strip()
    if not name:
        raise CertificateError(_("Add your name on your preferences page: it is printed on the certificate."))
    cert = _certificate_of(subscription)
    if cert is None:
        cert = Certificate(subscription_id=subscription.id, code=new_code(), issued_at=at or clock.now())
        cert.subscription = subscription
        try:
            with db.session.begin_nested():  # two downloads at once: the unique key keeps one
                db.session.add(cert)
        except IntegrityError:
            cert = _certificate_of(subscription)
            if cert is None:
                raise
    values = {
        "kind": state.kind,
        "name": name,
        # the title as the participant reads it (the event's second language when it is theirs)
        "event_title": subscription.event.in_language(i18n.language_of(participant.language))[0],
        "minutes": state.record.minutes,
        "sessions": session_lines(subscription.event, state.record),
    }
    for attr, value in values.items():
        if getattr(cert, attr) != value:
            setattr(cert, attr, value)
    db.session.flush()
    return cert


def revoke(subscription: Subscription) -> str | None:
    """Withdraw the registration's certificate (its code stops verifying); the code it had,
    or None. The audit log and the `certificate.revoked` webhook follow from the deletion."""
    cert = _certificate_of(subscription)
    if cert is None:
        return None
    code = cert.code
    db.session.delete(cert)
    db.session.flush()
    return code


def _certificate_of(subscription: Subscription) -> Certificate | None:
    return db.session.scalar(select(Certificate).where(Certificate.subscription_id == subscription.id))


def find(code: str) -> Certificate | None:
    """The certificate a code names, or None (unknown, forged, or its person erased)."""
    cert = db.session.scalar(select(Certificate).where(Certificate.code == clean_code(code)))
    if cert is None or is_erased(cert.subscription.participant):
        return None
    return cert


def verify_url(cert: Certificate) -> str:
    return external_url("certificates.verify", code=cert.code)


@dataclass(frozen=True)
class Verified:
    """A certificate another area issued (a mentoring programme's), as the public verification
    page shows it: a name, what it was for, when, and the code; nothing else."""

    name: str
    title: str
    detail: str
    issued: str
    code: str


#: areas above this one that issue certificates of their own register how to find one by code
#: (mentoring: `mentoring/jobs.py`), so the one verification page answers for every code
FINDERS: list[Callable[[str], Verified | None]] = []


def register_finder(finder: Callable[[str], Verified | None]) -> Callable[[str], Verified | None]:
    FINDERS.append(finder)
    return finder


def find_other(code: str) -> Verified | None:
    """A certificate no event issued, by its code, or None."""
    for finder in FINDERS:
        found = finder(code)
        if found is not None:
            return found
    return None


def code_url(code: str) -> str:
    """The verification page of any code (an event's certificate or another area's)."""
    return external_url("certificates.verify", code=code)


# --- the PDF ----------------------------------------------------------------------------------


def _page(title: str, org: str, brand: str) -> FPDF:
    """What every certificate starts from: an A4 landscape page with its fonts, margins, the
    document's title and author, and a border in the officer's brand colour."""
    # Imported here: fpdf costs half a second at import, and every process that loads the app
    # would pay it; only a certificate needs it.
    from fpdf import FPDF  # noqa: PLC0415 - only a certificate needs fpdf (see above)

    pdf = FPDF(orientation="landscape", format="A4", unit="mm")
    pdf.add_font("DejaVu", "", str(FONT_DIR / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.set_margins(22, 18, 22)
    pdf.set_title(title)
    pdf.set_author(org)
    pdf.set_creator("Forum")
    pdf.add_page()
    pdf.set_draw_color(*_rgb(brand))
    pdf.set_line_width(1.2)
    pdf.rect(10, 10, pdf.w - 20, pdf.h - 20)
    return pdf


def _brand() -> str:
    """The officer's brand colour, or the default blue."""
    return branding.current().brand_colour or DEFAULT_COLOUR


def render_pdf(cert: Certificate) -> bytes:
    """The certificate as a PDF (A4 landscape), from the certificate row alone."""
    event = cert.subscription.event
    org = organisation_name()
    brand = _brand()
    pdf = _page(f"{cert.kind_label}: {cert.event_title}", org, brand)
    width = pdf.w - pdf.l_margin - pdf.r_margin
    look = certificate_look.look_for(event)
    if look.logo:  # centred above the organisation's name, 16 mm high
        px_w, px_h = certificate_look.logo_size(look.logo)
        logo_h = min(14.0, 70.0 * px_h / px_w)  # a wide logo is at most 70 mm across
        logo_w = logo_h * px_w / px_h
        pdf.image(io.BytesIO(look.logo), x=pdf.l_margin + (width - logo_w) / 2, y=pdf.get_y(), w=logo_w, h=logo_h)
        pdf.set_y(pdf.get_y() + logo_h + 2)
    tight = 3 if look.logo else 6  # the logo's room comes out of the gaps under the headings

    def line(text: str, size: float, style: str = "", gap: float = 2) -> None:
        pdf.set_font("DejaVu", style, size)
        pdf.multi_cell(width, size * 0.5, text, align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(gap)

    line(org, 14, "B", tight)
    line(str(cert.kind_label), 28, "B", tight)
    line(_("This certifies that"), 12)
    line(cert.name, 24, "B", 4)
    if cert.kind == "completion":
        line(_("completed the %(kind)s", kind=str(event.kind_label).lower()), 12)
    else:
        line(_("attended sessions of the %(kind)s", kind=str(event.kind_label).lower()), 12)
    line(cert.event_title, 18, "B", 2)
    dates = event_dates(event)
    if dates:
        line(_("%(dates)s (%(zone)s time)", dates=dates, zone=zone_label(event.timezone)), 11, "", 3)
    line(
        _("Continuing-education hours: %(hours)s", hours=attendance.hours_text(cert.minutes)),
        13,
        "B",
        2 if look.provider_line else 5,
    )
    if look.provider_line:
        line(look.provider_line, 10, "", 4)

    pdf.set_font("DejaVu", "B", 10)
    pdf.set_fill_color(*_rgb(branding.accent_wash(brand)))
    cols = (width * 0.42, width * 0.24, width * 0.22, width * 0.12)
    for text, w in zip((_("Session"), _("Date"), _("Time"), _("Hours")), cols, strict=True):
        pdf.cell(w, 7, text, border="B", fill=True)
    pdf.ln(7)
    pdf.set_font("DejaVu", "", 10)
    for s in cert.sessions:
        row = (str(s["title"]), str(s["date"]), str(s["time"]), attendance.hours_text(int(s["minutes"])))
        for text, w in zip(row, cols, strict=True):
            pdf.cell(w, 6.5, _fit(pdf, text, w))
        pdf.ln(6.5)
    pdf.ln(6)
    pdf.set_y(max(pdf.get_y() + 10, pdf.h - (52 if look.signatory_name else 48)))  # the signature line, then the issue line and code
    line_x = pdf.l_margin + width / 2 - 40
    pdf.set_draw_color(60, 60, 60)
    pdf.set_line_width(0.3)
    pdf.line(line_x, pdf.get_y(), line_x + 80, pdf.get_y())
    pdf.ln(1.5)
    if look.signatory_name:
        pdf.set_font("DejaVu", "B", 10)
        signer = look.signatory_name + (f", {look.signatory_title}" if look.signatory_title else "")
        pdf.multi_cell(width, 4.5, signer, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 9)
    pdf.multi_cell(width, 4.5, _("For %(organisation)s", organisation=org), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.multi_cell(
        width,
        5,
        _(
            "Issued %(date)s. Verification code %(code)s: %(url)s",
            date=format_date(to_zone(cert.issued_at, event.timezone), weekday=False),
            code=cert.code,
            url=verify_url(cert),
        ),
        align="C",
    )
    return bytes(pdf.output())


def participation_pdf(*, name: str, title: str, lines: list[str], code: str, issued: str) -> bytes:
    """A certificate of participation for something that is not an event (a mentoring
    programme): the same page, fonts, border and verification line, without the hours table.
    Its words are in the locale in force (the caller renders it in the recipient's)."""
    org = organisation_name()
    pdf = _page(f"Certificate of participation: {title}", org, _brand())
    width = pdf.w - pdf.l_margin - pdf.r_margin
    for text, size, style, gap in (
        (org, 14, "B", 6),
        (_("Certificate of participation"), 28, "B", 6),
        (_("This certifies that"), 12, "", 2),
        (name, 24, "B", 4),
        (_("took part in"), 12, "", 2),
        (title, 18, "B", 4),
        *((line, 12, "", 2) for line in lines),
    ):
        pdf.set_font("DejaVu", style, size)
        pdf.multi_cell(width, size * 0.5, text, align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(gap)
    pdf.set_y(pdf.h - 40)
    pdf.set_font("DejaVu", "", 9)
    pdf.multi_cell(width, 4.5, _("For %(organisation)s", organisation=org), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(
        width,
        5,
        _("Issued %(date)s. Verification code %(code)s: %(url)s", date=issued, code=code, url=code_url(code)),
        align="C",
    )
    return bytes(pdf.output())


def _rgb(colour: str) -> tuple[int, int, int]:
    """`#0b5cad` as (11, 92, 173); anything else as the default colour."""
    if not branding.HEX_RE.match(colour):
        colour = DEFAULT_COLOUR
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _fit(pdf: FPDF, text: str, width: float) -> str:
    """Cut a cell's text with an ellipsis so a long title never runs into the next column."""
    if pdf.get_string_width(text) <= width - 2:
        return text
    while text and pdf.get_string_width(text + "…") > width - 2:
        text = text[:-1]
    return text + "…"


def filename(cert: Certificate) -> str:
    return f"certificate-{cert.subscription.event.slug}-{cert.code}.pdf"


# --- the mail after the last session -------------------------------------------------------


def _events_due(at: datetime) -> list[Event]:
    """Published events whose last session ended within the mail window."""
    recent = select(Session.event_id).where(
        Session.ends_at <= at, Session.ends_at > at - MAIL_WINDOW - MAX_DELAY
    )
    candidates = db.session.scalars(
        select(Event).where(Event.status == "published", Event.id.in_(recent)).order_by(Event.id)
    ).all()
    due = []
    for event in candidates:
        ends = event.ends_at
        settings = db.session.scalar(select(CESettings).where(CESettings.event_id == event.id))
        delay = timedelta(hours=settings.certificate_delay_hours if settings else 24)
        if settings is not None and not settings.mail_certificates:
            continue
        if ends is not None and ends + delay <= at < ends + delay + MAIL_WINDOW:
            due.append(event)
    return due


def mail_certificate(subscription: Subscription, at: datetime) -> tuple[int, str]:
    """Queue one participant's certificate mail (PDF attached, or a link when no name is known)."""
    participant = subscription.participant
    try:
        cert: Certificate | None = issue(subscription, at)
    except CertificateError:
        cert = None  # no name yet: the mail says where to add it and download
    state = standing(subscription, at)
    msg = notice(
        subscription,
        _l("Your certificate"),
        "certificate",
        {
            "certificate": cert,
            # worded when the mail is rendered, in the recipient's locale (`1,5` in French)
            "hours": LazyString(attendance.hours_text, state.record.minutes),
            "hours_count": attendance.hours_count(state.record.minutes),
            "verify_url": verify_url(cert) if cert else "",
            "preferences_url": links.preferences_url(participant),
        },
        posting_open=False,
    )
    if cert is not None:
        with i18n.in_locale(subscription.participant.language):  # the PDF in the recipient's language
            pdf = render_pdf(cert)
        msg.add_attachment(pdf, maintype="application", subtype="pdf", filename=filename(cert))
    queued = enqueue_for(subscription, msg, "certificate", f"certificate:{subscription.id}")
    return (1 if queued else 0), (cert.kind if cert else "no name yet")


def mailed_count(event: Event) -> int:
    """How many of the event's registrations have had their certificate mail."""
    target = literal("subscription:", String) + cast(Subscription.id, String)
    targets = select(target).where(Subscription.event_id == event.id)
    stmt = (
        select(func.count())
        .select_from(JobRun)
        .where(JobRun.kind == "certificate", JobRun.target.in_(targets))
    )
    return db.session.scalar(stmt) or 0


def send_due(at: datetime, report: JobReport, event: Event | None = None) -> None:
    """Scheduler job: mail each registration that met the rule its certificate, once.

    One job_run key per registration, so someone who qualifies later (an officer's late
    upload, an evaluation answered on day 3) is mailed on a later run, and nobody twice.
    """
    for ev in [event] if event else _events_due(at):
        recs = [r for r in attendance.records(ev) if r.completed and r.subscription.is_active]
        targets = [f"subscription:{r.subscription.id}" for r in recs]
        mailed = set(
            db.session.scalars(
                select(JobRun.target).where(JobRun.kind == "certificate", JobRun.target.in_(targets or [""]))
            )
        )  # a sweep every minute must not re-check everyone already mailed
        for record in recs:
            sub = record.subscription
            if f"subscription:{sub.id}" in mailed:
                continue
            if standing(sub, at).kind != "completion":
                continue  # e.g. the evaluation comes first
            run_reported(
                report,
                f"certificate {ev.slug} subscription {sub.id}",
                "certificate",
                f"subscription:{sub.id}",
                "completion",
                ev.ends_at,
                partial(mail_certificate, sub, at),
                show_note=True,
            )


def ce_job(at: datetime, report: JobReport, event: Event | None = None) -> None:
    """The `ce` job: evaluation invitations first (a certificate may wait for an answer)."""
    evaluations.send_due(at, report, event)
    send_due(at, report, event)


register_job("ce", "evaluation invitations and certificates after an event's last session", ce_job)


@register_erasure_step
def _forget_certificates(erasure: Erasure) -> None:
    """ "Delete my data": certificates carry the name as printed, so they go (their codes then
    verify nothing: a verification page must not show a name the person asked us to forget).
    Attendance and evaluation answers stay, tied to the anonymous rows, so the programme's
    counts and results do not change."""
    if erasure.subscription_ids:
        db.session.execute(
            delete(Certificate).where(Certificate.subscription_id.in_(erasure.subscription_ids)),
            execution_options={"synchronize_session": False},
        )
