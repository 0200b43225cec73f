"""Helpers for the team tests: officers holding one role on one event, signed in or with a token."""

from __future__ import annotations

from flask import g
from flask.testing import FlaskClient

from forum.core.extensions import db
from forum.models import ApiToken, Event, Officer
from forum.team import roles


def officer_with(event: Event | None, role: str | None, email: str, *, admin: bool = False) -> Officer:
    """An officer who is site administrator (`admin`) or holds `role` on `event` (or nothing)."""
    officer = Officer(email=email, name=email.split("@")[0].title(), is_admin=admin)
    officer.set_password("correct horse battery staple")
    db.session.add(officer)
    db.session.flush()
    if event is not None and role is not None:
        roles.grant(event, officer, role, by=None)
    db.session.commit()
    return officer


def sign_in(client: FlaskClient, officer: Officer) -> None:
    """Sign in the way Flask-Login remembers an officer (its session keys)."""
    with client.session_transaction() as sess:
        sess["_user_id"] = str(officer.id)
        sess["_fresh"] = True
    g.pop("_login_user", None)  # the test's app context outlives requests; forget who was signed in


def bearer(officer: Officer, *, read_only: bool = False) -> dict[str, str]:
    _, raw = ApiToken.issue(officer, name="tests", read_only=read_only)
    db.session.commit()
    return {"Authorization": f"Bearer {raw}"}
