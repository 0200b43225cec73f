"""Revoking an API token and deactivating an officer, from the CLI and from /manage/officers:
the token answers 401 at once, a deactivated officer cannot sign in, an open session of theirs
ends, and all their tokens stop working. Both doors make the same change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Flask, g
from flask.testing import FlaskClient
from sqlalchemy import event

from forum.core import clock
from forum.core.extensions import db
from forum.models import ApiToken, Officer
from tests.conftest import csrf_from
from tests.support.api import officer_token
from tests.support.live import OFFICER_EMAIL, make_officer, sign_in

OTHER = "bea@forum.test"
OTHER_PASSWORD = "bea-password-123"


def _as(client: FlaskClient) -> FlaskClient:
    """The client as the next request sees it: the test's app context outlives requests and
    Flask-Login (the officer) and Flask-WTF (the CSRF token) cache in `g`, which a real
    request never shares with another."""
    g.pop("_login_user", None)
    g.pop("csrf_token", None)
    return client


def _api(client: FlaskClient, headers: dict[str, str]) -> int:
    _as(client)
    return client.post("/api/v1/needs", json={"title": "New to serials"}, headers=headers).status_code


def _cli(app: Flask, *args: str):  # type: ignore[no-untyped-def]
    """A CLI command, as another process: its own session; ours reads afresh after it."""
    result = app.test_cli_runner().invoke(args=["forum", *args])
    db.session.expire_all()
    return result


def _two_officers(app: Flask) -> tuple[Officer, dict[str, str], dict[str, str]]:
    make_officer()
    bea = make_officer(OTHER, OTHER_PASSWORD)
    first, second = officer_token(OTHER), officer_token(OTHER)
    return bea, first, second


def test_the_cli_revokes_a_token_and_deactivates_an_officer(app: Flask) -> None:
    bea, first, second = _two_officers(app)
    client = app.test_client()
    assert _api(client, first) == 201
    [token_one, _] = db.session.query(ApiToken).order_by(ApiToken.id).all()
    listed = _cli(app, "list-tokens", OTHER)
    assert listed.exit_code == 0 and f"{token_one.id}\ttests" in listed.output and "fo_" not in listed.output

    assert _cli(app, "revoke-token", OTHER).exit_code == 1  # which one must be said
    revoked = _cli(app, "revoke-token", OTHER, "--id", str(token_one.id))
    assert revoked.exit_code == 0 and "Revoked 1 token" in revoked.output
    assert _api(client, first) == 401 and _api(client, second) != 401

    bea_browser = app.test_client()
    assert sign_in(_as(bea_browser), OTHER, OTHER_PASSWORD).status_code == 302
    assert _as(bea_browser).get("/manage/").status_code == 200
    done = _cli(app, "deactivate-officer", OTHER)
    assert done.exit_code == 0 and "revoked 1 token" in done.output
    assert _api(client, second) == 401
    assert _as(bea_browser).get("/manage/").status_code == 302  # the open session ended
    assert sign_in(_as(app.test_client()), OTHER, OTHER_PASSWORD).status_code == 400
    again = _cli(app, "deactivate-officer", OTHER)
    assert again.exit_code == 1 and "already deactivated" in again.output

    assert _cli(app, "deactivate-officer", OFFICER_EMAIL).exit_code == 1  # the last active one
    assert _cli(app, "reactivate-officer", OTHER).exit_code == 0
    assert sign_in(_as(app.test_client()), OTHER, OTHER_PASSWORD).status_code == 302
    assert _api(client, second) == 401  # old tokens stay revoked
    assert _cli(app, "revoke-token", "nobody@forum.test", "--all").exit_code == 1


def test_the_officers_page_revokes_and_deactivates_the_same_way(app: Flask, client: FlaskClient) -> None:
    bea, first, second = _two_officers(app)
    assert client.get("/manage/officers/").status_code == 302  # signed-in officers only
    sign_in(_as(client))
    page = _as(client).get("/manage/officers/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and OTHER in html and "tests" in html and "fo_" not in html
    token = csrf_from(html)
    [token_one, _] = db.session.query(ApiToken).order_by(ApiToken.id).all()
    revoked = _as(client).post(f"/manage/officers/tokens/{token_one.id}/revoke", data={"csrf_token": token})
    assert revoked.status_code == 303
    assert _api(client, first) == 401 and _api(client, second) != 401

    me = Officer.by_email(OFFICER_EMAIL)
    assert me is not None
    refused = _as(client).post(f"/manage/officers/{me.id}/deactivate", data={"csrf_token": token})
    assert refused.status_code == 400 and "your own account" in refused.get_data(as_text=True)
    done = _as(client).post(f"/manage/officers/{bea.id}/deactivate", data={"csrf_token": token})
    assert done.status_code == 303
    db.session.expire_all()
    assert bea.active is False and db.session.query(ApiToken).count() == 0  # as the CLI leaves it
    assert _api(client, second) == 401
    assert sign_in(_as(app.test_client()), OTHER, OTHER_PASSWORD).status_code == 400
    assert "deactivated" in _as(client).get("/manage/officers/").get_data(as_text=True)
    assert _as(client).post(f"/manage/officers/{bea.id}/reactivate", data={"csrf_token": token}).status_code == 303
    assert _as(client).post("/manage/officers/tokens/999/revoke", data={"csrf_token": token}).status_code == 404


def test_a_tokens_last_use_is_kept_to_the_minute_without_a_write_per_request(app: Flask, client: FlaskClient) -> None:
    """`list-tokens` shows when each token was last used, to the minute; a client's burst of
    API reads within one minute writes nothing (it used to update and commit the token's row
    on every request: a write per read, and on PostgreSQL a lock every parallel request with
    that token queued on)."""
    make_officer()
    headers = officer_token(OTHER)
    start = datetime(2030, 3, 4, 9, 15, 5, tzinfo=UTC)
    writes: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("UPDATE API_TOKEN"):
            writes.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        for offset, expected in ((0, start), (20, start), (40, start), (65, start + timedelta(seconds=65))):
            with clock.frozen(start + timedelta(seconds=offset)):
                assert _as(client).get("/api/v1/needs", headers=headers).status_code == 200
            db.session.expire_all()
            [token] = db.session.query(ApiToken).all()
            assert token.last_used_at == expected
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(writes) == 2  # the first use, and the one a minute later
    listed = _cli(app, "list-tokens", OTHER).output
    assert "2030-03-04T09:16" in listed
