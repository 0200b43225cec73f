"""Officer page for an event's continuing-education record: attendance per session (chart and
table), the platform report upload, marks by hand, CE hours per session, the completion rule,
and the CSV export. Everything it changes goes through forum.attendance / attendance_import."""

from __future__ import annotations

import io
from collections import Counter
from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from wtforms import BooleanField, IntegerField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import NumberRange, Optional

from forum.ce import attendance, attendance_import, certificate_look, certificates, credit
from forum.core import clock, spreadsheet
from forum.core.extensions import db
from forum.core.timezones import format_date, format_time
from forum.core.validation import CheckedForm
from forum.models import COMPLETION_RULES, Certificate, Event, Session, Subscription
from forum.web.ce.certificate_settings import LookFields
from forum.web.ce.certificates import issued_pdf
from forum.web.charts import grouped_bars
from forum.web.events.manage_common import get_event, get_owned, get_session, officer_blueprint
from forum.web.forms import submitted

bp = officer_blueprint("attendance", __name__, "/manage/events/<slug>/attendance")

GRID_LIMIT = 300  # rows shown on the page; the CSV has everyone






class ImportForm(CheckedForm):
    session = SelectField(_l("Session"), coerce=int)
    file = FileField(_l("Attendance report"), validators=[FileRequired("Choose the report file to upload.")])
    upload = SubmitField(_l("Import"))


class RuleForm(LookFields, CheckedForm):
    rule = SelectField(_l("Completion rule"), choices=[SelectChoice(k, v) for k, v in COMPLETION_RULES.items()])
    rule_value = StringField(_l("N (sessions or hours)"))
    min_attendance = StringField(_l("Minimum attendance per session"))
    credit = SelectField(
        _l("Credit for a session"), choices=[SelectChoice(k, v) for k, v in credit.CREDIT_RULES.items()]
    )
    evaluation_required = BooleanField(_l("Issue the certificate only after the evaluation is answered"))
    mail_certificates = BooleanField(_l("Mail certificates to everyone who completed it after the last session"))
    certificate_delay_hours = IntegerField(
        _l("Hours after the last session before certificates are mailed"),
        validators=[Optional(), NumberRange(0, 720, "Between 0 and 720 hours.")],
    )
    save_rule = SubmitField(_l("Save the rule"))


class HoursForm(CheckedForm):
    hours = StringField(_l("CE hours"))
    minimum = StringField(_l("Minimum attendance"))
    submit = SubmitField(_l("Save hours"))


class MarkForm(CheckedForm):
    submit = SubmitField(_l("Mark"))


def session_labeller(event: Event) -> Any:
    """A session's short name for pickers and column heads: its date, and its start time
    too when another session of the event falls on the same day."""
    days = Counter(s.start_local.date() for s in event.active_sessions)

    def label(session: Session, weekday: bool = True) -> str:
        day = format_date(session.start_local, weekday=weekday)
        if days[session.start_local.date()] > 1:
            return f"{day} {format_time(session.start_local)}"
        return day

    return label


def _import_form(event: Event) -> ImportForm:
    form = ImportForm()
    label = session_labeller(event)
    form.session.choices = [(s.id, f"{s.display_title}, {label(s)}") for s in event.active_sessions]
    return form


def _rule_form(event: Event, formdata: Any = None) -> RuleForm:
    settings = attendance.settings_for(event)
    value = ""
    if settings.rule == "sessions" and settings.rule_sessions:
        value = str(settings.rule_sessions)
    elif settings.rule == "hours" and settings.rule_minutes:
        value = attendance.hours_text(settings.rule_minutes)
    data = {
        "rule": settings.rule,
        "rule_value": value,
        "min_attendance": credit.event_minimum(settings).text,
        "credit": settings.credit or "full",
        "evaluation_required": settings.evaluation_required,
        "mail_certificates": settings.mail_certificates,
        "certificate_delay_hours": settings.certificate_delay_hours,
        **{name: getattr(settings, name) or "" for name in certificate_look.TEXT_FIELDS},
    }
    return RuleForm(formdata=formdata, data=data)


