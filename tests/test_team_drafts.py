"""A draft event is seen by the officers holding a role on it, not by every signed-in officer:
its e-forum archive, the panelist page's list of events and the panelist API all hide it from
an officer of other events as they hide it from the public."""

from __future__ import annotations

from datetime import datetime

from flask import Flask
from flask.testing import FlaskClient

from tests.support.api import make_event
from tests.support.team import bearer, officer_with, sign_in

DAYS = [(datetime(2030, 3, 5, 13, 0), datetime(2030, 3, 5, 14, 30))]


def _draft_and_officers() -> tuple[int, dict[str, object]]:
    draft = make_event("secret-eforum", DAYS, publish=False, panelists=[("Dana Draft", "panelist")])
    other = make_event("open-eforum", DAYS)
    panelist_id = draft.panelist_links[0].panelist_id
    return panelist_id, {
        "viewer": officer_with(draft, "viewer", "viewer@forum.test"),
        "outsider": officer_with(other, "owner", "outsider@forum.test"),
    }


def test_a_draft_e_forum_is_hidden_from_officers_of_other_events(app: Flask, client: FlaskClient) -> None:
    panelist_id, officers = _draft_and_officers()
    sign_in(client, officers["outsider"])  # type: ignore[arg-type]
    assert client.get("/events/secret-eforum/archive").status_code == 404
    page = client.get(f"/panelists/{panelist_id}")
    assert page.status_code == 404  # their only event is a draft this officer holds no role on
    sign_in(client, officers["viewer"])  # type: ignore[arg-type]
    assert client.get("/events/secret-eforum/archive").status_code != 404
    page = client.get(f"/panelists/{panelist_id}")
    assert page.status_code == 200 and "Secret Eforum" in page.get_data(as_text=True)


def test_the_panelist_api_lists_a_draft_only_for_its_officers(app: Flask, client: FlaskClient) -> None:
    panelist_id, officers = _draft_and_officers()
    outsider = client.get(f"/api/v1/panelists/{panelist_id}", headers=bearer(officers["outsider"]))  # type: ignore[arg-type]
    assert outsider.status_code == 404
    viewer = client.get(f"/api/v1/panelists/{panelist_id}", headers=bearer(officers["viewer"]))  # type: ignore[arg-type]
    assert viewer.status_code == 200
    assert [e["slug"] for e in viewer.get_json()["events"]] == ["secret-eforum"]
    assert client.get("/api/v1/events/secret-eforum", headers=bearer(officers["outsider"])).status_code == 404  # type: ignore[arg-type]
