"""The JSON API promises what the database keeps, found by schemathesis: every input schema's
length limits fit their columns (a resource URL of 1,001-2,000 characters was a 500), booleans
are JSON booleans (`reply_to_list: 0` was taken), a write whose schema requires a body gets one
(a PUT with no body was taken), and local times are RFC 3339 (`+04:58:24` offsets were not)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from marshmallow import Schema, ValidationError, fields, validate

from forum.core.extensions import db
from forum.models import (
    Event,
    EventPanelist,
    FormQuestion,
    LearningNeed,
    Panelist,
    Participant,
    Pathway,
    PathwayStep,
    Resource,
    Session,
    Subscription,
)
from forum.models.discussion import ThreadChoice
from forum.models.mentoring import MentoringCycle, MentoringMatch, MentoringMember, MentoringProgramme
from tests.support.api import make_event, officer_token

#: The table each input schema writes to (a new input schema must be added here).
WRITES_TO = {
    "EventInSchema": Event,
    "EventPatchSchema": Event,
    "SessionInSchema": Session,
    "SessionPatchSchema": Session,
    "PanelistInSchema": Panelist,
    "PanelistPatchSchema": Panelist,
    "PanelistLinkInSchema": EventPanelist,
    "SubscriptionInSchema": Participant,
    "ResourceInSchema": Resource,
    "NeedInSchema": LearningNeed,
    "StepInSchema": PathwayStep,
    "PathwayInSchema": Pathway,
    "QuestionInSchema": FormQuestion,
    "QuestionPatchSchema": FormQuestion,
    "DecisionInSchema": Subscription,  # approve or decline registrations (no text column of its own)
    "DeliverySchema": Subscription,  # a participant's delivery and digest choices
    "ThreadChoiceInSchema": ThreadChoice,
    "MentoringProgrammeInSchema": MentoringProgramme,
    "MentoringCycleInSchema": MentoringCycle,
    "MentoringWeightsInSchema": MentoringCycle,  # the cycle's matching weights
    "MentoringQuestionInSchema": FormQuestion,
    "MentoringQuestionPatchSchema": FormQuestion,
    "MentoringMembersInSchema": MentoringMember,
    "MentoringMatchesInSchema": MentoringMatch,
    "MentoringEndInSchema": MentoringMatch,  # the reason a match ended
    "MentoringStoryInSchema": MentoringMatch,  # the officer's note inviting a pair's story
    "MentoringMailInSchema": MentoringProgramme,  # a call or newsletter: mailed, not stored as text
}
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def _input_schemas(app: Flask) -> dict[str, type[Schema]]:
    found: dict[str, type[Schema]] = {}
    for view in app.view_functions.values():
        for parameter in getattr(view, "_apidoc", {}).get("arguments", {}).get("parameters", []):
            if parameter.get("in") == "json":
                schema = parameter["schema"]
                schema = schema if isinstance(schema, type) else type(schema)
                found[schema.__name__] = schema
    return found


def test_every_input_length_fits_its_column_and_every_boolean_is_strict(app: Flask) -> None:
    schemas = _input_schemas(app)
    assert set(schemas) <= set(WRITES_TO), f"say which table these write to: {set(schemas) - set(WRITES_TO)}"
    assert len(schemas) >= 10
    checked = 0
    for name, schema_class in schemas.items():
        columns = WRITES_TO[name].__table__.c
        for field_name, field in schema_class().fields.items():
            if isinstance(field, fields.Boolean):
                with pytest.raises(ValidationError) as refused:
                    schema_class(partial=True).load({field_name: 0})
                assert field_name in refused.value.messages, (name, field_name)
            column = columns.get(field.attribute or field_name)
            length = getattr(getattr(column, "type", None), "length", None)
            limits = [v.max for v in field.validators if isinstance(v, validate.Length) and v.max is not None]
            limits += [max(map(len, v.choices)) for v in field.validators if isinstance(v, validate.OneOf)]
            if isinstance(field, fields.String) and length:
                assert limits and max(limits) <= length, f"{name}.{field_name}: schema {limits}, column {length}"
                checked += 1
    assert checked >= 30


def test_a_resource_url_as_long_as_the_column_and_one_longer(app: Flask, client: FlaskClient) -> None:
    headers = officer_token()
    limit = Resource.__table__.c.url.type.length
    base = "https://example.org/"

    def post(url: str):  # type: ignore[no-untyped-def]
        return client.post("/api/v1/resources", json={"title": "Long", "url": url, "kind": "document"}, headers=headers)

    assert post(base + "x" * (limit - len(base))).status_code == 201
    too_long = post(base + "x" * (limit + 1 - len(base)))
    assert too_long.status_code == 422 and "url" in too_long.get_json()["errors"]["json"]
    spec = client.get("/api/openapi.json").get_json()
    assert spec["components"]["schemas"]["ResourceIn"]["properties"]["url"]["maxLength"] == limit


def test_booleans_and_bodies_are_what_the_schema_says(app: Flask, client: FlaskClient) -> None:
    headers = officer_token()
    make_event("forum", [(datetime(2030, 9, 10, 10), datetime(2030, 9, 10, 12))])
    for value in (0, 1, "true", "yes", None):
        answer = client.patch("/api/v1/events/forum", json={"reply_to_list": value}, headers=headers)
        assert answer.status_code == 422, value
    assert client.patch("/api/v1/events/forum", json={"reply_to_list": True}, headers=headers).status_code == 200

    panelist = client.post("/api/v1/panelists", json={"name": "Ana Reyes"}, headers=headers).get_json()
    url = f"/api/v1/events/forum/panelists/{panelist['id']}"
    empty = client.put(url, headers=headers)
    assert empty.status_code == 422 and "JSON object" in str(empty.get_json()["errors"])
    assert client.put(url, data=b"", content_type="application/json", headers=headers).status_code == 422
    assert client.put(url, json={}, headers=headers).status_code == 200  # the defaults, asked for
    assert client.put(url).status_code == 401  # no token: that first
    assert client.post("/api/v1/events", headers=headers).status_code == 422


def test_local_times_before_standard_time_are_rfc_3339(app: Flask, client: FlaskClient) -> None:
    make_event("old", [(datetime(1850, 3, 1, 10), datetime(1850, 3, 1, 12))], zone="Asia/Kolkata")
    event = db.session.query(Event).filter_by(slug="old").one()
    assert event.sessions[0].starts_at.astimezone(UTC).hour == 4  # 10:00 at +05:53:28
    answer = client.get("/api/v1/events/old").get_json()
    session = answer["sessions"][0]
    assert RFC3339.match(session["starts_at_local"]), session["starts_at_local"]
    assert datetime.fromisoformat(session["starts_at_local"]) == datetime.fromisoformat(session["starts_at"])
