"""Certificates on the web: anyone may verify a code; a participant downloads their own PDF
from the preferences page (a signed link), where a small section lists what they can have."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, redirect, render_template, request, url_for

from forum.ce import attendance, certificate_look, certificates, evaluations
from forum.core import clock
from forum.core.extensions import db
from forum.models import Participant, Subscription
from forum.web.subscriptions.pages import linked_participant

bp = Blueprint("certificates", __name__)


@bp.route("/certificates", methods=["GET"])
def lookup() -> Any:
    """A form to type a code from a paper certificate; a code in the query goes to its page."""
    code = request.args.get("code", "").strip()
    if code:
        return redirect(url_for(".verify", code=certificates.clean_code(code)), code=303)
    return render_template("ce/verify_form.html")


@bp.route("/certificates/<code>")
def verify(code: str) -> Any:
    """Name, event, hours and issue date of a real certificate; nothing else, for anyone."""
    cert = certificates.find(code)
    if cert is None:
        other = certificates.find_other(code)
        if other is not None:  # a mentoring programme's certificate of participation
            return render_template("ce/verify.html", cert=None, other=other, code=other.code)
        return render_template("ce/verify.html", cert=None, other=None, code=code), 404
    look = certificate_look.look_for(cert.subscription.event)
    return render_template(
        "ce/verify.html",
        cert=cert,
        code=cert.code,
        other=None,
        hours=attendance.hours_text(cert.minutes),
        provider=look.provider_line,
    )


@dataclass
class Offer:
    """What the preferences page says about one event's certificate and evaluation."""

    subscription: Subscription
    kind: str | None
    reason: str
    hours: str
    evaluation_url: str | None
    answered: bool


def offers(participant: Participant) -> list[Offer]:
    """One line per event whose last session is over and that the person attended or may evaluate."""
    out = []
    now = clock.now()
    for sub in participant.subscriptions:
        ends = sub.event.ends_at
        if sub.status not in ("active", "unsubscribed") or ends is None or ends > now:
            continue  # nothing to offer before the last session has ended
        state = certificates.standing(sub, now)
        evaluation = evaluations.evaluation_of(sub.event)
        open_eval = evaluation is not None and evaluations.is_open(evaluation) and sub.is_active
        if not state.record.attended and not open_eval:
            continue
        out.append(
            Offer(
                subscription=sub,
                kind=state.kind,
                reason=state.reason,
                hours=attendance.hours_text(state.record.minutes),
                evaluation_url=evaluations.personal_url(sub) if open_eval else None,
                answered=evaluations.has_answered(sub),
            )
        )
    return out


@bp.app_context_processor
def _ce_helpers() -> dict[str, Any]:
    return {"ce_offers": offers}


@bp.route("/preferences/<token>/certificates/<int:sub_id>.pdf")
def download(token: str, sub_id: int) -> Any:
    """The participant's certificate, issued (or refreshed with their current name) now."""
    participant = linked_participant(token)
    sub = db.session.get(Subscription, sub_id)
    if sub is None or sub.participant_id != participant.id:
        return render_template("subscriptions/gone.html"), 404
    return issued_pdf(sub, url_for("subscriptions.preferences", token=token))


def issued_pdf(sub: Subscription, back: str, reason_prefix: str = "", back_label: str | None = None) -> Any:
    """Issue (or reissue) `sub`'s certificate and answer with its PDF; a 409 page saying why
    when there is none yet. The participant's and the officer's download both answer this way."""
    try:
        cert = certificates.issue(sub)
    except certificates.CertificateError as exc:
        db.session.rollback()
        extra = {"back_label": back_label} if back_label else {}
        page = render_template(
            "ce/no_certificate.html",
            reason=f"{reason_prefix}{exc}",
            event=sub.event,
            preferences=back,
            **extra,
        )
        return page, 409
    db.session.commit()
    return Response(
        certificates.render_pdf(cert),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{certificates.filename(cert)}"'},
    )
