"""Evaluations: the default questions from the learning outcomes, one invitation per registrant
after the last session (exactly once across reruns), one editable response per registration
until it closes, and results (chart per question, table, free text, CSV, rate) that match."""

from __future__ import annotations

import csv
import io
import threading
import time

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, text

from forum.ce import evaluations
from forum.core import clock
from forum.core.extensions import db
from forum.models import Evaluation, EvaluationAnswer, EvaluationResponse, Subscription
from forum.scheduling.scheduler import run_job
from tests.conftest import BACKENDS, csrf_from
from tests.support.api import officer_token
from tests.support.ce import after_end, register, series
from tests.support.live import make_officer, sign_in
from tests.support.subscriptions import link_in, outbox


def test_default_questions_come_from_the_learning_outcomes(app: Flask) -> None:
    ev = series()
    evaluation = evaluations.create(ev)
    prompts = [(q.kind, q.prompt) for q in evaluation.questions]
    assert prompts[:2] == [
        ("rating", "How well did this webinar series meet: Apply RDA to print monographs?"),
        ("rating", "How well did this webinar series meet: Explain BIBFRAME to colleagues?"),
    ]
    assert [k for k, _ in prompts[2:]] == ["rating", "choice", "text"]
    assert evaluations.create(ev) is evaluation  # one per event


def test_invitation_goes_once_per_registrant_after_the_last_session(app: Flask) -> None:
    ev = series()
    subs = [register(ev, f"p{i}@example.org") for i in range(3)]
    register(ev, "left@example.org", status="unsubscribed")
    evaluations.create(ev)
    db.session.commit()
    assert run_job("ce", at=after_end(ev, minutes=-5)).messages == 0
    assert run_job("ce", at=after_end(ev, minutes=1)).messages == 3
    assert run_job("ce", at=after_end(ev, minutes=2)).messages == 0
    assert run_job("ce", at=after_end(ev, days=2)).messages == 0
    mails = outbox("evaluation")
    assert sorted(m.recipient for m in mails) == sorted(s.participant.email for s in subs)
    # each link is personal: it opens the evaluation for its own registration
    links = {m.recipient: link_in(m, "/evaluation/") for m in mails}
    assert len(set(links.values())) == 3
    assert evaluations.read_personal_token(links["p1@example.org"].rsplit("/", 1)[1]) == subs[1]
    run = evaluations.invitation_run(evaluations.create(ev))
    assert run is not None and run.recipients == 3


def answer(client: FlaskClient, path: str, data: dict[str, str]):  # type: ignore[no-untyped-def]
    page = client.get(path)
    assert page.status_code == 200, page.data[:300]
    return client.post(path, data={**data, "csrf_token": csrf_from(page.data)})


def test_one_response_per_registration_editable_until_it_closes(app: Flask, client: FlaskClient) -> None:
    ev = series()
    ana = register(ev, "ana@example.org", "Ana")
    evaluation = evaluations.create(ev)
    db.session.commit()
    q_rating, q_choice, q_text = evaluation.questions[0], evaluation.questions[3], evaluation.questions[4]
    with clock.frozen(after_end(ev, hours=1)):
        path = evaluations.personal_url(ana).removeprefix("http://forum.test")  # as the invitation made it
        first = answer(
            client, path, {f"q{q_rating.id}": "4", f"q{q_choice.id}": "Yes", f"q{q_text.id}": "More RDA"}
        )
        assert first.status_code == 303
        second = answer(client, path, {f"q{q_rating.id}": "5", f"q{q_text.id}": ""})
        assert second.status_code == 303
        bad = answer(client, path, {f"q{q_rating.id}": "9", f"q{q_choice.id}": "Perhaps"})
        assert bad.status_code == 400
        assert "Choose a rating from 1 to 5." in bad.get_data(as_text=True)
        assert "Choose one of the options." in bad.get_data(as_text=True)
        page = client.get(path).get_data(as_text=True)
        assert "You have answered already" in page and f'name="q{q_rating.id}" value="5" checked' in page
    assert db.session.scalar(select(func.count()).select_from(EvaluationResponse)) == 1
    answers = {
        a.question_id: (a.rating, a.choice, a.text) for a in db.session.scalars(select(EvaluationAnswer))
    }
    assert answers == {q_rating.id: (5, None, "")}  # the edit replaced the first answers
    with clock.frozen(after_end(ev, days=14, minutes=1)):
        closed = client.get(path)
        assert "This evaluation closed" in closed.get_data(as_text=True)
        with pytest.raises(evaluations.EvaluationError, match="closed"):
            evaluations.save_response(evaluation, ana, {f"q{q_rating.id}": "1"})


