"""The optional TOTP second factor for password accounts: enrol with a QR code and secret,
confirm with a code, recovery codes shown once; from then on a password alone does not sign
in, a code is good once, a recovery code once, and wrong codes are rate-limited."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from flask import Flask, g, has_app_context
from flask.testing import FlaskClient
from sqlalchemy import select

from forum.core import clock
from forum.core.extensions import db
from forum.models import AuditEntry, Officer
from forum.team import totp
from tests.conftest import csrf_from
from tests.support.limits import rate_limited_app
from tests.support.team import officer_with, sign_in

PASSWORD = "correct horse battery staple"  # noqa: S105 - tests.support.team's
AT = datetime(2030, 5, 6, 9, 0, tzinfo=UTC)


def _forget_requests() -> None:
    """The test's app context outlives requests: forget who signed in and the CSRF token made
    for another client's session."""
    if has_app_context():
        g.pop("_login_user", None)
        g.pop("csrf_token", None)


def _code(secret: str, at: datetime) -> str:
    return pyotp.TOTP(secret).at(int(at.timestamp()))


def _enrol(client: FlaskClient, officer: Officer) -> tuple[str, list[str]]:
    """Turn the factor on through the pages; the secret and the recovery codes shown."""
    sign_in(client, officer)
    page = client.get("/manage/account/two-factor")
    assert "Set up two-step sign-in" in page.get_data(as_text=True)
    started = client.post("/manage/account/two-factor", data={"csrf_token": csrf_from(page.data)})
    text = started.get_data(as_text=True)
    assert started.status_code == 200 and "<svg" in text
    secret = re.search(r"<code>([A-Z2-7]{32})</code>", text)
    assert secret is not None
    wrong = client.post(
        "/manage/account/two-factor/confirm", data={"csrf_token": csrf_from(started.data), "code": "000000"}
    )
    assert wrong.status_code == 400 and "That code does not match" in wrong.get_data(as_text=True)
    done = client.post(
        "/manage/account/two-factor/confirm",
        data={"csrf_token": csrf_from(started.data), "code": _code(secret.group(1), AT)},
    )
    assert done.status_code == 200
    codes = re.findall(r"<li><code>([0-9a-f]{6}-[0-9a-f]{6})</code></li>", done.get_data(as_text=True))
    assert len(codes) == totp.RECOVERY_CODES
    client.post("/logout", data={"csrf_token": csrf_from(done.data)})
    return secret.group(1), codes


def _password(client: FlaskClient, email: str) -> int:
    _forget_requests()
    page = client.get("/login")
    answer = client.post(
        "/login", data={"csrf_token": csrf_from(page.data), "email": email, "password": PASSWORD}
    )
    return answer.status_code


def _type(client: FlaskClient, code: str) -> tuple[int, str]:
    _forget_requests()
    page = client.get("/login/code")
    answer = client.post("/login/code", data={"csrf_token": csrf_from(page.data), "code": code})
    return answer.status_code, answer.headers.get("Location", "")


def test_enrol_then_sign_in_needs_the_code_and_a_code_is_good_once(app: Flask, client: FlaskClient) -> None:
    officer = officer_with(None, None, "two@forum.test")
    with clock.frozen(AT):
        secret, _ = _enrol(client, officer)
        db.session.expire_all()
        assert db.session.get(Officer, officer.id).has_second_factor  # type: ignore[union-attr]
        fresh = app.test_client()
        assert _password(fresh, "two@forum.test") == 303
        assert fresh.get("/manage/").status_code == 302  # not signed in before the code
        assert _type(fresh, "123456")[0] == 400
        later = AT + timedelta(seconds=30)
    with clock.frozen(later):
        code = _code(secret, later)
        assert _type(fresh, code) == (302, "/manage/")
        assert fresh.get("/manage/").status_code == 200
        again = app.test_client()  # the same code, overheard: refused
        assert _password(again, "two@forum.test") == 303
        assert _type(again, code)[0] == 400
    actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert "officer.second_factor_on" in actions and actions.count("signin.failed") == 2


