"""Officer sign-in (Flask-Login).

One error message for an unknown address and a wrong password, and the password is
checked against a dummy hash when the address is unknown, so neither the page nor its
timing tells whether an officer account exists.
"""

from __future__ import annotations

from functools import cache
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from werkzeug.security import check_password_hash, generate_password_hash
from werkzeug.wrappers import Response

from ..extensions import db, limiter, login
from ..models import Officer
from .forms import ConfirmForm, LoginForm

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


@login.user_loader
def load_officer(officer_id: str) -> Officer | None:
    try:
        return db.session.get(Officer, int(officer_id))
    except ValueError:
        return None


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
@limiter.limit("10 per minute", methods=["POST"])
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
        if officer is not None:
            login_user(officer)
            flash(f"Signed in as {officer.email}.", "success")
            return redirect(safe_next(form.next.data) or url_for("manage.index"))
        form.password.errors = [*form.password.errors, BAD_LOGIN]
    form.password.data = ""
    return render_template("public/login.html", form=form), 400


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    form = ConfirmForm()
    if form.validate_on_submit():
        logout_user()
        flash("You are signed out.", "success")
    return redirect(url_for("public.index"))
