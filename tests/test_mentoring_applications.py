"""Mentoring applications: the window in the programme's zone across a DST change, the public
page in the reader's zone, "tell me when applications open", eligibility (the member list, a
guardian's consent for a minor), register once, editing until the window closes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from forum.core import clock
from forum.core.extensions import db
from forum.demo import data as demo
from forum.mentoring import programmes
from forum.mentoring.programmes import MentoringError
from forum.models import FormAnswer, MentoringWatch, Participant
from forum.scheduling.scheduler import run_job
from tests.conftest import csrf_from, submit
from tests.support.mentoring import (
    SLUG,
    application_of,
    apply_form,
    click,
    confirm_by_mail,
    make_cycle,
    make_programme,
    members,
    sign_in,
)
from tests.support.subscriptions import link_in, outbox, text_of

# 9:00 AM CST on 1 March 2027 is 15:00 UTC; 5:00 PM CDT on 26 March 2027 is 22:00 UTC
OPENS_UTC = datetime(2027, 3, 1, 15, 0, tzinfo=UTC)
CLOSES_UTC = datetime(2027, 3, 26, 22, 0, tzinfo=UTC)
DURING = datetime(2027, 3, 10, 15, 0, tzinfo=UTC)


def test_window_is_wall_time_in_the_programme_zone_across_the_dst_change(app):
    cycle = make_cycle(make_programme())
    assert (cycle.opens_at, cycle.closes_at) == (OPENS_UTC, CLOSES_UTC)
    assert programmes.window_state(cycle, OPENS_UTC - timedelta(minutes=1)) == "upcoming"
    assert programmes.window_state(cycle, OPENS_UTC) == "open"
    assert programmes.window_state(cycle, CLOSES_UTC - timedelta(minutes=1)) == "open"
    # an hour later than the same wall time would be in standard time: the window follows the clock on the wall
    assert programmes.window_state(cycle, CLOSES_UTC) == "closed"


def test_a_closing_time_in_the_spring_forward_gap_is_refused_with_a_reason(app):
    programme = make_programme()
    try:
        programmes.create_cycle(
            programme, {"name": "Odd", "opens": "2027-03-01T09:00", "closes": "2027-03-14T02:30"}
        )
    except MentoringError as exc:
        assert exc.field == "closes"
        assert "does not exist in America/Chicago" in str(exc)
    else:
        raise AssertionError("a time that does not exist was taken")
    db.session.rollback()


def test_public_page_shows_the_window_in_the_readers_zone_and_counts_down(app, client):
    make_cycle(make_programme())
    with clock.frozen(DURING):
        page = client.get(f"/mentoring/{SLUG}?tz=Europe/London").get_data(as_text=True)
    assert "Applications are open for both mentors and mentees." in page
    assert "They close Friday, 3/26/2027, 10:00 PM GMT" in page, "the reader's zone (London is still on GMT)"
    assert "Friday, 3/26/2027, 5:00 PM CDT in the programme's zone" in page
    assert "Closes in 16 days, 7 hours" in page
    assert "Apply as a mentee" in page and "Apply as a mentor" in page


def test_outside_the_window_the_form_says_when_and_offers_tell_me(app, client):
    make_cycle(make_programme())
    with clock.frozen(OPENS_UTC - timedelta(days=2)):
        page = client.get(f"/mentoring/{SLUG}/apply/mentee?tz=America/Chicago").get_data(as_text=True)
        assert "Applications are closed. The next window opens Monday, 3/1/2027, 9:00 AM CST." in page
        form = client.get(f"/mentoring/{SLUG}")
        answer = client.post(
            f"/mentoring/{SLUG}/watch",
            data={"email": "curious@example.org", "csrf_token": csrf_from(form.data)},
        )
        assert b"Check your inbox" in answer.data
        click(client, link_in(outbox("mentoring-watch")[-1], "/mentoring/watch/"))
        assert db.session.scalar(db.select(MentoringWatch.confirmed_at)) is not None
        run_job("mentoring")
    assert outbox("mentoring-open") == [], "not before the window opens"
    with clock.frozen(OPENS_UTC + timedelta(minutes=5)):
        run_job("mentoring")
        run_job("mentoring")
    mails = outbox("mentoring-open")
    assert [m.recipient for m in mails] == ["curious@example.org"]
    assert "They close Friday, 3/26/2027, 5:00 PM CDT." in text_of(mails[0])


def test_a_mentor_must_be_a_member_and_is_told_so(app, client):
    make_cycle(make_programme())
    with clock.frozen(DURING):
        refused = apply_form(client, "mentor", "paula@example.org", "Paula Holmes", member_number="A-1234")
        assert refused.status_code == 400
        assert "Mentors must be members" in refused.get_data(as_text=True)
        assert db.session.scalar(db.select(Participant.id)) is None, "nothing kept of a refused application"
        members("A 1234", "other@example.org")
        accepted = apply_form(client, "mentor", "paula@example.org", "Paula Holmes", member_number="a-1234")
        assert b"Check your inbox" in accepted.data
        members("dana@example.org")
        by_address = apply_form(client, "mentor", "Dana@Example.org", "Dana Reyes")
        assert b"Check your inbox" in by_address.data
    assert application_of("paula@example.org", "mentor").status == "pending"


def test_a_minor_needs_a_guardian_who_confirms_before_the_application_counts(app, client):
    make_cycle(make_programme())
    with clock.frozen(DURING):
        missing = apply_form(client, "mentee", "kid@example.org", "Marlowe Kid", adult=None)
        assert missing.status_code == 400
        assert "This field is needed." in missing.get_data(as_text=True)
        apply_form(
            client,
            "mentee",
            "kid@example.org",
            "Marlowe Kid",
            adult=None,
            guardian_name="Pat Kid",
            guardian_email="pat@example.org",
            guardian_address="1 Main St\nSpringfield",
        )
        assert outbox(recipient="pat@example.org") == [], (
            "no mail to the guardian before the address is confirmed"
        )
        confirm_by_mail(client, "kid@example.org")
        assert application_of("kid@example.org", "mentee").status == "guardian"
        ask = outbox("mentoring-guardian", recipient="pat@example.org")
        assert len(ask) == 1 and "Marlowe Kid applied to be a mentee" in text_of(ask[0])
        page = click(client, link_in(ask[0], "/mentoring/guardian/"))
        assert b"now counts" in page.data
    item = application_of("kid@example.org", "mentee")
    assert item.status == "active" and item.guardian_confirmed_at == DURING
    assert len(outbox("mentoring-received", recipient="kid@example.org")) == 1


def test_sensitive_sections_are_registration_questions_and_register_once(app, client):
    programme = make_programme()
    make_cycle(programme)
    region = programme.sections["mentee"]["region"]
    with clock.frozen(DURING):
        apply_form(client, "mentee", "ana@example.org", "Ana Ruiz", **{f"q{region}": "West"})
        confirm_by_mail(client, "ana@example.org")
        assert (
            db.session.scalar(db.select(FormAnswer.value).where(FormAnswer.question_id == region)) == "West"
        )
        # the same person applies as a mentor too: confirmed once, no second confirmation
        members("ana@example.org")
        apply_form(client, "mentor", "ana@example.org", "Ana Ruiz")
    assert application_of("ana@example.org", "mentor").status == "active"
    assert len(outbox("mentoring-confirm")) == 1


def test_a_stranger_cannot_rewrite_a_confirmed_application(app, client):
    make_cycle(make_programme())
    with clock.frozen(DURING):
        apply_form(client, "mentee", "ana@example.org", "Ana Ruiz")
        confirm_by_mail(client, "ana@example.org")
        apply_form(client, "mentee", "ana@example.org", "Someone Else", bio="changed")
    item = application_of("ana@example.org", "mentee")
    assert (item.name, item.bio) == ("Ana Ruiz", "Ana Ruiz works in a public library.")
    assert len(outbox("mentoring-link", recipient="ana@example.org")) == 1


def test_edit_until_the_window_closes_then_not(app, client):
    make_cycle(make_programme())
    with clock.frozen(DURING):
        apply_form(client, "mentee", "ana@example.org", "Ana Ruiz")
        confirm_by_mail(client, "ana@example.org")
        own = link_in(outbox("mentoring-received")[-1], "/mentoring/application/")
        page = client.get(own)
        rest = {"name": "Ana Ruiz", "checkin_hour": "9", "languages": "English, Spanish"}
        changes = {"timezone": "America/Denver", "stage": "student", "interests": "teens"}
        saved = submit(client, own, page.data, follow_redirects=True, **rest, **changes)
        assert b"Your changes are saved." in saved.data
    item = application_of("ana@example.org", "mentee")
    assert (item.timezone, item.stage, item.interest_list) == ("America/Denver", "student", ["teens"])
    with clock.frozen(CLOSES_UTC + timedelta(minutes=1)):
        page = client.get(own).get_data(as_text=True)
        assert "Save changes" not in page
        assert "Withdraw my application" in page


def test_the_demo_programme_is_open_so_a_newcomer_can_apply_at_once(app, client):
    demo.load()
    page = client.get("/mentoring/mentoring-program").get_data(as_text=True)
    assert "Applications are open for both mentors and mentees." in page
    form = client.get("/mentoring/mentoring-program/apply/mentee")
    who = {"email": "newcomer@example.org", "name": "New Comer", "timezone": "America/Chicago", "adult": "y"}
    profile = {"checkin_hour": "10", "stage": "early", "interests": "storytime", "languages": "English"}
    answer = submit(client, "/mentoring/mentoring-program/apply/mentee", form.data, **who, **profile)
    assert b"Check your inbox" in answer.data
    assert outbox("mentoring-confirm", recipient="newcomer@example.org")


def test_officers_add_questions_that_the_application_then_asks(app, client):
    programme = make_programme()
    make_cycle(programme)
    with clock.frozen(DURING):
        sign_in(client)
        page = client.get(f"/manage/mentoring/{SLUG}")
        assert "Race/Ethnicity" in page.get_data(as_text=True)
        asked = {"role": "mentee", "preset_id": "", "kind": "short", "label": "Which library do you work in?"}
        questions = f"/manage/mentoring/{SLUG}/questions"
        added = submit(client, questions, page.data, follow_redirects=True, required="y", **asked)
        assert b"Question added." in added.data
        question = [
            q for q in programmes.question_form(programme, "mentee").questions if q.label.startswith("Which")
        ][0]
        form = client.get(f"/mentoring/{SLUG}/apply/mentee").get_data(as_text=True)
        assert "Which library do you work in?" in form and "Prefer not to say" in form
        client.get("/logout")
        refused = apply_form(client, "mentee", "ana@example.org", "Ana Ruiz")
        assert refused.status_code == 400 and "This question needs an answer." in refused.get_data(
            as_text=True
        )
        accepted = apply_form(
            client, "mentee", "ana@example.org", "Ana Ruiz", **{f"q{question.id}": "Springfield PL"}
        )
        assert b"Check your inbox" in accepted.data
