"""Single sign-on against a real OpenID Connect provider started by the test
(oidc-provider-mock on 127.0.0.1): discovery, PKCE, state; a verified email at an allowed
domain signs in (creating the officer), another domain and an unverified email are refused,
and a stale state is a 400 with words, not a 500."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from oidc_provider_mock import run_server_in_thread

from forum.models import Officer


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    with run_server_in_thread() as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture
def sso_app(app: Flask, provider: str) -> Flask:
    app.config.update(
        OIDC_ISSUER=provider,
        OIDC_CLIENT_ID="forum",
        OIDC_CLIENT_SECRET="not-a-real-secret",
        OIDC_ALLOWED_DOMAINS="example.org",
        OIDC_ADMIN_CLAIM="groups",
    )
    return app


def _sign_in_at_provider(client: FlaskClient, provider: str, sub: str, claims: dict[str, object]) -> str:
    """Start at /login/sso, sign in at the provider as `sub`; the callback path it sends us to."""
    assert requests.put(f"{provider}/users/{sub}", json=claims, timeout=10).status_code == 204
    start = client.get("/login/sso")
    assert start.status_code == 302
    authorize = start.headers["Location"]
    query = parse_qs(urlsplit(authorize).query)
    assert authorize.startswith(provider) and query["code_challenge_method"] == ["S256"] and query["state"]
    answer = requests.post(authorize, data={"sub": sub}, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["Location"])
    assert back.path == "/login/sso/callback"
    return f"{back.path}?{back.query}"


def test_a_verified_email_at_an_allowed_domain_signs_in(
    sso_app: Flask, client: FlaskClient, provider: str
) -> None:
    assert "Sign in with your organisation" in client.get("/login").get_data(as_text=True)
    callback = _sign_in_at_provider(
        client,
        provider,
        "ann-sub",
        {
            "email": "Ann@Example.org",
            "email_verified": True,
            "name": "Ann Officer",
            "groups": ["forum-admin"],
        },
    )
    signed_in = client.get(callback)
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == "/manage/"
    assert client.get("/manage/").status_code == 200
    officer = Officer.by_email("ann@example.org")
    assert officer is not None and officer.is_admin and officer.name == "Ann Officer"
    assert not officer.password_hash  # no password was made


def test_an_existing_officer_is_linked_not_duplicated(
    sso_app: Flask, client: FlaskClient, provider: str
) -> None:
    from forum.core.extensions import db

    db.session.add(Officer(email="cat@example.org", name="Cat", is_admin=False))
    db.session.commit()
    callback = _sign_in_at_provider(
        client, provider, "cat-sub", {"email": "cat@example.org", "email_verified": True}
    )
    assert client.get(callback).status_code == 302
    assert db.session.query(Officer).filter_by(email="cat@example.org").count() == 1
    assert not Officer.by_email("cat@example.org").is_admin  # type: ignore[union-attr]


def test_another_domain_is_refused(sso_app: Flask, client: FlaskClient, provider: str) -> None:
    callback = _sign_in_at_provider(
        client, provider, "bob-sub", {"email": "bob@elsewhere.net", "email_verified": True}
    )
    refused = client.get(callback)
    assert refused.status_code == 403
    assert "Addresses at elsewhere.net may not sign in here." in refused.get_data(as_text=True)
    assert Officer.by_email("bob@elsewhere.net") is None
    assert client.get("/manage/").status_code == 302  # still signed out


def test_an_unverified_email_is_refused(sso_app: Flask, client: FlaskClient, provider: str) -> None:
    callback = _sign_in_at_provider(
        client, provider, "eve-sub", {"email": "eve@example.org", "email_verified": False}
    )
    refused = client.get(callback)
    assert refused.status_code == 403 and "has not verified your email" in refused.get_data(as_text=True)


def test_a_stale_state_is_a_400_with_words(sso_app: Flask, client: FlaskClient, provider: str) -> None:
    callback = _sign_in_at_provider(
        client, provider, "ann-sub", {"email": "ann@example.org", "email_verified": True}
    )
    other_browser = sso_app.test_client()  # it never started this sign-in: no state of its own
    refused = other_browser.get(callback)
    assert refused.status_code == 400
    assert "took too long or was started elsewhere" in refused.get_data(as_text=True)
