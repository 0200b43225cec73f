"""Officer sign-in (Flask-Login).

One error message for an unknown address and a wrong password, and the password is
checked against a dummy hash when the address is unknown, so neither the page nor its
timing tells whether an officer account exists.

Guessing is limited twice: per client address (after ProxyFix, so behind the TLS proxy each
visitor is counted on their own, not all as 127.0.0.1) and per account, counting only failed
attempts from anywhere. An account under attack is slowed down, not locked: its owner, on a
browser that has signed in to it before (a signed "known device" cookie, as OWASP's device
cookies), is not held by the account limit, and everyone else may try again after a minute.
"""

from __future__ import annotations

from functools import cache
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from werkzeug.security import check_password_hash, generate_password_hash
from werkzeug.wrappers import Response

from forum.core import clock, i18n, tokens
from forum.core.extensions import db, limiter, login
from forum.models import Officer
from forum.team import audit, totp
from forum.web.forms import ConfirmForm, LoginForm, SecondFactorForm
from forum.web.security import wrong_guesses_limited

bp = Blueprint("auth", __name__)

login.login_view = "auth.login"
login.login_message = "Please sign in to manage events."
login.login_message_category = "info"

BAD_LOGIN = "That email address and password do not match an officer account."


@cache
def _dummy_hash() -> str:
    """A hash to check unknown accounts against (same work either way); made on first use,
    not at import: every CLI call and `forum inject` would pay an scrypt hash otherwise."""
    return generate_password_hash("not-a-real-password")


CLIENT_LIMIT = "10 per minute;100 per hour"
ACCOUNT_LIMIT = "5 per minute;30 per hour"
ACCOUNT_SLOWED = (
    "Too many failed sign-ins for this account from around the internet. Wait a minute and try again; "
    "a browser that has signed in to this account before is not held up."
)
DEVICE_COOKIE = "forum_device"
DEVICE_MAX_AGE = 365 * 24 * 3600


def _account_key() -> str:
    """The account a sign-in attempt is for (normalised like Officer.by_email)."""
    return "login-account:" + (request.form.get("email") or "").strip().lower()


def _known_device() -> bool:
    """This browser signed in to the account being tried before (signed cookie)."""
    cookie = request.cookies.get(DEVICE_COOKIE)
    if not cookie:
        return False
    try:
        email = tokens.read_token("device", cookie, DEVICE_MAX_AGE)
    except tokens.TokenError:
        return False
    return bool(email) and email == (request.form.get("email") or "").strip().lower()


@login.user_loader
def load_officer(officer_id: str) -> Officer | None:
    """The signed-in officer, or None (signed out) once the account is deactivated."""
    try:
        officer = db.session.get(Officer, int(officer_id))
    except ValueError:
        return None
    return officer if officer is not None and officer.active else None


