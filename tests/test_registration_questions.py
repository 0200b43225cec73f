"""Registration questions: each kind's checks, conditions decided on the server, the web form
and the API giving the same rows, duplication copying the questions, erasure removing answers,
the CSV export (formula-safe, sensitive answers only on request) and nothing on public pages."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from forum.core import spreadsheet
from forum.core.extensions import db
from forum.events import service as events
from forum.mail import links
from forum.models import Event, FormAnswer, FormQuestion, Participant, Subscription
from forum.registration import questions
from forum.registration import service as registration
from forum.registration.answers import PREFER_NOT, check_answers
from forum.subscriptions import erasure
from tests.conftest import csrf_from
from tests.support.api import officer_token
from tests.support.live import make_event, make_officer, post_form, sign_in

SESSIONS = [(datetime(2099, 3, 2, 14), datetime(2099, 3, 2, 15))]


def build_form(event: Event) -> dict[str, FormQuestion]:
    """A form with every kind, a condition and a sensitive question."""
    form = questions.event_form(event, create=True)
    assert form is not None
    made = {
        "job": questions.add_question(form, {"kind": "short", "label": "Job title", "required": True}),
        "why": questions.add_question(form, {"kind": "long", "label": "Why attend?"}),
        "type": questions.add_question(
            form, {"kind": "choice", "label": "Library type", "choices": "Public\nAcademic\nSchool"}
        ),
        "topics": questions.add_question(
            form, {"kind": "multi", "label": "Topics", "choices": ["Cataloguing", "Outreach", "Budgets"]}
        ),
        "access": questions.add_question(form, {"kind": "yesno", "label": "Do you need an accommodation?"}),
        "consent": questions.add_question(
            form, {"kind": "consent", "label": "I agree to be recorded", "required": True}
        ),
        "years": questions.add_question(form, {"kind": "number", "label": "Years in the profession"}),
        "born": questions.add_question(form, {"kind": "date", "label": "Licence date"}),
        "country": questions.add_question(form, {"kind": "country", "label": "Country"}),
        "boss": questions.add_question(form, {"kind": "email", "label": "Supervisor's email"}),
        "gender": questions.add_question(
            form,
            {
                "kind": "choice",
                "label": "Gender",
                "choices": "Woman\nMan\nNon-binary",
                "sensitive": True,
                "required": True,
            },
        ),
    }
    made["what"] = questions.add_question(
        form,
        {
            "kind": "long",
            "label": "What do you need?",
            "required": True,
            "condition_question": made["access"].id,
            "condition_values": ["Yes"],
        },
    )
    db.session.commit()
    return made


def good(q: dict[str, FormQuestion]) -> dict[int, Any]:
    return {
        q["job"].id: "  Cataloguing   Librarian ",
        q["type"].id: "academic",
        q["topics"].id: ["Outreach", "Budgets", "Outreach"],
        q["access"].id: "No",
        q["consent"].id: "yes",
        q["years"].id: "12",
        q["born"].id: "2020-05-01",
        q["country"].id: "CA",
        q["boss"].id: "Boss@Example.ORG",
    }


# One wrong answer per question, beside what the registrant is told about it.
WRONG = (
    ("job", "x" * 201, "under 200 characters"),
    ("type", "Prison", "not one of the choices"),
    ("topics", ["Outreach", "Knitting"], "Knitting"),
    ("access", "maybe", "Answer yes or no."),
    ("years", "twelve", "Enter a number"),
    ("born", "01/05/2020", "YYYY-MM-DD"),
    ("country", "Atlantis", "country"),
    ("boss", "not an address", "@-sign"),
    ("why", "fine\x00", "control characters"),
)


@pytest.fixture
def event(app: Any) -> Event:
    return make_event("webinars", SESSIONS, kind="series")


def test_each_kind_is_checked_and_normalised(event: Event) -> None:
    q = build_form(event)
    form = questions.event_form(event)
    checked = check_answers(form, good(q))
    assert checked.ok, checked.errors
    assert checked.values[q["job"].id] == "Cataloguing Librarian"
    assert checked.values[q["type"].id] == "Academic"  # as the officer wrote it
    assert json.loads(checked.values[q["topics"].id]) == ["Outreach", "Budgets"]
    assert checked.values[q["consent"].id] == "Yes"
    assert checked.values[q["boss"].id] == "Boss@example.org"
    assert q["gender"].id not in checked.values  # sensitive: never required

    errors = check_answers(form, {q[name].id: value for name, value, _told in WRONG}).errors
    for name, _value, told in WRONG:
        assert told in errors[q[name].id], name
    assert errors[q["consent"].id] == "Tick this box to register."  # required consent unticked
    huge = check_answers(form, {**good(q), q["years"].id: "1e400"}).errors
    assert "between" in huge[q["years"].id]


def test_sensitive_choice_offers_prefer_not_to_say(event: Event) -> None:
    q = build_form(event)
    checked = check_answers(questions.event_form(event), {**good(q), q["gender"].id: PREFER_NOT})
    assert checked.values[q["gender"].id] == PREFER_NOT
    assert q["gender"].required is False  # the service never lets a sensitive question be required


def test_conditions_are_decided_on_the_server(event: Event) -> None:
    q = build_form(event)
    form = questions.event_form(event)
    # hidden (the answer is No): the required question is not required ...
    assert check_answers(form, good(q)).ok
    # ... and an answer to it is refused
    refused = check_answers(form, {**good(q), q["what"].id: "captions"}).errors
    assert "does not apply" in refused[q["what"].id]
    # shown (Yes): now it is required
    shown = check_answers(form, {**good(q), q["access"].id: "Yes"}).errors
    assert shown == {q["what"].id: "This question needs an answer."}
    assert check_answers(form, {**good(q), q["access"].id: "yes", q["what"].id: "captions"}).ok
    # an unknown question id is refused, not silently dropped
    assert check_answers(form, {**good(q), 99999: "x"}).errors == {
        99999: "There is no such question on this form."
    }


def test_a_condition_must_test_an_earlier_choice_question(event: Event) -> None:
    q = build_form(event)
    form = questions.event_form(event)
    assert form is not None
    with pytest.raises(questions.QuestionError, match="question with choices"):
        questions.add_question(
            form, {"label": "x", "condition_question": q["job"].id, "condition_values": ["a"]}
        )
    with pytest.raises(questions.QuestionError, match="Pick one or more answers"):
        questions.add_question(
            form, {"label": "x", "condition_question": q["access"].id, "condition_values": ["Maybe"]}
        )
    for _ in range(6):  # up, until it sits right under the question it depends on
        questions.move_question(q["what"], -1)
    with pytest.raises(questions.QuestionError, match="depends on the answer above"):
        questions.move_question(q["what"], -1)
    assert [x.label for x in form.questions].index("What do you need?") == 5
    with pytest.raises(questions.QuestionError, match="at least two choices"):
        questions.add_question(form, {"kind": "choice", "label": "x", "choices": "one"})


def _web_register(
    client: FlaskClient, event: Event, email: str, q: dict[str, FormQuestion], raw: dict[int, Any]
):  # type: ignore[no-untyped-def]
    page = client.get(f"/events/{event.slug}/subscribe")
    data: list[tuple[str, str]] = [("csrf_token", csrf_from(page.data)), ("email", email)]
    for qid, value in raw.items():
        for item in value if isinstance(value, list) else [value]:
            data.append((f"q{qid}", item))
    return client.post(f"/events/{event.slug}/subscribe", data=MultiDict(data))


def _api_register(client: FlaskClient, event: Event, email: str, answers: dict[Any, Any]):  # type: ignore[no-untyped-def]
    """The same registration through the JSON API (answers keyed by question id, as JSON has them)."""
    return client.post(
        f"/api/v1/events/{event.slug}/subscriptions",
        json={"email": email, "accept_conduct": True, "answers": {str(k): v for k, v in answers.items()}},
    )


def _rows(email: str) -> list[tuple[str, str]]:
    person = Participant.by_email(email)
    assert person is not None
    rows = db.session.execute(
        select(FormQuestion.label, FormAnswer.value)
        .join(FormQuestion)
        .where(FormAnswer.participant_id == person.id)
        .order_by(FormQuestion.position)
    ).all()
    return [(label, value) for label, value in rows]


def test_web_form_and_api_store_the_same_rows(client: FlaskClient, event: Event) -> None:
    q = build_form(event)
    raw = good(q)
    web = _web_register(client, event, "web@example.org", q, raw)
    assert web.status_code == 200, web.get_data(as_text=True)[:1000]
    api = _api_register(client, event, "api@example.org", raw)
    assert api.status_code == 202, api.get_json()
    assert _rows("web@example.org") == _rows("api@example.org")
    assert ("Job title", "Cataloguing Librarian") in _rows("web@example.org")
    # the API takes JSON booleans and numbers too
    again = _api_register(client, event, "api2@example.org", {**raw, q["consent"].id: True, q["years"].id: 12})
    assert again.status_code == 202
    assert _rows("api2@example.org") == _rows("web@example.org")


def test_both_doors_refuse_the_same_answers_with_a_message_per_question(
    client: FlaskClient, event: Event
) -> None:
    q = build_form(event)
    raw = {**good(q), q["what"].id: "captions", q["years"].id: "lots"}
    web = _web_register(client, event, "web@example.org", q, raw)
    assert web.status_code == 400
    html = web.get_data(as_text=True)
    assert "does not apply to your earlier answers" in html and "Enter a number" in html
    api = _api_register(client, event, "api@example.org", raw)
    assert api.status_code == 422
    errors = api.get_json()["errors"]["json"]["answers"]
    assert set(errors) == {str(q["what"].id), str(q["years"].id)}
    assert db.session.scalar(select(db.func.count(Subscription.id))) == 0  # nothing half-made
    # odd JSON values are a 422, never a 500
    odd = _api_register(client, event, "api@example.org", {q["job"].id: {"a": 1}, "x": "y"})
    assert odd.status_code == 422


def test_the_public_form_shows_questions_with_conditions_but_never_answers(
    client: FlaskClient, event: Event
) -> None:
    q = build_form(event)
    _web_register(client, event, "web@example.org", q, {**good(q), q["job"].id: "Secret Agent Librarian"})
    html = client.get(f"/events/{event.slug}").get_data(as_text=True)
    assert f'name="q{q["job"].id}"' in html
    assert f'data-show-if="q{q["access"].id}"' in html and "/static/js/questions.js" in html
    assert "<script>" not in html  # no inline script (strict CSP)
    assert "Secret Agent" not in html
    listed = client.get(f"/api/v1/events/{event.slug}/questions").get_json()
    assert [item["label"] for item in listed][:2] == ["Job title", "Why attend?"]
    assert "Secret Agent" not in json.dumps(listed)
    assert client.get(f"/api/v1/events/{event.slug}/registrations").status_code == 401


def test_duplicating_an_event_copies_its_questions_and_conditions(event: Event) -> None:
    q = build_form(event)
    event.needs_approval = True
    copy = events.duplicate_event(event, title="Again", slug="again", first_day=date(2099, 9, 1))
    db.session.commit()
    form = questions.event_form(copy)
    assert form is not None and copy.needs_approval
    labels = [x.label for x in form.questions]
    assert labels == [x.label for x in questions.event_form(event).questions]  # type: ignore[union-attr]
    what = next(x for x in form.questions if x.label == "What do you need?")
    assert what.condition_question is not None and what.condition_question.form_id == form.id
    assert what.condition_question.label == q["access"].label


def test_erasure_removes_every_answer(client: FlaskClient, event: Event) -> None:
    q = build_form(event)
    _web_register(client, event, "web@example.org", q, {**good(q), q["gender"].id: "Woman"})
    person = Participant.by_email("web@example.org")
    assert person is not None and len(_rows("web@example.org")) == 10
    erasure.erase_participant(person)
    db.session.commit()
    assert db.session.scalar(select(db.func.count(FormAnswer.id))) == 0


def test_export_is_formula_safe_and_sensitive_only_on_request(client: FlaskClient, event: Event) -> None:
    q = build_form(event)
    _web_register(
        client, event, "a@example.org", q, {**good(q), q["job"].id: "=HYPERLINK(1)", q["gender"].id: "Woman"}
    )
    _web_register(
        client, event, "b@example.org", q, {**good(q), q["why"].id: "-2+3 cmd", q["job"].id: "@SUM(1)"}
    )
    make_officer()
    sign_in(client)
    plain = list(
        csv.reader(
            io.StringIO(
                client.get(f"/manage/events/{event.slug}/subscribers/export.csv").get_data(as_text=True)
            )
        )
    )
    head = plain[0]
    assert "Job title" in head and "Gender" not in head
    rows = {r[0]: dict(zip(head, r, strict=True)) for r in plain[1:]}
    assert rows["a@example.org"]["Job title"] == "'=HYPERLINK(1)"
    assert rows["b@example.org"]["Job title"] == "'@SUM(1)"
    assert rows["b@example.org"]["Why attend?"] == "'-2+3 cmd"
    # answers are stripped, but any cell (a name typed elsewhere) that starts with a tab or CR is defused
    assert spreadsheet.cell("\t=1+1") == "'\t=1+1" and spreadsheet.cell("\r=1") == "'\r=1"
    assert rows["a@example.org"]["Topics"] == "Outreach; Budgets"
    assert rows["a@example.org"]["Country"] == "Canada"
    full = list(
        csv.reader(
            io.StringIO(
                client.get(
                    f"/manage/events/{event.slug}/subscribers/export.csv?include_sensitive=1"
                ).get_data(as_text=True)
            )
        )
    )
    assert "Gender" in full[0]
    assert dict(zip(full[0], full[1], strict=True))["Gender"] == "Woman"
    # the API: sensitive answers only with include_sensitive
    headers = officer_token()
    listed = client.get(f"/api/v1/events/{event.slug}/registrations", headers=headers).get_json()
    answers = listed["registrations"][0]["answers"]
    assert answers[str(q["job"].id)] == "=HYPERLINK(1)" and str(q["gender"].id) not in answers
    listed = client.get(
        f"/api/v1/events/{event.slug}/registrations?include_sensitive=true", headers=headers
    ).get_json()
    assert listed["registrations"][0]["answers"][str(q["gender"].id)] == "Woman"


def test_officer_builds_a_form_from_the_pages_and_sees_answers(client: FlaskClient, event: Event) -> None:
    make_officer()
    sign_in(client)
    url = f"/manage/events/{event.slug}/questions"
    added = post_form(client, url, {"kind": "yesno", "label": "Need captions?", "display": "radio"})
    assert added.status_code == 303, added.get_data(as_text=True)[-3000:]
    refused = post_form(
        client, url, {"kind": "choice", "label": "Pick", "choices": "only one", "display": "radio"}
    )
    assert refused.status_code == 400 and "at least two choices" in refused.get_data(as_text=True)
    parent = db.session.scalar(select(FormQuestion).where(FormQuestion.label == "Need captions?"))
    assert parent is not None
    dependent = post_form(
        client,
        url,
        {
            "kind": "short",
            "label": "Which language?",
            "display": "radio",
            "condition_question": str(parent.id),
            "condition_values": "Yes",
        },
    )
    assert dependent.status_code == 303
    page = client.get(url).get_data(as_text=True)
    assert "Shown only if “Need captions?” is Yes" in page
    # a preset from the library
    presets = questions.presets()
    db.session.commit()
    region = next(p for p in presets if p.label == "Region")
    assert post_form(client, url, {"preset": str(region.id)}, action=f"{url}/from-preset").status_code == 303
    form = questions.event_form(event)
    assert form is not None and [x.label for x in form.questions] == [
        "Need captions?",
        "Which language?",
        "Region",
    ]
    # a registrant answers; the officer sees the answer and the count
    registration.register(event, "r@example.org", {parent.id: "Yes", form.questions[1].id: "French"})
    db.session.commit()
    answers = client.get(f"/manage/events/{event.slug}/answers").get_data(as_text=True)
    assert "French" in answers and "r@example.org" in answers
    # the chart's table: one row per choice, with its count
    assert "<td>Yes</td><td>1</td>" in answers and "<td>No</td><td>0</td>" in answers


def test_the_registrant_edits_answers_from_the_preferences_link(client: FlaskClient, event: Event) -> None:
    q = build_form(event)
    _web_register(client, event, "web@example.org", q, good(q))
    person = Participant.by_email("web@example.org")
    assert person is not None
    sub = db.session.scalar(select(Subscription))
    assert sub is not None
    prefs = links.preferences_url(person).removeprefix("http://forum.test")
    page = client.get(prefs).get_data(as_text=True)
    url = f"{prefs}/answers/{sub.id}"
    assert url in page
    shown = client.get(url).get_data(as_text=True)
    assert 'value="Cataloguing Librarian"' in shown
    # a hidden question's answer is refused here too; a fixed one is saved
    raw = {**good(q), q["what"].id: "captions"}
    data = [("csrf_token", csrf_from(shown))] + [
        (f"q{k}", item) for k, v in raw.items() for item in (v if isinstance(v, list) else [v])
    ]
    refused = client.post(url, data=MultiDict(data))
    assert refused.status_code == 400 and "does not apply" in refused.get_data(as_text=True)
    raw = {**good(q), q["access"].id: "Yes", q["what"].id: "captions", q["job"].id: "Archivist"}
    data = [("csrf_token", csrf_from(shown))] + [
        (f"q{k}", item) for k, v in raw.items() for item in (v if isinstance(v, list) else [v])
    ]
    assert client.post(url, data=MultiDict(data)).status_code == 303
    assert ("Job title", "Archivist") in _rows("web@example.org")
    assert ("What do you need?", "captions") in _rows("web@example.org")
    # someone else's link cannot reach this registration
    other = Participant(email="x@example.org", email_key="x@example.org")
    db.session.add(other)
    db.session.commit()
    theirs = links.preferences_url(other).removeprefix("http://forum.test")
    assert client.get(f"{theirs}/answers/{sub.id}").status_code == 404


def test_register_once_offers_last_answers_to_the_same_presets(client: FlaskClient, event: Event) -> None:
    """On the registrant's own answers page (signed link), never on the public form."""
    preset = next(p for p in questions.presets() if p.label == "Job title")
    first_form = questions.event_form(event, create=True)
    assert first_form is not None
    first_q = questions.add_from_preset(first_form, preset)
    later = make_event("later", SESSIONS, kind="series")
    later_form = questions.event_form(later, create=True)
    assert later_form is not None
    later_q = questions.add_from_preset(later_form, preset)
    db.session.commit()
    registration.register(event, "ann@example.org", {first_q.id: "Systems Librarian"})
    sub = registration.register(later, "ann@example.org", {})
    db.session.commit()
    assert "Systems Librarian" not in client.get("/events/later").get_data(as_text=True)
    person = Participant.by_email("ann@example.org")
    assert person is not None
    prefs = links.preferences_url(person).removeprefix("http://forum.test")
    page = client.get(f"{prefs}/answers/{sub.id}").get_data(as_text=True)
    assert "filled in from your last registration" in page
    assert f'name="q{later_q.id}" value="Systems Librarian"' in page
