"""Roles per event, checked by one guard at every door (forum/web/team/guard.py).

The matrix walks every route under /manage and /api/v1 with every role; the parity tests
show the same permission answered the same way through the officer pages and the JSON API.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from flask import Flask, request
from flask.testing import FlaskClient
from flask_login import login_user
from werkzeug.exceptions import HTTPException

from forum.core.extensions import db
from forum.models import Event, EventRole, Officer, OutboundMessage
from forum.models.mentoring import MentoringProgramme
from forum.models.pathways import Pathway
from forum.team import invitations, roles, scopes
from forum.web.events import api_common as api_door
from forum.web.team import guard
from tests.conftest import csrf_from, submit
from tests.support.api import make_event
from tests.support.team import bearer, officer_with, sign_in

DAYS = [(datetime(2030, 3, 5, 13, 0), datetime(2030, 3, 5, 14, 30))]
ROLES = [*roles.ROLE_PERMISSIONS, None]  # None: an officer with no role on the event


def _officer_routes(app: Flask) -> list[tuple[str, str, str]]:
    """(endpoint, method, rule) of every officer route."""
    found = []
    for rule in app.url_map.iter_rules():
        if guard.is_officer_path(rule.rule):
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                found.append((rule.endpoint, method, rule.rule))
    return found


def _path(app: Flask, endpoint: str, method: str, slug: str) -> str:
    rule = next(r for r in app.url_map.iter_rules(endpoint))
    values: dict[str, object] = {}
    for arg in rule.arguments:
        converter = rule._converters[arg]  # noqa: SLF001 - werkzeug keeps no public map
        if "Int" in type(converter).__name__:
            values[arg] = 1
        else:  # the event and the pathway share the slug; a generic team page names its kind
            values[arg] = {"slug": slug, "kind": "pathway"}.get(arg, "x")
    return app.url_map.bind("forum.test").build(endpoint, values, method=method)


def _guard_answer(app: Flask, path: str, method: str, officer: Officer, api: bool) -> int:
    """What the guard alone says: 403, or 0 when the view may run."""
    headers = bearer(officer) if api else {}
    with app.test_request_context(path, method=method, headers=headers, base_url="http://forum.test"):
        if not api:
            login_user(officer)
        try:
            guard.check()
        except HTTPException as exc:
            return exc.code or 0
        if api and request.environ.get(api_door.CACHE_KEY, officer) is None:
            return 404  # a public read answered as to the public: no officer view
        return 0


def test_every_officer_route_has_a_rule(app: Flask) -> None:
    missing = [(e, m, r) for e, m, r in _officer_routes(app) if guard.rule_for(e) is None]
    assert missing == [], "officer routes with no permission rule in forum/web/team/guard.py"


#: The role each event-role officer of the matrix also holds on the pathway and the mentoring
#: programme of the same slug.
PATHWAY_ROLE = {"owner": "owner", "organiser": "organiser", "viewer": "viewer"}


def _expected_on_object(role: str | None, permission: str) -> int:
    held = PATHWAY_ROLE.get(role or "")
    return 0 if held and permission in scopes.DEFAULT_ROLES[held] else 403


def test_role_matrix_over_every_officer_and_api_route(app: Flask) -> None:
    with app.app_context():
        event = make_event("cataloging-eforum", DAYS)
        pathway = Pathway(slug=event.slug, title="Cataloging Pathway")
        programme = MentoringProgramme(slug=event.slug, title="Cataloging Mentoring")
        db.session.add_all([pathway, programme])
        db.session.commit()
        officers = {role: officer_with(event, role, f"{role or 'nobody'}@forum.test") for role in ROLES}
        for role, officer in officers.items():
            if role in PATHWAY_ROLE:  # the same role on the pathway and the programme of that slug
                scopes.grant(pathway, officer, PATHWAY_ROLE[role], by=None)
                scopes.grant(programme, officer, PATHWAY_ROLE[role], by=None)
        db.session.commit()
        admin = officer_with(None, None, "admin@forum.test", admin=True)
        routes = _officer_routes(app)
        checked = 0
        for endpoint, method, rule_text in routes:
            rule = guard.rule_for(endpoint)
            assert rule is not None
            permission = rule.write if method not in guard.SAFE_METHODS else rule.read
            path = _path(app, endpoint, method, event.slug)
            api = rule_text.startswith("/api/")
            assert _guard_answer(app, path, method, admin, api) == 0, (endpoint, method, "admin")
            for role, officer in officers.items():
                if permission is None or permission in (roles.SIGNED_IN, roles.EVENT_CREATE):
                    expected = 0
                elif permission == roles.SITE_ADMIN or (rule.on == "site"):
                    expected = 403
                elif rule.on != "event":  # a pathway's own roles (on="pathway", or "object")
                    expected = _expected_on_object(role, permission)
                else:
                    expected = 0 if role and permission in roles.ROLE_PERMISSIONS[role] else 403
                if expected == 403 and api and rule.public and method in guard.SAFE_METHODS:
                    expected = 404  # answered as to the public
                got = _guard_answer(app, path, method, officer, api)
                assert got == expected, (endpoint, method, role, permission)
                checked += 1
        assert checked >= len(ROLES) * 100  # every route, every role


def test_a_read_only_token_changes_nothing(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        make_event("cataloging-eforum", DAYS)
        admin = officer_with(None, None, "admin@forum.test", admin=True)
        headers = bearer(admin, read_only=True)
    assert client.get("/api/v1/events/cataloging-eforum", headers=headers).status_code == 200
    answer = client.patch("/api/v1/events/cataloging-eforum", json={"title": "Renamed"}, headers=headers)
    assert answer.status_code == 403
    assert answer.get_json()["message"] == "This API token is read-only."


@pytest.fixture
def two_events(app: Flask) -> dict[str, object]:
    """An e-forum with a moderator and a CE reviewer, and another event they hold no role on."""
    with app.app_context():
        mine = make_event("cataloging-eforum", DAYS)
        other = make_event("metadata-series", DAYS, kind="series", publish=False)
        return {
            "moderator": officer_with(mine, "moderator", "mod@forum.test").id,
            "reviewer": officer_with(mine, "ce_reviewer", "ce@forum.test").id,
            "mine": mine.slug,
            "other": other.slug,
        }


def _officer(officer_id: object) -> Officer:
    officer = db.session.get(Officer, officer_id)
    assert officer is not None
    return officer


def test_moderator_parity_web_and_api(app: Flask, client: FlaskClient, two_events: dict[str, object]) -> None:
    with app.app_context():
        moderator = _officer(two_events["moderator"])
        sign_in(client, moderator)
        headers = bearer(moderator)
    # Web: held posts of their forum yes; another event's registrants, and their own, no.
    assert client.get("/manage/events/cataloging-eforum/moderation").status_code == 200
    refused = client.get("/manage/events/metadata-series/subscribers")
    assert refused.status_code == 403
    assert "Your role does not allow this on “Metadata Series”" in refused.get_data(as_text=True)
    assert client.get("/manage/events/cataloging-eforum/subscribers").status_code == 403
    assert client.get("/manage/events/metadata-series/attendance/").status_code == 403
    # The events list shows only their event.
    listing = client.get("/manage/").get_data(as_text=True)
    assert "Cataloging Eforum" in listing and "Metadata Series" not in listing
    # API: the same answers.
    assert client.get("/api/v1/events/metadata-series/attendance", headers=headers).status_code == 403
    assert client.get("/api/v1/events/metadata-series", headers=headers).status_code == 404  # a draft
    assert (
        client.patch(
            "/api/v1/events/cataloging-eforum", json={"title": "Renamed"}, headers=headers
        ).status_code
        == 403
    )
    slugs = [e["slug"] for e in client.get("/api/v1/events", headers=headers).get_json()]
    assert slugs == ["cataloging-eforum"]


def test_ce_reviewer_parity_web_and_api(
    app: Flask, client: FlaskClient, two_events: dict[str, object]
) -> None:
    with app.app_context():
        reviewer = _officer(two_events["reviewer"])
        sign_in(client, reviewer)
        headers = bearer(reviewer)
        session_id = Event.by_slug("cataloging-eforum").sessions[0].id  # type: ignore[union-attr]
    assert client.get("/manage/events/cataloging-eforum/attendance/").status_code == 200
    assert client.get("/api/v1/events/cataloging-eforum/attendance", headers=headers).status_code == 200
    page = client.get(f"/manage/events/cataloging-eforum/sessions/{session_id}")
    assert page.status_code == 403
    token = csrf_from(client.get("/manage/events/cataloging-eforum/attendance/").get_data(as_text=True))
    moved = client.post(
        f"/manage/events/cataloging-eforum/sessions/{session_id}/move",
        data={"csrf_token": token, "step": "1"},
    )
    assert moved.status_code == 403
    patched = client.patch(
        f"/api/v1/events/cataloging-eforum/sessions/{session_id}", json={"title": "Moved"}, headers=headers
    )
    assert patched.status_code == 403
    # The tabs offer only what the role allows.
    overview = client.get("/manage/events/cataloging-eforum").get_data(as_text=True)
    assert ">Attendance<" in overview and ">Subscribers<" not in overview and ">Details<" not in overview


def test_officer_grants_and_revokes_roles_on_the_team_page(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        make_event("cataloging-eforum", DAYS)
        make_event("metadata-series", DAYS, kind="series")
        owner = officer_with(Event.by_slug("cataloging-eforum"), "owner", "owner@forum.test")
        sign_in(client, owner)
    page = client.get("/manage/events/cataloging-eforum/team")
    assert page.status_code == 200
    granted = submit(
        client, "/manage/events/cataloging-eforum/team", page.data, email="Vol@Example.org", role="moderator"
    )
    assert granted.status_code == 303, granted.get_data(as_text=True)[-3000:]
    with app.app_context():
        volunteer = Officer.by_email("vol@example.org")
        assert volunteer is not None and not volunteer.is_admin
        assert roles.role_of(volunteer, Event.by_slug("cataloging-eforum")) == "moderator"  # type: ignore[arg-type]
        volunteer_id = volunteer.id
    listing = client.get("/manage/events/cataloging-eforum/team").get_data(as_text=True)
    assert "vol@example.org" in listing and "Moderator" in listing
    # No role on the other event: its team page is refused.
    assert client.get("/manage/events/metadata-series/team").status_code == 403
    revoked = client.post(
        f"/manage/events/cataloging-eforum/team/{volunteer_id}/revoke",
        data={"csrf_token": csrf_from(listing)},
    )
    assert revoked.status_code == 303
    with app.app_context():
        assert db.session.query(EventRole).filter_by(officer_id=volunteer_id).count() == 0


def test_an_organiser_cannot_make_an_owner(app: Flask) -> None:
    with app.app_context():
        event = make_event("cataloging-eforum", DAYS)
        organiser = officer_with(event, "organiser", "org@forum.test")
        other = officer_with(None, None, "other@forum.test")
        with pytest.raises(roles.RoleError, match="Only an owner"):
            roles.grant(event, other, "owner", by=organiser)


def test_the_officer_who_creates_an_event_owns_it(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        officer = officer_with(None, None, "new@forum.test")
        officer_id = officer.id
        headers = bearer(officer)
    made = client.post(
        "/api/v1/events",
        json={"slug": "rda-basics", "title": "RDA Basics", "kind": "eforum", "timezone": "America/Chicago"},
        headers=headers,
    )
    assert made.status_code == 201, made.get_json()
    with app.app_context():
        event = Event.by_slug("rda-basics")
        assert event is not None
        assert roles.role_of(_officer(officer_id), event) == "owner"
    assert (
        client.patch("/api/v1/events/rda-basics", json={"title": "RDA"}, headers=headers).status_code == 200
    )


def test_an_invited_officer_sets_a_password_through_the_signed_link(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        event = make_event("cataloging-eforum", DAYS)
        owner = officer_with(event, "owner", "owner@example.org")
        invitations.invite(event, "vol@example.org", "moderator", by=owner)
        db.session.commit()
        [mail] = db.session.query(OutboundMessage).filter_by(kind="officer_invite").all()
        text = mail.full_message.decode()
        assert "the role Moderator on “Cataloging Eforum”" in text
        link = next(word for word in text.split() if "/invitation/" in word)
    path = link[link.index("/invitation/") :]
    page = client.get(path)
    assert page.status_code == 200 and "vol@example.org" in page.get_data(as_text=True)
    assert page.headers["Referrer-Policy"] == "same-origin" and page.headers["Cache-Control"] == "no-store"
    done = client.post(
        path,
        data={
            "csrf_token": csrf_from(page.get_data(as_text=True)),
            "password": "a long passphrase",
            "again": "a long passphrase",
        },
    )
    assert done.status_code == 303 and done.headers["Location"] == "/manage/"
    listing = client.get("/manage/").get_data(as_text=True)
    assert "Cataloging Eforum" in listing
    again = client.get(path)  # used once: the password is set now
    assert again.status_code == 400 and "used already" in again.get_data(as_text=True)
