"""`flask forum create-officer`: the account an officer signs in to /manage with."""

from __future__ import annotations

from flask import Flask

from forum.models import Officer
from tests.support.live import sign_in


def run(app: Flask, *args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    return app.test_cli_runner().invoke(args=["forum", "create-officer", *args], input=input)


def test_create_officer_then_sign_in(app: Flask) -> None:
    result = run(app, "Megan@Example.ORG", "--name", "Megan Dougherty", "--password", "long enough pw")
    assert result.exit_code == 0, result.output
    assert "Created officer megan@example.org" in result.output
    officer = Officer.by_email("megan@example.org")
    assert officer is not None and officer.name == "Megan Dougherty"
    response = sign_in(app.test_client(), email="megan@example.org", password="long enough pw")
    assert response.status_code == 302


def test_password_is_prompted_for_and_confirmed(app: Flask) -> None:
    result = run(app, "pat@example.org", input="a prompted password\na prompted password\n")
    assert result.exit_code == 0, result.output
    assert "a prompted password" not in result.output
    assert Officer.by_email("pat@example.org").check_password("a prompted password")


def test_existing_email_is_refused(app: Flask) -> None:
    assert run(app, "pat@example.org", "--password", "long enough pw").exit_code == 0
    result = run(app, "PAT@example.org", "--password", "another password")
    assert result.exit_code == 1
    assert result.output.strip() == "Error: An officer with email pat@example.org already exists."


def test_invalid_email_and_short_password_are_refused(app: Flask) -> None:
    result = run(app, "not-an-email", "--password", "long enough pw")
    assert result.exit_code == 1
    assert result.output.startswith("Error: 'not-an-email' is not a valid email address")
    assert len(result.output.strip().splitlines()) == 1
    result = run(app, "pat@example.org", "--password", "short")
    assert result.exit_code == 1
    assert "at least 10 characters" in result.output
    assert Officer.by_email("pat@example.org") is None
