"""Matching, introductions and a year of check-ins: the officer's matching page (a suggestion
accepted, a mentee left unmatched with the reason), the introduction with both local times,
check-ins at each person's hour in their zone, one-click answers, alerts to the officer,
withdrawal and erasure mid-year (the partner is told and can be matched again), certificates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import BytesIO

from flask_babel import force_locale
from pypdf import PdfReader

from forum.core import clock
from forum.core.extensions import db
from forum.mentoring import applications, matching, pairs, programmes
from forum.models import MentoringCheckIn, MentoringMatch, Participant
from forum.scheduling.scheduler import run_job
from forum.subscriptions.erasure import erase_participant
from tests.conftest import csrf_from
from tests.support.mentoring import (
    DURING,
    MATCH_DAY,
    SLUG,
    application_of,
    apply_form,
    confirm_by_mail,
    make_cycle,
    make_programme,
    matched_cycle,
    members,
    sign_in,
    three_applicants,
)
from tests.support.subscriptions import link_in, outbox, parsed, text_of


def test_matching_page_introduction_and_checkins_at_each_persons_hour(app, client):
    _cycle, (mentor, mentee, unmatched) = matched_cycle(client)
    match = db.session.scalar(db.select(MentoringMatch))
    assert (match.mentor_id, match.mentee_id, match.manual) == (mentor.id, mentee.id, False)

    intro = outbox("mentoring-intro", recipient="marlowe@example.org")
    assert len(intro) == 1 and len(outbox("mentoring-intro")) == 2
    text = text_of(intro[0])
    assert "Your mentor is Paula Holmes." in text
    assert "Paula Holmes works in a public library." in text
    assert "You: Europe/London, where it is now Monday, 3/29/2027, 3:00 PM BST" in text
    assert "Paula Holmes: America/Los_Angeles, where it is now Monday, 3/29/2027, 7:00 AM PDT" in text
    # a first meeting inside both people's 9-to-7: 5 PM in London is 9 AM in Los Angeles
    assert (
        "Wednesday, 3/31/2027, 5:00 PM BST for you = Wednesday, 3/31/2027, 9:00 AM PDT for Paula Holmes"
        in text
    )
    assert "/mentoring/mentor-alsc/worksheet" in text
    assert outbox(recipient="noor@example.org")[-1].kind == "mentoring-received", (
        "the unmatched mentee got no introduction"
    )

    # the first check-in, a month on, at each person's own hour: 9 AM in LA (16:00 UTC), 6 PM in London (17:00 UTC)
    with clock.frozen(datetime(2027, 4, 29, 16, 30, tzinfo=UTC)):
        run_job("mentoring")
    assert [m.recipient for m in outbox("mentoring-checkin")] == ["paula@example.org"]
    with clock.frozen(datetime(2027, 4, 29, 17, 0, tzinfo=UTC)):
        run_job("mentoring")
        run_job("mentoring")
    checkins = outbox("mentoring-checkin")
    assert [m.recipient for m in checkins] == ["paula@example.org", "marlowe@example.org"]
    body = text_of(checkins[1])
    assert "How is it going with Paula Holmes? (Check-in 1 of 12.)" in body

    # one click: GET shows the answer chosen, POST records it, no login
    client.get("/logout")
    with clock.frozen(datetime(2027, 4, 30, 8, 0, tzinfo=UTC)):
        link = link_in(checkins[1], "answer=going-well")
        page = client.get(link)
        assert b'value="going-well" selected' in page.data or b'selected value="going-well"' in page.data
        client.post(
            link, data={"csrf_token": csrf_from(page.data), "answer": "going-well", "note": "We met twice."}
        )
    answered = db.session.scalar(db.select(MentoringCheckIn).where(MentoringCheckIn.answer.is_not(None)))
    assert (answered.answer, answered.note, answered.application_id) == (
        "going-well",
        "We met twice.",
        mentee.id,
    )


def test_not_working_and_quiet_pairs_alert_the_officer(app, client):
    matched_cycle(client)
    with clock.frozen(datetime(2027, 4, 29, 17, 0, tzinfo=UTC)):
        run_job("mentoring")
    checkin = outbox("mentoring-checkin", recipient="paula@example.org")[0]
    link = link_in(checkin, "answer=not-working")
    with clock.frozen(datetime(2027, 4, 30, 8, 0, tzinfo=UTC)):
        page = client.get(link)
        client.post(link, data={"csrf_token": csrf_from(page.data), "answer": "not-working", "note": ""})
    alerts = outbox("mentoring-alert")
    assert len(alerts) == 1 and "Paula Holmes says the match is not working." in text_of(alerts[0])
    # nobody answers after that: two months later the officer hears the pair went quiet, once
    with clock.frozen(datetime(2027, 6, 30, 9, 0, tzinfo=UTC)):
        run_job("mentoring")
        run_job("mentoring")
    quiet = [a for a in outbox("mentoring-alert") if "two months" in text_of(a)]
    assert len(quiet) == 1 and quiet[0].recipient == "officer@example.org"


def test_withdrawal_mid_year_tells_the_partner_and_offers_a_new_match(app, client):
    cycle, (mentor, mentee, _other) = matched_cycle(client)
    own = link_in(outbox("mentoring-intro", recipient="paula@example.org")[0], "/mentoring/application/")
    with clock.frozen(datetime(2027, 7, 1, 12, 0, tzinfo=UTC)):
        page = client.get(own)
        client.post(own, data={"csrf_token": csrf_from(page.data), "action": "withdraw"})
        run_job("mentoring")
    db.session.expire_all()
    match = db.session.scalar(db.select(MentoringMatch))
    assert match.status == "ended" and "Paula Holmes left the programme." in match.ended_reason
    told = outbox("mentoring-ended")
    assert [m.recipient for m in told] == ["marlowe@example.org"]
    assert "the organisers will suggest a new match" in text_of(told[0])
    # no more check-ins to either; the mentee is back on the matching page
    assert db.session.scalar(db.select(MentoringCheckIn).where(MentoringCheckIn.sent_at.is_not(None))) is None
    with clock.frozen(datetime(2027, 7, 1, 12, 0, tzinfo=UTC)):
        waiting = matching.suggest(db.session.get(type(cycle), cycle.id), programmes.weights_of(cycle))
    assert mentee.id in waiting.unmatched


def test_erasure_mid_year_ends_the_match_and_forgets_the_application(app, client):
    matched_cycle(client)
    with clock.frozen(datetime(2027, 8, 1, 12, 0, tzinfo=UTC)):
        erase_participant(
            db.session.scalar(db.select(Participant).where(Participant.email == "marlowe@example.org"))
        )
        db.session.commit()
    told = outbox("mentoring-ended")
    assert [m.recipient for m in told] == ["paula@example.org"]
    assert "Marlowe" not in text_of(told[0]).split("has ended:")[1]
    item = db.session.scalar(db.select(MentoringMatch)).mentee
    assert (item.status, item.name, item.bio) == ("withdrawn", "", "")


def test_end_of_year_certificate_for_both(app, client):
    matched_cycle(client)
    match = db.session.scalar(db.select(MentoringMatch))
    assert match.ends_at == datetime(2028, 3, 29, 17, 0, tzinfo=UTC)  # noon in Chicago a year on
    with clock.frozen(match.ends_at + timedelta(hours=1)):
        run_job("mentoring")
        run_job("mentoring")
    mails = outbox("mentoring-certificate")
    assert sorted(m.recipient for m in mails) == ["marlowe@example.org", "paula@example.org"]
    pdf = next(p for p in parsed(mails[0]).iter_attachments() if p.get_content_type() == "application/pdf")
    text = PdfReader(BytesIO(pdf.get_content())).pages[0].extract_text()
    assert "Certificate of participation" in text and "ALSC Mentoring Program, Spring 2027" in text
    assert db.session.scalar(db.select(MentoringMatch.status)) == "completed"
    code = applications.active_applications(match.cycle, "mentor")[0].certificate_code
    assert code and f"/certificates/{code}" in text.replace("\n", "")

    # the public verification page knows the code (typed in lower case too), and says only
    # the name, the programme, the year's dates and the code
    page = client.get(f"/certificates/{code.lower()}").get_data(as_text=True)
    assert "This certificate is genuine" in page and "Paula Holmes" in page
    assert "ALSC Mentoring Program, Spring 2027" in page and "3/29/2027 – 3/29/2028" in page
    assert "paula@example.org" not in page and "Marlowe" not in page
    erase_participant(
        db.session.scalar(db.select(Participant).where(Participant.email == "paula@example.org"))
    )
    db.session.commit()
    assert client.get(f"/certificates/{code}").status_code == 404


def test_a_french_speaking_mentee_gets_every_mail_in_french(app, client):
    """The language is the applicant's (their browser's when they applied), whoever causes the
    mail: the officer's confirmation sends the introduction, the scheduler the check-ins."""
    make_cycle(make_programme())
    members("paula@example.org")
    with clock.frozen(DURING):
        apply_form(client, "mentor", "paula@example.org", "Paula Holmes", timezone="America/Los_Angeles")
        apply_form(
            client,
            "mentee",
            "camille@example.org",
            "Camille Roy",
            browser="fr-CA,fr;q=0.9,en;q=0.5",
            timezone="America/Toronto",
            checkin_hour="18",
        )
        assert (
            "Confirmez votre candidature"
            in parsed(outbox("mentoring-confirm", recipient="camille@example.org")[0])["Subject"]
        )
        for email in ("paula@example.org", "camille@example.org"):
            confirm_by_mail(client, email)
    mentor = application_of("paula@example.org", "mentor")
    mentee = application_of("camille@example.org", "mentee")
    assert mentee.participant.language == "fr_CA"
    url = f"/manage/mentoring/{SLUG}/cycles/{mentor.cycle_id}/matching"
    with clock.frozen(MATCH_DAY):
        sign_in(client)
        page = client.get(url).get_data(as_text=True)
        data = {"csrf_token": csrf_from(page), "action": "confirm", f"mentor-{mentee.id}": str(mentor.id)}
        client.post(url, data=data)

    intro = outbox("mentoring-intro", recipient="camille@example.org")[0]
    assert parsed(intro)["Subject"] == "Faites connaissance avec votre mentor : Paula Holmes"
    text = text_of(intro)
    assert "Bienvenue dans ALSC Mentoring Program. Votre mentor est Paula Holmes." in text
    assert "29 mars 2027" in text  # CLDR's French dates, not 3/29/2027
    assert "Welcome to" not in text
    assert "Thank you for mentoring in ALSC Mentoring Program." in text_of(
        outbox("mentoring-intro", recipient="paula@example.org")[0]
    ), "the English-speaking mentor's stays in English"

    with clock.frozen(datetime(2027, 4, 29, 23, 0, tzinfo=UTC)):  # 6 PM in Toronto has passed
        run_job("mentoring")
    checkin = outbox("mentoring-checkin", recipient="camille@example.org")[0]
    assert parsed(checkin)["Subject"] == "Comment ça se passe avec Paula Holmes ?"
    body = text_of(checkin)
    assert "Comment ça se passe avec Paula Holmes ? (Suivi 1 sur 12.)" in body
    assert "Ça se passe bien: " in body
    # the one-click page speaks French too, whatever the browser says
    client.get("/logout")
    page = client.get(link_in(checkin, "answer=going-well"), headers={"Accept-Language": "en"})
    assert 'lang="fr' in page.get_data(as_text=True)

    # a year on: her certificate (the mail and the PDF) in French, with its verification link
    with clock.frozen(datetime(2028, 3, 30, 12, 0, tzinfo=UTC)):
        run_job("mentoring")
    mailed = outbox("mentoring-certificate", recipient="camille@example.org")[0]
    assert parsed(mailed)["Subject"] == "Votre attestation : ALSC Mentoring Program"
    pdf = next(p for p in parsed(mailed).iter_attachments() if p.get_content_type() == "application/pdf")
    words = PdfReader(BytesIO(pdf.get_content())).pages[0].extract_text()
    assert "Attestation de participation" in words and "a participé à" in words


def test_a_full_mentor_is_refused_with_a_plural_in_the_officers_language(app, client):
    """Pairing a second mentee with a one-place mentor says why, with the number agreeing
    ("1 mentee", not "1 mentee(s)"), in French for a French-speaking officer."""
    make_cycle(make_programme())
    three_applicants(client)
    mentor = application_of("paula@example.org", "mentor")
    first = application_of("marlowe@example.org", "mentee")
    second = application_of("noor@example.org", "mentee")
    with clock.frozen(MATCH_DAY):
        pairs.create_match(mentor.cycle, mentor, first)
        db.session.commit()
        for locale, expected in (
            ("en", "Paula Holmes offered to take 1 mentee and has no place left."),
            ("fr", "Paula Holmes a proposé de prendre 1 personne mentorée et n’a plus de place libre."),
        ):
            with app.test_request_context(), force_locale(locale):
                try:
                    pairs.create_match(mentor.cycle, mentor, second)
                except pairs.MentoringError as refused:
                    assert str(refused) == expected
                else:  # pragma: no cover - the failure this test is for
                    raise AssertionError("a full mentor took a second mentee")
