"""/manage/account/two-factor: an officer turns the TOTP second factor on (QR code and
secret, then a code to confirm, then recovery codes shown once) or off (with a code).

The guard lets any signed-in officer in (`officer` permission): each acts on their own
account only. The rules are in forum.team.totp; guesses are rate-limited per officer.
"""

from __future__ import annotations

from collections.abc import Callable

import segno
from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from werkzeug.wrappers import Response
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from forum.core.extensions import db
from forum.core.validation import CheckedForm
from forum.models import Officer
from forum.team import audit, totp
from forum.web.forms import STRIP, ConfirmForm
from forum.web.security import wrong_guesses_limited

bp = Blueprint("two_factor", __name__, url_prefix="/manage/account")

GUESS_LIMIT = "10 per minute;40 per hour"


class CodeForm(CheckedForm):
    code = StringField(
        _l("Code from your authenticator app"),
        validators=[DataRequired(_l("Type the code.")), Length(max=20)],
        filters=STRIP,
    )


def _me() -> Officer:
    return current_user._get_current_object()  # type: ignore[no-any-return]


def _officer_key() -> str:
    return f"two-factor:{current_user.get_id()}"


def _qr(uri: str) -> Markup:
    """The otpauth address as an inline SVG (no image request, nothing for the CSP to allow)."""
    svg = segno.make(uri, error="m").svg_inline(scale=5, title=_("QR code of your sign-in secret"))
    return Markup(svg)  # noqa: S704 - segno's own SVG markup, made from our own URI


def _page(form: CodeForm, status: int = 200, *, enrolling: bool = False) -> tuple[str, int]:
    officer = _me()
    uri = totp.provisioning_uri(officer) if enrolling and officer.totp_secret else ""
    return render_template(
        "team/two_factor.html",
        officer=officer,
        form=form,
        button=ConfirmForm(formdata=None),
        enrolling=enrolling,
        qr=_qr(uri) if uri else "",
        secret=officer.totp_secret if enrolling else "",
        left=totp.recovery_left(officer),
    ), status


@bp.route("/two-factor", methods=["GET", "POST"])
def index() -> tuple[str, int] | Response:
    """GET: where things stand. POST (the button): a new secret to enrol, shown with its QR."""
    if not ConfirmForm().validate_on_submit():
        return _page(CodeForm(formdata=None))
    try:
        totp.start(_me())
    except totp.TotpError as exc:
        flash(str(exc), "error")
        return redirect(url_for("two_factor.index"), code=303)
    db.session.commit()
    return _page(CodeForm(formdata=None), enrolling=True)


def _code_accepted(form: CodeForm, change: Callable[[str], object], action: str) -> bool:
    """Whether `change` took the typed code: then audited as `action` and committed. A refused
    code is said on the field, and nothing of the attempt is kept."""
    if not form.validate_on_submit():
        return False
    try:
        change(form.code.data or "")
    except totp.TotpError as exc:
        db.session.rollback()
        form.code.errors = [*form.code.errors, str(exc)]
        return False
    audit.record(action, summary=_me().email)
    db.session.commit()
    return True


@bp.route("/two-factor/confirm", methods=["POST"])
@wrong_guesses_limited(GUESS_LIMIT, _officer_key)
def confirm() -> tuple[str, int] | Response:
    form, officer = CodeForm(), _me()
    codes: list[str] = []  # shown once, when the code is right
    if _code_accepted(form, lambda code: codes.extend(totp.confirm(officer, code)), "officer.second_factor_on"):
        return render_template("team/recovery_codes.html", codes=codes), 200
    return _page(form, 400, enrolling=not officer.has_second_factor)


@bp.route("/two-factor/disable", methods=["POST"])
@wrong_guesses_limited(GUESS_LIMIT, _officer_key)
def disable() -> tuple[str, int] | Response:
    form, officer = CodeForm(), _me()
    if _code_accepted(form, lambda code: totp.disable(officer, code), "officer.second_factor_off"):
        flash(_("Two-step sign-in is off: your password alone signs you in."), "success")
        return redirect(url_for("two_factor.index"), code=303)
    return _page(form, 400)
