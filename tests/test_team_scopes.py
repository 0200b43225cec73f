"""Roles per pathway (the generic object scope, forum/team/scopes.py): the officer who makes a
pathway owns it by either door, others see it only once given a role there, and a viewer
reads without changing; the same answers on the officer pages and the JSON API."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from forum.core.extensions import db
from forum.models import AuditEntry, ObjectRole, Officer
from forum.models.pathways import Pathway
from forum.team import scopes
from tests.conftest import csrf_from, submit
from tests.support.team import bearer, officer_with, sign_in


def _made_by_api(client: FlaskClient, headers: dict[str, str]) -> None:
    made = client.post(
        "/api/v1/pathways",
        json={"title": "Metadata for Beginners", "slug": "metadata-beginners"},
        headers=headers,
    )
    assert made.status_code == 201, made.get_json()


def test_the_maker_owns_a_pathway_and_others_do_not_see_its_draft(app: Flask, client: FlaskClient) -> None:
    maker = officer_with(None, None, "maker@forum.test")
    outsider = officer_with(None, None, "outsider@forum.test")
    maker_headers, outsider_headers = bearer(maker), bearer(outsider)
    _made_by_api(client, maker_headers)
    pathway = Pathway.by_slug("metadata-beginners")
    assert pathway is not None and scopes.role_on(maker, pathway) == "owner"
    # The outsider: no draft in their lists, 403 on its officer pages, 404 on its draft page.
    listed = client.get("/api/v1/pathways", headers=outsider_headers).get_json()
    assert [p["slug"] for p in listed] == []
    assert client.get("/api/v1/pathways/metadata-beginners", headers=outsider_headers).status_code == 404
    refused = client.post("/api/v1/pathways/metadata-beginners/publish", headers=outsider_headers)
    assert refused.status_code == 403
    sign_in(client, outsider)
    assert "Metadata for Beginners" not in client.get("/manage/pathways/").get_data(as_text=True)
    page = client.get("/manage/pathways/metadata-beginners")
    assert page.status_code == 403
    assert "Your role does not allow this on “Metadata for Beginners”" in page.get_data(as_text=True)
    assert client.get("/pathways/metadata-beginners").status_code == 404
    # The maker sees it everywhere.
    assert [p["slug"] for p in client.get("/api/v1/pathways", headers=maker_headers).get_json()] == [
        "metadata-beginners"
    ]
    sign_in(client, maker)
    assert client.get("/manage/pathways/metadata-beginners").status_code == 200


def test_an_owner_grants_a_viewer_who_reads_but_cannot_edit(app: Flask, client: FlaskClient) -> None:
    owner = officer_with(None, None, "owner@forum.test")
    sign_in(client, owner)
    page = client.get("/manage/pathways/new")
    made = submit(client, "/manage/pathways/new", page.data, title="Serials 101", slug="serials")
    assert made.status_code in (302, 303), made.get_data(as_text=True)[-2000:]
    team = client.get("/manage/team/pathway/serials")
    assert team.status_code == 200
    # the grant below makes an account for a new address, and the page says so as the event's does
    assert "An address without an officer account gets one" in team.get_data(as_text=True)
    granted = submit(
        client, "/manage/team/pathway/serials", team.data, email="Reader@Example.org", role="viewer"
    )
    assert granted.status_code == 303, granted.get_data(as_text=True)[-2000:]
    reader = Officer.by_email("reader@example.org")
    assert reader is not None and not reader.is_admin
    rows = db.session.scalars(select(ObjectRole).where(ObjectRole.object_type == "pathway")).all()
    assert sorted((r.officer_id, r.role) for r in rows) == sorted(
        [(owner.id, "owner"), (reader.id, "viewer")]
    )
    sign_in(client, reader)
    assert client.get("/manage/pathways/serials").status_code == 200
    assert client.get("/pathways/serials").status_code == 200  # the draft's preview
    assert client.get("/manage/pathways/serials/edit").status_code == 403
    assert client.get("/manage/team/pathway/serials").status_code == 403
    assert client.get("/manage/pathways/resources").status_code == 403  # the shared library: administrators
    headers = bearer(reader)
    assert client.get("/api/v1/pathways/serials", headers=headers).status_code == 200
    assert client.post("/api/v1/pathways/serials/publish", headers=headers).status_code == 403
    # The last owner stays.
    try:
        scopes.revoke(Pathway.by_slug("serials"), owner, by=owner)
    except scopes.ScopeError as exc:
        assert "keeps at least one owner" in str(exc)
    else:
        raise AssertionError("the last owner was removed")


def test_an_unknown_kind_is_a_404_and_a_pathway_grant_is_audited(app: Flask, client: FlaskClient) -> None:
    admin = officer_with(None, None, "admin@forum.test", admin=True)
    pathway = Pathway(slug="rda", title="RDA")
    db.session.add(pathway)
    db.session.commit()
    sign_in(client, admin)
    assert client.get("/manage/team/planet/rda").status_code == 404
    team = client.get("/manage/team/pathway/rda")
    submit(client, "/manage/team/pathway/rda", team.data, email="ed@example.org", role="organiser")
    db.session.expire_all()
    [row] = db.session.scalars(select(AuditEntry).where(AuditEntry.object_type == "object_role")).all()
    assert row.action == "object_role.granted" and row.changes["role"] == [None, "organiser"]


def test_roles_per_mentoring_programme(app: Flask, client: FlaskClient) -> None:
    """A programme is a scope like a pathway: its viewer reads its cycles but cannot change
    them, an officer with no role there gets 403 and does not see it listed, and the
    administrator needs no role."""
    from tests.support.mentoring import make_cycle, make_programme  # noqa: PLC0415 - mentoring test data only here

    programme = make_programme()
    cycle = make_cycle(programme)
    viewer = officer_with(None, None, "viewer@forum.test")
    outsider = officer_with(None, None, "outsider@forum.test")
    admin = officer_with(None, None, "admin@forum.test", admin=True)
    scopes.grant(programme, viewer, "viewer", by=admin)
    db.session.commit()
    base = f"/manage/mentoring/{programme.slug}"
    sign_in(client, outsider)
    assert programme.title not in client.get("/manage/mentoring/").get_data(as_text=True)
    assert client.get(base).status_code == 403
    assert client.get(f"{base}/cycles/{cycle.id}").status_code == 403
    sign_in(client, viewer)
    assert programme.title in client.get("/manage/mentoring/").get_data(as_text=True)
    assert client.get(f"{base}/cycles/{cycle.id}").status_code == 200
    page = client.get(base).get_data(as_text=True)
    refused = client.post(f"{base}/cycles/{cycle.id}/mail/call", data={"csrf_token": csrf_from(page)})
    assert refused.status_code == 403
    sign_in(client, admin)
    assert client.get(base).status_code == 200