def render_page(
    event: Event,
    *,
    import_form: ImportForm | None = None,
    rule_form: RuleForm | None = None,
    status: int = 200,
    report: attendance_import.ImportReport | None = None,
    filename: str = "",
    import_session: Session | None = None,
) -> Any:
    recs = attendance.records(event)
    counts = attendance.session_counts(event, recs)
    labels = [session_labeller(event)(c.session, weekday=False) for c in counts]
    chart = (
        grouped_bars(
            labels,
            {
                "registered": ("Registered", [c.registered for c in counts]),
                "attended": ("Attended", [c.attended for c in counts]),
            },
        )
        if counts
        else None
    )
    if import_form is None:
        import_form = ImportForm(formdata=None)
        import_form.session.choices = _import_form(event).session.choices
    settings = attendance.settings_for(event)
    codes = issued_codes(recs)
    page = render_template(
        "ce/attendance.html",
        event=event,
        records=recs[:GRID_LIMIT],
        total=len(recs),
        completed=sum(1 for r in recs if r.completed),
        counts=counts,
        chart=chart,
        rule=attendance.rule_text(settings, event),
        import_form=import_form,
        rule_form=rule_form or _rule_form(event),
        hours_form=HoursForm(formdata=None),
        mark_form=MarkForm(formdata=None),
        session_minutes=attendance.session_minutes,
        default_minutes=attendance.default_minutes,
        hours_text=attendance.hours_text,
        mark_text=attendance.mark_text,
        minimum=attendance.minimum_text(settings),
        session_minimum=lambda s: credit.session_minimum(s, settings),
        report=report,
        import_session=import_session,
        session_label=session_labeller(event),
        filename=filename,
        mailed=certificates.mailed_count(event),
        ended=event.ends_at is not None and event.ends_at <= clock.now(),
        certificates_issued=len(codes),
        codes=codes,
    )
    return page, status


@bp.route("/")
def index(slug: str) -> Any:
    return render_page(get_event(slug))


@bp.route("/import", methods=["POST"])
def import_report(slug: str) -> Any:
    event = get_event(slug)
    form = _import_form(event)
    if not form.validate_on_submit():
        return render_page(event, import_form=form, status=400)
    session = get_session(event, form.session.data)
    upload = form.file.data
    try:
        report = attendance_import.import_report(session, upload.read(attendance_import.MAX_BYTES + 1))
    except attendance_import.ReportError as exc:
        db.session.rollback()
        form.file.errors = [str(exc)]
        return render_page(event, import_form=form, status=400)
    db.session.commit()
    return render_page(event, report=report, filename=upload.filename or "report", import_session=session)


@bp.route("/mark", methods=["POST"])
def mark(slug: str) -> Any:
    event = get_event(slug)
    submitted(MarkForm())
    session = get_session(event, request.form.get("session_id", type=int))
    sub = db.session.get(Subscription, request.form.get("subscription_id", type=int) or 0)
    if sub is None or sub.event_id != event.id:
        abort(404, description=_l("That person is not registered for this event."))
    who = sub.participant.name or sub.participant.email
    if request.form.get("action") == "unmark":
        done = attendance.unmark(sub, session)
        message = (
            _("Your mark for %(who)s at %(session)s was removed.", who=who, session=session.display_title)
            if done
            else _("There was no mark to remove.")
        )
    else:
        done = attendance.mark(sub, session, current_user.email)
        message = (
            _("%(who)s is marked present at %(session)s.", who=who, session=session.display_title)
            if done
            else _("%(who)s was already marked.", who=who)
        )
    db.session.commit()
    flash(message)
    return redirect(url_for(".index", slug=slug) + f"#sub-{sub.id}", code=303)


@bp.route("/rule", methods=["POST"])
def save_rule(slug: str) -> Any:
    event = get_event(slug)
    form = _rule_form(event, formdata=request.form)
    if not form.validate_on_submit():
        return render_page(event, rule_form=form, status=400)
    try:
        settings = attendance.set_rule(event, form.rule.data or "all", form.rule_value.data or "")
        attendance.set_credit(event, form.min_attendance.data or "", form.credit.data or "full")
    except attendance.AttendanceError as exc:
        db.session.rollback()
        getattr(form, exc.field, form.rule_value).errors = [str(exc)]
        return render_page(event, rule_form=form, status=400)
    settings.evaluation_required = bool(form.evaluation_required.data)
    settings.mail_certificates = bool(form.mail_certificates.data)
    if form.certificate_delay_hours.data is not None:
        settings.certificate_delay_hours = form.certificate_delay_hours.data
    certificate_look.save_event(settings, {name: form[name].data or "" for name in certificate_look.TEXT_FIELDS})
    db.session.commit()
    flash(
        _("Completion rule saved: %(event)s; a session counts after %(settings)s.", event=attendance.rule_text(settings, event), settings=attendance.minimum_text(settings))
    )
    return redirect(url_for(".index", slug=slug), code=303)


