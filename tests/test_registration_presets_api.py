"""Questions through the API (the same rules as the officer pages) and the preset library
officers edit: the defaults on first sight, a new preset, an edited one, a removed one."""

from __future__ import annotations

from datetime import datetime

from flask.testing import FlaskClient
from sqlalchemy import select

from forum.core.extensions import db
from forum.models import Participant, QuestionPreset, Subscription
from forum.registration import answers, questions
from forum.registration import service as registration
from tests.support.api import officer_token
from tests.support.live import make_event, make_officer, post_form, sign_in
from tests.support.subscriptions import outbox, text_of

SESSIONS = [(datetime(2099, 3, 2, 14), datetime(2099, 3, 2, 15))]


def test_questions_through_the_api(client: FlaskClient) -> None:
    make_event("webinars", SESSIONS, kind="series")
    headers = officer_token()
    url = "/api/v1/events/webinars/questions"
    assert client.post(url, json={"label": "Job title"}).status_code == 401
    made = client.post(url, json={"label": "Need captions?", "kind": "yesno"}, headers=headers)
    assert made.status_code == 201, made.get_json()
    parent = made.get_json()
    assert parent["choices"] == ["Yes", "No"] and parent["position"] == 1
    child = client.post(
        url,
        json={
            "label": "Language",
            "required": True,
            "condition_question": parent["id"],
            "condition_values": ["yes"],
        },
        headers=headers,
    ).get_json()
    assert child["condition_question"] == parent["id"] and child["condition_values"] == ["Yes"]
    refused = client.post(url, json={"label": "Pick", "kind": "choice", "choices": ["one"]}, headers=headers)
    assert refused.status_code == 422 and "choices" in refused.get_json()["errors"]["json"]
    blank = client.post(url, json={"label": "   "}, headers=headers)
    assert blank.status_code == 422
    # a sensitive question is never required, whatever the client asks
    patched = client.patch(f"{url}/{child['id']}", json={"sensitive": True}, headers=headers).get_json()
    assert patched["sensitive"] is True and patched["required"] is False
    # turning the parent into a text question drops the condition that can no longer hold
    client.patch(f"{url}/{parent['id']}", json={"kind": "short"}, headers=headers)
    listed = client.get(url).get_json()
    assert [q["condition_question"] for q in listed] == [None, None]
    assert client.delete(f"{url}/{parent['id']}", headers=headers).status_code == 204
    assert [q["label"] for q in client.get(url).get_json()] == ["Language"]
    assert client.get("/api/v1/events/nope/questions").status_code == 404


def test_the_preset_library(client: FlaskClient) -> None:
    make_officer()
    sign_in(client)
    page = client.get("/manage/presets").get_data(as_text=True)
    for label in (
        "Job title",
        "Employer or institution",
        "Member number",
        "Region",
        "Library type",
        "Accommodation request",
        "How did you hear about us?",
    ):
        assert label in page
    added = post_form(
        client, "/manage/presets", {"kind": "short", "label": "Licence number", "display": "radio"}
    )
    assert added.status_code == 303
    preset = db.session.scalar(select(QuestionPreset).where(QuestionPreset.label == "Job title"))
    assert preset is not None
    saved = post_form(
        client,
        f"/manage/presets/{preset.id}",
        {"kind": "short", "label": "Job title or role", "display": "radio"},
    )
    assert saved.status_code == 303
    accommodation = db.session.scalar(
        select(QuestionPreset).where(QuestionPreset.label == "Accommodation request")
    )
    assert accommodation is not None and accommodation.sensitive
    removed = post_form(client, "/manage/presets", {}, action=f"/manage/presets/{accommodation.id}/delete")
    assert removed.status_code == 303
    labels = [p.label for p in questions.presets()]
    assert (
        "Job title or role" in labels and "Licence number" in labels and "Accommodation request" not in labels
    )


def test_a_form_without_an_event_uses_the_same_engine(app: object) -> None:
    """What the mentoring programme will do: its own form, the same questions and checks."""
    form = questions.new_form("mentoring-mentee")
    stage = questions.add_question(
        form, {"kind": "choice", "label": "Career stage", "choices": "Student\nEarly career\nReturning"}
    )
    guardian = questions.add_question(
        form,
        {
            "kind": "short",
            "label": "Guardian's name",
            "required": True,
            "condition_question": stage.id,
            "condition_values": ["Student"],
        },
    )
    person = Participant(email="m@example.org", email_key="m@example.org")
    db.session.add(person)
    db.session.flush()
    checked = answers.check_answers(form, {stage.id: "student"})
    assert checked.errors == {guardian.id: "This question needs an answer."}
    checked = answers.check_answers(form, {stage.id: "student", guardian.id: "Pat Doe"})
    answers.save_answers(form, person.id, checked)
    db.session.commit()
    assert answers.answers_by_question(form, person.id) == {stage.id: "Student", guardian.id: "Pat Doe"}


def test_an_accommodation_request_reaches_the_contact_when_it_is_made(client: FlaskClient) -> None:
    event = make_event(
        "webinars", SESSIONS, kind="series", contact_name="Pat Contact", contact_email="pat@ala.test"
    )
    form = questions.event_form(event, create=True)
    assert form is not None
    preset = next(p for p in questions.presets() if p.label == "Accommodation request")
    assert preset.notify and preset.sensitive
    request = questions.add_from_preset(form, preset)
    job = questions.add_question(form, {"label": "Job title"})
    db.session.commit()
    registration.register(
        event, "ann@example.org", {request.id: "Live captions", job.id: "Cataloguer"}, name="Ann"
    )
    registration.register(event, "bo@example.org", {job.id: "Archivist"})  # nothing to act on
    db.session.commit()
    [notice] = outbox("registration-request")
    assert notice.recipient == "pat@ala.test"
    body = text_of(notice)
    assert "Live captions" in body and "ann@example.org" in body and "Cataloguer" not in body
    # changing the request from the preferences page tells the contact again
    sub = db.session.scalar(
        select(Subscription).join(Participant).where(Participant.email == "ann@example.org")
    )
    assert sub is not None
    registration.edit_answers(sub, {request.id: "Captions and slides in advance", job.id: "Cataloguer"})
    db.session.commit()
    assert len(outbox("registration-request")) == 2