def test_required_questions_and_a_stranger_link(app: Flask, client: FlaskClient) -> None:
    ev = series()
    ana = register(ev, "ana@example.org")
    evaluation = evaluations.create(ev)
    q = evaluations.add_question(evaluation, "text", "Which topic next?", required=True)
    db.session.commit()
    with clock.frozen(after_end(ev, hours=1)):
        with pytest.raises(evaluations.EvaluationError) as exc:
            evaluations.save_response(evaluation, ana, {})
        assert exc.value.errors == {f"q{q.id}": "Please answer this question."}
        assert client.get("/evaluation/made-up-token").status_code == 400


def test_results_match_the_responses(app: Flask, client: FlaskClient) -> None:
    ev = series()
    subs = [register(ev, f"p{i}@example.org") for i in range(4)]
    evaluation = evaluations.create(ev)
    db.session.commit()
    rating, choice, text = evaluation.questions[0], evaluation.questions[3], evaluation.questions[4]
    given = [("5", "Yes", "Loved the examples"), ("4", "Yes", ""), ("4", "Maybe", "Shorter sessions, please")]
    with clock.frozen(after_end(ev, hours=1)):
        for sub, (r, c, t) in zip(subs, given, strict=False):
            evaluations.save_response(
                evaluation, sub, {f"q{rating.id}": r, f"q{choice.id}": c, f"q{text.id}": t}
            )
    db.session.commit()
    res = evaluations.results(evaluation)
    assert (res.invited, res.responses, round(res.rate, 2)) == (4, 3, 0.75)
    by_q = {r.question.id: r for r in res.questions}
    assert [n for _, n in by_q[rating.id].counts] == [0, 0, 0, 2, 1]
    assert by_q[rating.id].mean == pytest.approx(13 / 3)
    assert dict(by_q[choice.id].counts) == {"Yes": 2, "Maybe": 1, "No": 0}
    assert by_q[text.id].texts == ["Loved the examples", "Shorter sessions, please"]

    make_officer()
    sign_in(client)
    page = client.get(f"/manage/events/{ev.slug}/evaluation/results").get_data(as_text=True)
    assert "3 responses from 4 registrants: a response rate of 75%" in page
    assert page.count("<svg") == 2  # a chart per answered rating and choice question
    assert page.count("No answers yet.") == 2  # the two ratings nobody gave
    assert '<th scope="row">Maybe</th><td>1</td>' in page  # the table alternative
    assert "Shorter sessions, please" in page and "average 4.3 of 5" in page
    exported = list(
        csv.reader(
            io.StringIO(client.get(f"/manage/events/{ev.slug}/evaluation/results.csv").get_data(as_text=True))
        )
    )
    assert len(exported) == 4 and exported[0][2] == rating.prompt
    assert [row[2] for row in exported[1:]] == ["5", "4", "4"]
    assert "p0@example.org" not in str(exported)  # responses are exported without who gave them

    api = client.get(f"/api/v1/events/{ev.slug}/evaluation/results", headers=officer_token())
    body = api.get_json()
    assert api.status_code == 200 and body["responses"] == 3 and body["response_rate"] == 0.75
    assert body["questions"][3]["counts"] == {"Yes": 2, "Maybe": 1, "No": 0}
    client.get("/logout")
    anonymous = app.test_client().get(f"/api/v1/events/{ev.slug}/evaluation/results")
    assert anonymous.status_code == 401