def test_a_recovery_code_signs_in_once_and_the_code_step_expires(app: Flask, client: FlaskClient) -> None:
    officer = officer_with(None, None, "lost@forum.test")
    with clock.frozen(AT):
        _, codes = _enrol(client, officer)
        fresh = app.test_client()
        _password(fresh, "lost@forum.test")
        assert _type(fresh, codes[0].upper()) == (302, "/manage/")
        other = app.test_client()
        _password(other, "lost@forum.test")
        assert _type(other, codes[0])[0] == 400  # spent
    db.session.expire_all()
    assert totp.recovery_left(db.session.get(Officer, officer.id)) == totp.RECOVERY_CODES - 1  # type: ignore[arg-type]
    slow = app.test_client()
    with clock.frozen(AT):
        _password(slow, "lost@forum.test")
    with clock.frozen(AT + timedelta(minutes=6)):  # the password step is stale: start again
        _forget_requests()
        stale = slow.get("/login/code")
        assert (stale.status_code, stale.headers["Location"]) == (303, "/login")


def test_turning_it_off_needs_a_code(app: Flask, client: FlaskClient) -> None:
    officer = officer_with(None, None, "off@forum.test")
    with clock.frozen(AT):
        secret, _ = _enrol(client, officer)
    later = AT + timedelta(minutes=1)
    with clock.frozen(later):
        sign_in(client, officer)
        page = client.get("/manage/account/two-factor")
        assert "Turn off two-step sign-in" in page.get_data(as_text=True)
        refused = client.post(
            "/manage/account/two-factor/disable", data={"csrf_token": csrf_from(page.data), "code": "999999"}
        )
        assert refused.status_code == 400
        done = client.post(
            "/manage/account/two-factor/disable",
            data={"csrf_token": csrf_from(page.data), "code": _code(secret, later)},
        )
        assert done.status_code == 303
    db.session.expire_all()
    assert not db.session.get(Officer, officer.id).has_second_factor  # type: ignore[union-attr]
    assert _password(app.test_client(), "off@forum.test") == 302  # the password alone again


@pytest.fixture
def limited(tmp_path) -> Iterator[Flask]:  # type: ignore[no-untyped-def]
    with rate_limited_app(tmp_path) as application:
        with application.app_context():
            officer = officer_with(None, None, "guess@forum.test")
            officer.totp_secret = pyotp.random_base32()
            officer.totp_enabled_at = AT
            db.session.commit()
            db.session.remove()
        yield application


def test_wrong_codes_are_rate_limited(limited: Flask) -> None:
    client = limited.test_client()
    with clock.frozen(AT):
        assert _password(client, "guess@forum.test") == 303
        answers = [_type(client, f"{n:06d}")[0] for n in range(7)]
    assert answers[:5] == [400] * 5 and answers[5:] == [429, 429]


def test_an_administrator_turns_off_a_lost_second_factor(app: Flask, client: FlaskClient) -> None:
    officer = officer_with(None, None, "lost@forum.test")
    with clock.frozen(AT):
        _enrol(client, officer)
    _forget_requests()
    sign_in(client, officer_with(None, None, "admin@forum.test", admin=True))
    page = client.get("/manage/officers/")
    assert "Turn off two-step sign-in of lost@forum.test" in page.get_data(as_text=True)
    done = client.post(
        f"/manage/officers/{officer.id}/second-factor/reset", data={"csrf_token": csrf_from(page.data)}
    )
    assert done.status_code == 303
    db.session.expire_all()
    assert not db.session.get(Officer, officer.id).has_second_factor  # type: ignore[union-attr]
    [row] = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "officer.second_factor_reset")
    ).all()
    assert row.actor == "admin@forum.test" and row.summary == "lost@forum.test"