@bp.route("/sessions/<int:session_id>/hours", methods=["POST"])
def session_hours(slug: str, session_id: int) -> Any:
    event = get_event(slug)
    session = get_session(event, session_id)
    form = HoursForm()
    submitted(form)
    try:
        attendance.set_session_hours(session, form.hours.data or "")
        if "minimum" in request.form:  # an older page posts the hours alone
            attendance.set_session_minimum(session, form.minimum.data or "")
    except attendance.AttendanceError as exc:
        db.session.rollback()
        flash(_("%(display_title)s: %(exc)s", display_title=session.display_title, exc=exc), "error")
        return redirect(url_for(".index", slug=slug) + "#hours-h", code=303)
    db.session.commit()
    needed = credit.session_minimum(session, attendance.settings_for(event))
    flash(
        _("%(display_title)s counts for %(session)s hours after %(text)s of it.", display_title=session.display_title, session=attendance.hours_text(attendance.session_minutes(session)), text=needed.text)
    )
    return redirect(url_for(".index", slug=slug) + "#hours-h", code=303)


@bp.route("/certificates/<int:sub_id>.pdf")
def certificate(slug: str, sub_id: int) -> Any:
    """An officer downloads (issuing or reissuing it with the current record and name, as the
    participant's own download does) any registrant's certificate."""
    event = get_event(slug)
    sub = db.session.get(Subscription, sub_id)
    if sub is None or sub.event_id != event.id:
        abort(404, description=_l("That person is not registered for this event."))
    return issued_pdf(
        sub,
        url_for(".index", slug=slug) + f"#sub-{sub.id}",
        reason_prefix=f"{sub.participant.email}: ",
        back_label="Back to attendance",
    )


@bp.route("/certificates/<int:sub_id>/revoke", methods=["POST"])
def revoke_certificate(slug: str, sub_id: int) -> Any:
    """Withdraw a registrant's certificate: its code no longer verifies (an error in the
    record, a complaint upheld). Downloading it again issues a new one from the record."""
    event = get_event(slug)
    sub = get_owned(Subscription, sub_id, event, "That person is not registered for this event.")
    submitted(MarkForm())
    code = certificates.revoke(sub)
    db.session.commit()
    flash(
        _("Certificate %(code)s was revoked.", code=code) if code else _("There was no certificate to revoke.")
    )
    return redirect(url_for(".index", slug=slug) + f"#sub-{sub.id}", code=303)


def issued_codes(recs: list[attendance.Record]) -> dict[int, str]:
    """Subscription id -> certificate code, for the registrations given."""
    rows = db.session.execute(
        select(Certificate.subscription_id, Certificate.code).where(
            Certificate.subscription_id.in_([r.subscription.id for r in recs] or [-1])
        )
    )
    return {sub_id: code for sub_id, code in rows}


def export_csv(event: Event) -> str:
    """One row per registration: each session's attendance (minutes if reported, and the credit
    or why none), hours earned, outcome."""
    recs = attendance.records(event)
    codes = issued_codes(recs)
    sessions = event.active_sessions
    buffer = io.StringIO()
    writer = spreadsheet.writer(buffer)
    writer.writerow(
        ["email", "name", "status"]
        + [f"{s.start_local:%Y-%m-%d %H:%M} {s.display_title}" for s in sessions]
        + ["sessions_attended", "ce_hours", "completed", "certificate_code"]
    )
    for r in recs:
        cells = []
        for s in sessions:
            m = r.marks.get(s.id)
            cells.append("" if m is None else f"{attendance.mark_text(m)} ({'+'.join(sorted(m.sources))})")
        person = r.subscription.participant
        writer.writerow(
            [person.email, person.name, r.subscription.status]
            + cells
            + [
                len(r.attended),
                attendance.hours_text(r.minutes),
                "yes" if r.completed else "no",
                codes.get(r.subscription.id, ""),
            ]
        )
    return buffer.getvalue()


@bp.route("/export.csv")
def export(slug: str) -> Response:
    event = get_event(slug)
    return Response(
        export_csv(event),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{event.slug}-attendance-{clock.now():%Y%m%d}.csv"'
        },
    )