def test_officer_defines_the_questions(app: Flask, client: FlaskClient) -> None:
    ev = series()
    make_officer()
    sign_in(client)
    base = f"/manage/events/{ev.slug}/evaluation"
    page = client.get(base).get_data(as_text=True)
    assert "How well did this webinar series meet: Apply RDA to print monographs?" in page
    token = csrf_from(page)
    assert client.post(f"{base}/create", data={"csrf_token": token}).status_code == 303
    bad = client.post(
        f"{base}/questions",
        data={"csrf_token": token, "kind": "choice", "prompt": "Format?", "choices": "Only one"},
    )
    assert bad.status_code == 400 and "at least two choices" in bad.get_data(as_text=True)
    ok = client.post(
        f"{base}/questions",
        data={"csrf_token": token, "kind": "choice", "prompt": "Format?", "choices": "Webinar\nE-forum\n"},
    )
    assert ok.status_code == 303
    evaluation = evaluations.evaluation_of(ev)
    assert evaluation is not None and evaluation.questions[-1].choice_list == ["Webinar", "E-forum"]
    first = evaluation.questions[0]
    assert client.post(f"{base}/questions/{first.id}/delete", data={"csrf_token": token}).status_code == 303
    assert client.post(f"{base}/settings", data={"csrf_token": token, "open_days": "0"}).status_code == 400
    saved = client.post(
        f"{base}/settings", data={"csrf_token": token, "open_days": "21", "intro": "Five minutes, promise."}
    )
    assert saved.status_code == 303
    second = evaluation.questions[1]
    edited = client.post(
        f"{base}/questions/{second.id}",
        data={"csrf_token": token, "prompt": "Overall, how useful was it?", "required": "y"},
    )
    assert edited.status_code == 303
    empty = client.post(f"{base}/questions/{second.id}", data={"csrf_token": token, "prompt": " "})
    assert empty.status_code == 303 and "Write the question." in client.get(base).get_data(as_text=True)
    assert (
        client.post(
            f"{base}/questions/{second.id}/move", data={"csrf_token": token, "direction": "up"}
        ).status_code
        == 303
    )
    db.session.expire_all()
    evaluation = evaluations.evaluation_of(ev)
    assert evaluation is not None and evaluation.open_days == 21 and len(evaluation.questions) == 5
    assert evaluation.intro == "Five minutes, promise."
    assert (evaluation.questions[0].prompt, evaluation.questions[0].required) == (
        "Overall, how useful was it?",
        True,
    )


@pytest.mark.postgresql_only
@pytest.mark.parametrize("backend", [b for b in BACKENDS if b == "postgresql"])
def test_two_first_submissions_at_once_leave_one_response(app: Flask, backend: str) -> None:
    """Two tabs send the first answers at the same moment: the unique key keeps one response,
    and the later submission edits it instead of failing (two real PostgreSQL connections)."""
    ev = series()
    ana = register(ev, "ana@example.org")
    evaluation = evaluations.create(ev)
    db.session.commit()
    ids = (evaluation.id, ana.id, evaluation.questions[0].id)
    # read here, not in the threads: `ev` belongs to this thread's session, and loading its
    # expired attributes from another thread raced this thread's polling below on one
    # connection (seen once in CI: "can't change 'autocommit' now")
    when = after_end(ev, hours=1)
    inserted, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def submit(rating: str, hold: bool) -> None:
        with app.app_context():
            try:
                ev_, sub = db.session.get(Evaluation, ids[0]), db.session.get(Subscription, ids[1])
                assert ev_ is not None and sub is not None
                with clock.frozen(when):
                    evaluations.save_response(ev_, sub, {f"q{ids[2]}": rating})
                if hold:  # first tab: inserted, not yet committed
                    inserted.set()
                    release.wait(30)
                db.session.commit()
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    first = threading.Thread(target=submit, args=("2", True))
    first.start()
    assert inserted.wait(30)
    second = threading.Thread(target=submit, args=("5", False))
    second.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # the second insert waits on the first one's row lock
        waiting = db.session.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
        )
        db.session.rollback()
        if waiting:
            break
        time.sleep(0.05)
    release.set()
    first.join(30)
    second.join(30)
    assert errors == []
    db.session.expire_all()
    responses = db.session.scalars(select(EvaluationResponse)).all()
    assert len(responses) == 1
    assert [a.rating for a in responses[0].answers] == [5]  # the later submission edited it


def test_a_blank_form_is_not_a_response_and_overall_ratings_have_quality_anchors(app: Flask) -> None:
    ev = series()
    ana = register(ev, "ana@example.org", "Ana")
    evaluation = evaluations.create(ev)
    db.session.commit()
    with (
        clock.frozen(after_end(ev, hours=1)),
        pytest.raises(evaluations.EvaluationError, match="Answer at least one question"),
    ):
        evaluations.save_response(evaluation, ana, {})
    db.session.rollback()
    assert evaluations.results(evaluation).responses == 0  # a response rate of 0 %, not 100 %
    overall = next(q for q in evaluation.questions if q.prompt.startswith("Overall"))
    outcome = next(q for q in evaluation.questions if q.prompt.startswith("How well"))
    assert list(evaluations.rating_labels(overall).values()) == ["Poor", "Fair", "Good", "Very good", "Excellent"]
    assert evaluations.rating_labels(outcome)[1] == "Not at all"
