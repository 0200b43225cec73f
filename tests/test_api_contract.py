"""The OpenAPI document and the code agree: schemathesis generates requests from
/api/openapi.json (valid ones, and deliberately invalid ones) for every operation, sends them
to the app with an officer's token, and runs all of its checks on each answer: no 5xx, status
codes, content types, headers (Allow on 405) and bodies as documented, invalid input refused,
valid input accepted. Bounded (a fixed number of examples per operation, derandomised) so it
stays a quick, repeatable part of the suite."""

from __future__ import annotations

from datetime import datetime

import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import positive_data_acceptance
from schemathesis.generation import GenerationMode

from forum.web.events.api_schemas import WALL_TIME_FORMAT
from tests.support.api import make_event, officer_token

EXAMPLES_PER_OPERATION = 25
OPERATIONS = 54  # every route under /api/v1: events, pathways, CE records, the public subscription,
# registration questions, registrations and approval decisions, the audit log, mentoring,
# a participant's preferences

# `format: wall-time` is ours (a date and clock time with no offset); teach the generator.
schemathesis.openapi.format(
    WALL_TIME_FORMAT,
    st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2120, 12, 31)).map(
        lambda moment: moment.strftime("%Y-%m-%dT%H:%M")
    ),
)


#: 422s about rules that depend on stored data or on several fields together, which OpenAPI
#: cannot express: the two wall times (the end after the start, the start not in a
#: spring-forward gap); registration answers (which question ids the event has, which kind
#: each is, which ones its conditions hide); a question's choices and condition (two distinct
#: choices for a choice question; a condition on an earlier choice question and its answers).
RULES_NO_SCHEMA_CAN_SAY = (
    {"start_wall", "end_wall"},
    {"answers"},
    {"choices", "condition_question", "condition_values"},
    # mentoring: a window's wall times (as above), a zone name tzdata must know, a check-in pace
    # within the programme's length
    {"opens", "closes"},
    {"timezone", "checkin_months"},
)


def _rule_no_schema_can_say(response) -> bool:  # type: ignore[no-untyped-def]
    """A 422 that only such a rule explains; every other refusal of valid data is a failure."""
    if response.status_code != 422:
        return False
    fields = set((response.json().get("errors") or {}).get("json") or {})
    return bool(fields) and any(fields <= rule for rule in RULES_NO_SCHEMA_CAN_SAY)


def test_every_operation_keeps_its_documented_contract(app: Flask) -> None:
    make_event(
        "mentoring",
        [(datetime(2030, 9, 10, 10), datetime(2030, 9, 10, 18))],
        panelists=[("Ana Reyes", "moderator")],
    )
    make_event(
        "draft-series", [(datetime(2030, 10, 1, 12), datetime(2030, 10, 1, 13))], kind="series", publish=False
    )
    auth = officer_token()
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    failures: list[str] = []
    unsatisfiable: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
                phases=[Phase.explicit, Phase.generate],
            )
            def check(case) -> None:  # type: ignore[no-untyped-def]
                response = case.call(headers=auth)
                excluded = [positive_data_acceptance] if _rule_no_schema_can_say(response) else []
                case.validate_response(response, excluded_checks=excluded, headers=auth)

            try:
                check()
            except Unsatisfiable:
                # Nothing in this operation can be invalid (GET /events/{slug}: any string is
                # a slug, unknown ones are 404s; GET /pathways: no parameters), so there is no
                # negative case to send.
                assert mode is GenerationMode.NEGATIVE, operation.label
                unsatisfiable.append(operation.label)
            except (Exception, BaseExceptionGroup) as exc:  # every operation's failures in one report
                failures.append(f"{operation.label} ({mode}): {exc}")
    assert failures == [], "\n\n".join(failures)
    assert operations == OPERATIONS
    assert sorted(unsatisfiable) == [
        "GET /api/v1/events/{slug}",
        "GET /api/v1/events/{slug}/questions",
        "GET /api/v1/mentoring/programmes",
        "GET /api/v1/mentoring/programmes/{slug}",
        "GET /api/v1/needs",
        "GET /api/v1/pathways",
        "GET /api/v1/pathways/{slug}",
        "GET /api/v1/preferences/{token}/subscriptions",
        "GET /api/v1/resources",
    ]


def test_the_cases_schemathesis_found_first(app: Flask) -> None:
    """Named regressions, so a failure reads plainly without a schemathesis run."""
    make_event("mentoring", [(datetime(2030, 9, 10, 10), datetime(2030, 9, 10, 18))])
    auth = officer_token()
    client = app.test_client()
    tiny = client.patch("/api/v1/events/mentoring", json={"digest_hour": 2.5e-42}, headers=auth)
    assert tiny.status_code == 422 and "digest_hour" in tiny.get_json()["errors"]["json"]
    for body in ({}, None):
        empty = client.patch("/api/v1/events/mentoring", json=body, headers=auth)
        assert empty.status_code == 422, body
    assert client.patch("/api/v1/events/mentoring", data="", headers=auth).status_code == 422
    wrong = client.delete("/api/v1/events/mentoring", headers=auth)
    assert wrong.status_code == 405 and set(wrong.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS", "PATCH"}
    offset = client.post(
        "/api/v1/events/mentoring/sessions",
        json={"start_wall": "2030-09-11T10:00+02:00", "end_wall": "2030-09-11T11:00"},
        headers=auth,
    )
    assert "without an offset" in offset.get_json()["errors"]["json"]["start_wall"][0]
    spec = client.get("/api/openapi.json").get_json()
    assert "/api/v1/events/{slug}/subscriptions" in spec["paths"]
    assert "security" not in spec["paths"]["/api/v1/events/{slug}/subscriptions"]["post"]
