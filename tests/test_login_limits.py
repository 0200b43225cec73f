"""Sign-in limits behind the README's TLS proxy (PROXY_HOPS=1, X-Forwarded-For through
werkzeug's ProxyFix): each client address has its own budget, so one attacker no longer locks
every officer out; an account under attack from anywhere is slowed down with a clear message,
while its owner on a browser that signed in before still gets in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from forum.core.extensions import db
from tests.conftest import csrf_from
from tests.support.limits import rate_limited_app
from tests.support.live import OFFICER_PASSWORD, make_officer

ATTACKER, OFFICE, HOME = "198.51.100.7", "203.0.113.20", "192.0.2.55"
VICTIM = "victim@forum.test"


@pytest.fixture
def limited(tmp_path) -> Iterator[Flask]:  # type: ignore[no-untyped-def]
    with rate_limited_app(tmp_path, PROXY_HOPS=1) as application:
        with application.app_context():  # not held during requests: each gets a fresh `g`
            make_officer(VICTIM)
            make_officer("other@forum.test")
            db.session.remove()
        yield application


def from_address(app: Flask, address: str) -> FlaskClient:
    """A browser at `address`; the proxy appends it to whatever X-Forwarded-For it was sent."""
    client = app.test_client()
    client.environ_base.update(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=f"10.9.9.9, {address}")
    return client


def attempt(client: FlaskClient, email: str, password: str = "wrong password") -> tuple[int, str]:  # noqa: S107
    token = csrf_from(client.get("/login").data)
    response = client.post("/login", data={"email": email, "password": password, "csrf_token": token})
    return response.status_code, response.get_data(as_text=True)


def test_one_address_guessing_does_not_lock_out_officers_elsewhere(limited: Flask) -> None:
    attacker = from_address(limited, ATTACKER)
    codes = [attempt(attacker, f"guess{n}@forum.test")[0] for n in range(11)]
    assert codes == [400] * 10 + [429]
    # the spoofed first X-Forwarded-For entry (10.9.9.9) is not what is counted: the proxy's is
    assert attempt(from_address(limited, ATTACKER), "other@forum.test", OFFICER_PASSWORD)[0] == 429
    status, _ = attempt(from_address(limited, OFFICE), "other@forum.test", OFFICER_PASSWORD)
    assert status == 302  # behind one proxy, before this change, everyone was 127.0.0.1


def test_an_account_under_attack_is_slowed_not_locked_for_its_owner(limited: Flask) -> None:
    owner = from_address(limited, OFFICE)
    assert attempt(owner, VICTIM, OFFICER_PASSWORD)[0] == 302  # the owner's browser signed in before
    owner.post("/logout", data={"csrf_token": csrf_from(owner.get("/manage/").data)})

    # failed guesses at one account from several addresses (a botnet) share the account's budget
    for n in range(5):
        assert attempt(from_address(limited, f"198.51.100.{n + 10}"), VICTIM)[0] == 400
    status, page = attempt(from_address(limited, ATTACKER), VICTIM, OFFICER_PASSWORD)
    assert status == 429 and "Too many failed sign-ins for this account" in page
    # a newcomer with the right password waits too (an attacker must not learn it here) ...
    assert attempt(from_address(limited, HOME), VICTIM, OFFICER_PASSWORD)[0] == 429
    # ... other accounts are untouched, and the owner's known browser still signs in
    assert attempt(from_address(limited, HOME), "other@forum.test", OFFICER_PASSWORD)[0] == 302
    status, _ = attempt(owner, VICTIM, OFFICER_PASSWORD)
    assert status == 302
    assert owner.get("/manage/").status_code == 200


def test_without_proxy_hops_forwarded_headers_are_ignored(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Directly exposed (PROXY_HOPS=0, the default) a client cannot pick its own address."""
    with rate_limited_app(tmp_path) as application:
        codes = [attempt(from_address(application, f"198.51.100.{n}"), f"g{n}@forum.test")[0] for n in range(11)]
    assert codes == [400] * 10 + [429]
