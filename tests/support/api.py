"""Helpers for JSON API tests: an officer with a bearer token, and events built directly
(`make_event`, from the shared factories)."""

from __future__ import annotations

from forum.core.extensions import db
from forum.models import ApiToken, Officer
from tests.support.factories import make_event as make_event


def officer_token(email: str = "officer@forum.test") -> dict[str, str]:
    """Authorization headers of a fresh officer's API token."""
    officer = Officer.by_email(email) or Officer(email=email, name="Officer", is_admin=True)
    db.session.add(officer)
    _, raw = ApiToken.issue(officer, name="tests")
    db.session.commit()
    return {"Authorization": f"Bearer {raw}"}
