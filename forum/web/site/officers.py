"""The officers page: who can sign in, their API tokens, and the buttons to revoke a token or
deactivate (and reactivate) an officer. The changes are `forum.common.officers`', the same
the CLI makes; this door only reads the button and shows the outcome."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from forum.common import officers
from forum.core.extensions import db, login
from forum.models import ApiToken, Officer
from forum.team import audit, totp

bp = Blueprint("officers", __name__, url_prefix="/manage/officers")


@bp.before_request
def _signed_in() -> Response | None:
    if not current_user.is_authenticated:
        return login.unauthorized()  # type: ignore[no-any-return]
    return None


def _page(error: str = "", status: int = 200) -> tuple[str, int]:
    people = list(db.session.scalars(select(Officer).order_by(Officer.active.desc(), Officer.email)))
    tokens = {o.id: officers.tokens_of(o) for o in people}
    return render_template("manage/officers.html", people=people, tokens=tokens, error=error), status


@bp.get("/")
def index() -> tuple[str, int]:
    return _page()


def _officer(officer_id: int) -> Officer:
    officer = db.get_or_404(Officer, officer_id, description=_l("There is no such officer."))
    return officer


@bp.post("/<int:officer_id>/deactivate")
def deactivate(officer_id: int) -> Response | tuple[str, int]:
    officer = _officer(officer_id)
    try:
        revoked = officers.deactivate(officer, by=current_user)  # type: ignore[arg-type]
    except officers.OfficerError as exc:
        db.session.rollback()
        return _page(str(exc), 400)
    db.session.commit()
    flash(
        ngettext(
            "Deactivated %(email)s; %(num)d API token revoked.",
            "Deactivated %(email)s; %(num)d API tokens revoked.",
            revoked,
            email=officer.email,
        ),
        "success",
    )
    return redirect(url_for("officers.index"), 303)


@bp.post("/<int:officer_id>/reactivate")
def reactivate(officer_id: int) -> Response | tuple[str, int]:
    officer = _officer(officer_id)
    try:
        officers.reactivate(officer)
    except officers.OfficerError as exc:
        return _page(str(exc), 400)
    db.session.commit()
    flash(_("Reactivated %(email)s. Their old API tokens stay revoked.", email=officer.email), "success")
    return redirect(url_for("officers.index"), 303)


@bp.post("/<int:officer_id>/second-factor/reset")
def reset_second_factor(officer_id: int) -> Response:
    """For an officer who lost their phone and their recovery codes: the password alone signs
    them in again until they enrol anew (audited)."""
    officer = _officer(officer_id)
    totp.reset(officer)
    audit.record("officer.second_factor_reset", summary=officer.email)
    db.session.commit()
    flash(_("Two-step sign-in is off for %(email)s; they may set it up again.", email=officer.email), "success")
    return redirect(url_for("officers.index"), 303)


@bp.post("/tokens/<int:token_id>/revoke")
def revoke(token_id: int) -> Response:
    token = db.get_or_404(ApiToken, token_id, description=_l("That token was revoked already."))
    what = officers.revoke_token(token)
    db.session.commit()
    flash(_("Revoked %(what)s.", what=what), "success")
    return redirect(url_for("officers.index"), 303)