def safe_next(target: str | None) -> str | None:
    """Only same-site paths: a `next` pointing elsewhere would make this an open redirect."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def check_credentials(email: str, password: str) -> Officer | None:
    """The officer for this email and password, or None; same work whether or not it exists."""
    officer = Officer.by_email(email)
    if officer is None or not officer.password_hash:
        check_password_hash(_dummy_hash(), password)
        return None
    if not officer.check_password(password) or not officer.is_active:
        return None
    return officer


@bp.route("/login", methods=["GET", "POST"], endpoint="login")
@limiter.limit(CLIENT_LIMIT, methods=["POST"])
@wrong_guesses_limited(ACCOUNT_LIMIT, _account_key, exempt_when=_known_device, error_message=ACCOUNT_SLOWED)
def login_page() -> tuple[str, int] | Response:
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")) or url_for("manage.index"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if request.method == "GET":
        return render_template("public/login.html", form=form), 200
    if form.validate():
        officer = check_credentials(form.email.data or "", form.password.data or "")
        if officer is not None and officer.has_second_factor:
            # The password was right; the code page finishes (and no session is made before it).
            session[PENDING_KEY] = {
                "id": officer.id,
                "at": clock.now().timestamp(),
                "next": safe_next(form.next.data) or "",
            }
            return redirect(url_for("auth.second_factor"), code=303)
        if officer is not None:
            return _signed_in(officer, safe_next(form.next.data))
        form.password.errors = [*form.password.errors, BAD_LOGIN]
        audit.record("signin.failed", summary=(form.email.data or "").strip().lower())
        db.session.commit()
    form.password.data = ""
    return render_template("public/login.html", form=form), 400


def _signed_in(officer: Officer, target: str | None) -> Response:
    """Make the session, remember this browser as a known device, go on."""
    login_user(officer)
    flash(_("Signed in as %(email)s.", email=officer.email), "success")
    response = redirect(target or url_for("manage.index"))
    response.set_cookie(
        DEVICE_COOKIE,
        tokens.make_token("device", officer.email.lower()),
        max_age=DEVICE_MAX_AGE,
        path=url_for("auth.login"),
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
    )
    return response


# --- the second factor at sign-in -----------------------------------------------------------

PENDING_KEY = "forum_2fa_pending"
PENDING_SECONDS = 300  # the code must follow the password within five minutes
CODE_LIMIT = "5 per minute;20 per hour"  # per account, failures only: six digits are guessable


def _pending() -> Officer | None:
    """The officer whose password was right, while the code step is still open."""
    held = session.get(PENDING_KEY)
    if not isinstance(held, dict):
        return None
    if clock.now().timestamp() - float(held.get("at", 0)) > PENDING_SECONDS:
        session.pop(PENDING_KEY, None)
        return None
    officer = db.session.get(Officer, held.get("id"))
    return officer if officer is not None and officer.is_active and officer.has_second_factor else None


def _pending_key() -> str:
    held = session.get(PENDING_KEY)
    return f"login-code:{held.get('id') if isinstance(held, dict) else request.remote_addr}"


@bp.route("/login/code", methods=["GET", "POST"], endpoint="second_factor")
@limiter.limit(CLIENT_LIMIT, methods=["POST"])
@wrong_guesses_limited(
    CODE_LIMIT, _pending_key, error_message=_l("Too many wrong codes. Wait a minute and try again.")
)
def second_factor_page() -> tuple[str, int] | Response:
    officer = _pending()
    if officer is None:
        flash(_("Sign in with your password first (the code step lasts five minutes)."), "info")
        return redirect(url_for("auth.login"), code=303)
    form = SecondFactorForm()
    if form.validate_on_submit():
        used = totp.check(officer, form.code.data or "")
        if used is not None:
            target = str(session.pop(PENDING_KEY, {}).get("next") or "") or None
            if used == "recovery":
                audit.record("signin.recovery_code", summary=officer.email)
                flash(
                    _(
                        "You used a recovery code; %(left)d are left. Turn two-step sign-in off and on "
                        "again from your account's page for new ones.",
                        left=totp.recovery_left(officer),
                    ),
                    "info",
                )
            db.session.commit()
            return _signed_in(officer, safe_next(target))
        form.code.errors = [*form.code.errors, _("That code does not match, or it was used already.")]
        audit.record("signin.failed", summary=f"{officer.email} (second factor)")
        db.session.commit()
    form.code.data = ""
    return render_template("public/login_code.html", form=form), 400 if form.errors else 200


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    form = ConfirmForm()
    if form.validate_on_submit():
        logout_user()
        flash(_("You are signed out."), "success")
    return redirect(url_for("public.index"))


@bp.route("/language", methods=["POST"])
def language() -> Response:
    """An officer's choice of language for their own pages (empty: their browser's); a
    visitor who is not signed in is sent back unchanged (participants choose theirs on
    their preferences page, and it follows them into mail)."""
    form = ConfirmForm()
    back = _safe_back(request.form.get("next"))
    if form.validate_on_submit() and current_user.is_authenticated:
        wanted = request.form.get("language", "")
        if wanted and not i18n.normalize(wanted):
            flash(_("Pick one of the listed languages."), "error")
            return redirect(back, code=303)
        current_user.language = i18n.normalize(wanted)
        db.session.commit()
        i18n.use_locale(current_user.language or i18n.browser_locale())
        flash(_("Your pages are now in this language."), "success")
    return redirect(back, code=303)


def _safe_back(target: str | None) -> str:
    """A same-site path to return to (never another host)."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("public.index")
