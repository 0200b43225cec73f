"""Mid-year and end-of-year evaluations of a pair, on the CE evaluation engine: each member is
mailed a signed link at 6 and 12 months at their own hour in their own zone, answers without
signing in, and the officer reads the results (the page and the API say the same)."""

from __future__ import annotations

from datetime import UTC, datetime

from forum.core import clock
from forum.core.extensions import db
from forum.mentoring import evaluations
from forum.models import EvaluationResponse, MentoringCycle, MentoringMatch, Participant
from forum.scheduling.scheduler import run_job
from forum.subscriptions.erasure import erase_participant
from tests.conftest import csrf_from
from tests.support.api import officer_token
from tests.support.mentoring import SLUG, matched_cycle, sign_in
from tests.support.subscriptions import link_in, outbox, parsed, text_of

# six months after the match (29 March 2027): 9 AM in Los Angeles is 16:00 UTC, 6 PM in London 17:00 UTC
MID_LA = datetime(2027, 9, 29, 16, 0, tzinfo=UTC)
MID_LONDON = datetime(2027, 9, 29, 17, 0, tzinfo=UTC)


def test_midyear_and_final_evaluations_at_each_persons_hour(app, client):
    cycle = matched_cycle(client)[0]
    client.get("/logout")
    with clock.frozen(MID_LA.replace(minute=30)):
        run_job("mentoring")
    assert [m.recipient for m in outbox("mentoring-evaluation")] == ["paula@example.org"]
    with clock.frozen(MID_LONDON):
        run_job("mentoring")
        run_job("mentoring")
    mails = outbox("mentoring-evaluation")
    assert [m.recipient for m in mails] == ["paula@example.org", "marlowe@example.org"], "once each"
    assert parsed(mails[1])["Subject"] == "Mid-year evaluation: ALSC Mentoring Program"
    assert "You are half-way through your year with Paula Holmes" in text_of(mails[1])
    assert outbox(recipient="noor@example.org")[-1].kind == "mentoring-received", (
        "the unmatched are not asked"
    )

    # the mentee answers through the signed link, no sign-in
    link = link_in(mails[1], "/mentoring/evaluation/")
    with clock.frozen(datetime(2027, 10, 2, 12, 0, tzinfo=UTC)):
        page = client.get(link)
        assert page.status_code == 200 and b"How often have you met?" in page.data
        questions = evaluations.evaluation_of(db.session.get(MentoringCycle, cycle.id), "midyear").questions
        useful, often, _match, text = questions
        refused = client.post(link, data={"csrf_token": csrf_from(page.data), f"q{useful.id}": "9"})
        assert refused.status_code == 400 and b"Choose a rating from 1 to 5." in refused.data
        assert b"Please check this answer<" in refused.data, "one wrong answer: the summary counts it"
        done = client.post(
            link,
            data={
                "csrf_token": csrf_from(page.data),
                f"q{useful.id}": "4",
                f"q{often.id}": "Monthly or more",
                f"q{text.id}": "Our talks about storytime planning.",
            },
        )
        assert done.status_code == 303
    response = db.session.scalar(db.select(EvaluationResponse))
    assert response.mentoring_application_id == db.session.scalar(db.select(MentoringMatch.mentee_id))
    assert response.subscription_id is None

    # the officer's results: the page and the API agree
    sign_in(client)
    page = client.get(f"/manage/mentoring/{SLUG}/cycles/{cycle.id}/evaluations/midyear").get_data(
        as_text=True
    )
    assert "1 responses from 2 people asked." in page
    assert "Our talks about storytime planning." in page and "average 4.0 of 5" in page
    api = client.get(f"/api/v1/mentoring/cycles/{cycle.id}/evaluations/midyear", headers=officer_token())
    assert api.status_code == 200
    body = api.get_json()
    assert (body["invited"], body["responses"]) == (2, 1)
    assert body["questions"][0]["mean"] == 4.0 and body["questions"][3]["texts"] == [
        "Our talks about storytime planning."
    ]
    assert client.get(f"/api/v1/mentoring/cycles/{cycle.id}/evaluations/later").status_code in (401, 404)

    # a year on, the end-of-year evaluation, with the certificate
    with clock.frozen(datetime(2028, 3, 29, 17, 0, tzinfo=UTC)):
        run_job("mentoring")
    final = [m for m in outbox("mentoring-evaluation") if "End-of-year" in parsed(m)["Subject"]]
    assert sorted(m.recipient for m in final) == ["marlowe@example.org", "paula@example.org"]
    assert len(outbox("mentoring-certificate")) == 2

    # "delete my data" takes the answers too
    with clock.frozen(datetime(2028, 4, 1, 12, 0, tzinfo=UTC)):
        erase_participant(
            db.session.scalar(db.select(Participant).where(Participant.email == "marlowe@example.org"))
        )
        db.session.commit()
    assert db.session.scalar(db.select(EvaluationResponse)) is None


def test_a_closed_or_foreign_link_takes_no_answers(app, client):
    cycle = matched_cycle(client)[0]
    client.get("/logout")
    with clock.frozen(MID_LONDON):
        run_job("mentoring")
    link = link_in(
        outbox("mentoring-evaluation", recipient="marlowe@example.org")[0], "/mentoring/evaluation/"
    )
    question = evaluations.evaluation_of(db.session.get(MentoringCycle, cycle.id), "midyear").questions[0]
    with clock.frozen(datetime(2027, 12, 15, 12, 0, tzinfo=UTC)):  # 60 days have passed
        page = client.get(link)
        assert b"This evaluation is not open." in page.data
        late = client.post(link, data={"csrf_token": csrf_from(page.data), f"q{question.id}": "5"})
    assert late.status_code == 400 and db.session.scalar(db.select(EvaluationResponse)) is None
    assert client.get(link[:-3] + "xyz").status_code == 404
