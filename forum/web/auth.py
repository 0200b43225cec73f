"""Officer sign-in (Flask-Login)."""

from __future__ import annotations

from flask import Blueprint

from ..extensions import db, login
from ..models import Officer

bp = Blueprint("auth", __name__)

login.login_view = "auth.login"
login.login_message = "Please sign in to manage events."


@login.user_loader
def load_officer(officer_id: str) -> Officer | None:
    return db.session.get(Officer, int(officer_id))
