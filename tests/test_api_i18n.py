"""The JSON API answers errors in the client's language (`Accept-Language`), while what
clients branch on (the status, `code`, `status`, the field names under `errors`) stays the
same in every language.

One test per kind of refusal: a 422 from the request's schema (marshmallow's own words and
the app's validators), a 422 a service gives (an unknown time zone, checked by `timezones`),
a 409 a service gives (publishing a cancelled event), a 404 from a lookup and a 401 from the
token check; and the check that every message marshmallow can give is in the catalog.
"""

from __future__ import annotations

import inspect
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask_babel import force_locale
from marshmallow import Schema, ValidationError, fields, validate

from forum.core import clock
from forum.web.api_errors import translate_message
from tests.support.api import make_event, officer_token

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
FRENCH = {"Accept-Language": "fr-CA,fr;q=0.9,en;q=0.5"}
SPANISH = {"Accept-Language": "es-MX,es;q=0.9"}


@pytest.fixture(autouse=True)
def _frozen():  # type: ignore[no-untyped-def]
    with clock.frozen(NOW):
        yield


def _event():  # type: ignore[no-untyped-def]
    return make_event("mentoring", [(datetime(2030, 9, 10, 10), datetime(2030, 9, 10, 18))])


def test_a_422_from_the_schema_is_in_french_with_the_same_fields(client) -> None:  # type: ignore[no-untyped-def]
    body = {"slug": "Not A Slug", "timezone": "America/New_York", "seat_limit": -3}
    english = client.post("/api/v1/events", json=body, headers=officer_token())
    french = client.post("/api/v1/events", json=body, headers={**officer_token("fr@forum.test"), **FRENCH})

    assert english.status_code == french.status_code == 422
    en, fr = english.get_json(), french.get_json()
    assert (en["code"], en["status"]) == (fr["code"], fr["status"]) == (422, "Unprocessable Entity")
    assert set(en["errors"]["json"]) == set(fr["errors"]["json"]) == {"slug", "title", "seat_limit"}
    assert en["errors"]["json"]["title"] == ["Missing data for required field."]  # marshmallow's own
    assert fr["errors"]["json"]["title"] == ["Donnée obligatoire manquante."]
    assert fr["errors"]["json"]["slug"] == ["Utilisez des minuscules, des chiffres et des traits d’union simples."]
    (en_limit,), (fr_limit,) = en["errors"]["json"]["seat_limit"], fr["errors"]["json"]["seat_limit"]
    assert en_limit.startswith("Must be greater than or equal to 1 and less than or equal to ")
    assert fr_limit.startswith("Doit être supérieur ou égal à 1 et inférieur ou égal à ")  # the values kept
    assert en_limit.split()[-1] == fr_limit.split()[-1]


def test_a_422_a_service_refuses_is_in_the_clients_language(client) -> None:  # type: ignore[no-untyped-def]
    _event()
    answer = client.post(
        "/api/v1/events/mentoring/sessions",
        json={"start_wall": "2030-09-11T10:00", "end_wall": "2030-09-11T12:00", "timezone": "Mars/Olympus"},
        headers={**officer_token(), **SPANISH},
    )

    assert answer.status_code == 422
    (message,) = answer.get_json()["errors"]["json"]["timezone"]
    assert message == "«Mars/Olympus» no es una zona horaria conocida; use un nombre IANA como America/New_York."


def test_a_409_a_service_refuses_is_in_french_and_keeps_its_field(client) -> None:  # type: ignore[no-untyped-def]
    _event()
    headers = officer_token()
    assert client.post("/api/v1/events/mentoring/cancel", headers=headers).status_code == 200

    english = client.post("/api/v1/events/mentoring/publish", headers=headers)
    french = client.post("/api/v1/events/mentoring/publish", headers={**headers, **FRENCH})

    assert english.status_code == french.status_code == 409
    assert english.get_json()["errors"]["json"]["status"] == ["A cancelled event cannot be published again."]
    assert french.get_json()["errors"]["json"]["status"] == ["Un événement annulé ne peut pas être publié de nouveau."]


def test_lookups_and_the_token_check_answer_in_french(client) -> None:  # type: ignore[no-untyped-def]
    missing = client.get("/api/v1/events/nowhere", headers=FRENCH)
    assert missing.status_code == 404
    assert missing.get_json()["message"] == "Aucun événement « nowhere »."

    refused = client.post("/api/v1/events", json={}, headers={"Authorization": "Bearer nope", **FRENCH})
    assert refused.status_code == 401
    assert refused.get_json()["message"].startswith("Ce jeton d’API n’est pas valide")
    assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]  # the machine-readable part stays


def _library_messages() -> list[str]:
    """Every message marshmallow's fields, schemas and validators can give, with sample values
    (what a client could meet in an error answer), plus webargs' one for a broken body."""
    samples = {"input": "x", "min": "1", "max": "9", "equal": "3", "other": "True", "choices": "a, b", "values": "a"}
    found: set[str] = {"Invalid JSON body."}
    for cls in vars(fields).values():
        if not (inspect.isclass(cls) and issubclass(cls, fields.Field)):
            continue
        obj_type = getattr(cls, "OBJ_TYPE", "datetime")
        for template in getattr(cls, "default_error_messages", {}).values():
            for awareness in ("naive", "aware"):
                found.add(template.format(**samples, obj_type=obj_type, awareness=awareness))
    found.update(Schema._default_error_messages.values())  # type: ignore[attr-defined]
    refusals = [
        (validate.Length(min=1), ""),
        (validate.Length(max=1), "xx"),
        (validate.Length(min=1, max=2), ""),
        (validate.Length(equal=3), "x"),
        (validate.Range(min=1), 0),
        (validate.Range(max=9), 10),
        (validate.Range(min=1, max=9), 0),
        (validate.Range(min=1, min_inclusive=False), 1),
        (validate.Range(max=9, max_inclusive=False), 9),
        (validate.Range(min=1, max=9, min_inclusive=False), 1),
        (validate.Range(min=1, max=9, max_inclusive=False), 9),
        (validate.Range(min=1, max=9, min_inclusive=False, max_inclusive=False), 1),
        (validate.OneOf(["a", "b"]), "z"),
        (validate.Equal(True), False),
        (validate.Regexp("^a$"), "z"),
        (validate.ContainsOnly(["a", "b"]), ["z"]),
        (validate.ContainsNoneOf(["a"]), ["a"]),
        (validate.NoneOf(["a"]), "a"),
        (validate.Email(), "z"),
        (validate.URL(), "z"),
    ]
    for validator, bad in refusals:
        with pytest.raises(ValidationError) as refused:
            validator(bad)
        found.update(refused.value.messages)  # type: ignore[arg-type]
    return sorted(m.format(**samples) for m in found)


def test_every_message_marshmallow_can_give_is_in_the_catalog(app: Flask) -> None:
    messages = _library_messages()
    assert len(messages) > 40
    untranslated = []
    with app.test_request_context(), force_locale("fr"):
        for message in messages:
            if translate_message(message) == message:
                untranslated.append(message)
    assert not untranslated, f"add these to forum/web/api_errors.LIBRARY_MESSAGES: {untranslated}"
