"""Following a pathway by email: double opt-in, one step per interval at the follower's
weekday and hour (in their zone, across DST), done / skip / pause links, catch-up after
downtime, leaving, and progress on the preferences page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from forum.core import clock
from forum.core.extensions import db
from forum.events import service as events
from forum.mail import links
from forum.models import JobRun, Participant, Subscription
from forum.models.pathways import PathwayFollow, StepProgress
from forum.pathways import service as pathways
from forum.pathways.follow import due_after_send, send_due_steps, step_message
from forum.scheduling.scheduler import run_job
from tests.conftest import csrf_from
from tests.support.pathways import click, confirm_by_mail, follow_form, make_pathway, steps_to
from tests.support.subscriptions import link_in, outbox, parsed, text_of

LEARNER = "learner@example.org"
# Monday 4 March 2030, 9:00 AM Eastern Standard Time; US clocks spring forward on Sunday 10 March.
MONDAY_9_EST = datetime(2030, 3, 4, 14, 0, tzinfo=UTC)



def _following(client, pathway) -> None:  # type: ignore[no-untyped-def]
    """LEARNER follows `pathway` through the form, confirms by mail, and the job sends step 1."""
    follow_form(client, pathway, LEARNER)
    confirm_by_mail(client, LEARNER)
    run_job("pathways")

def the_follow() -> PathwayFollow:
    db.session.expire_all()
    found = db.session.scalar(select(PathwayFollow))
    assert found is not None
    return found


def test_follow_confirm_first_step_done_link_then_next_step(app, client):
    pathway = make_pathway()
    with clock.frozen(MONDAY_9_EST):
        answer = follow_form(client, pathway, LEARNER)
        assert answer.status_code == 200
        assert b"Check your inbox" in answer.data
        assert the_follow().status == "pending"
        run_job("pathways")
        assert steps_to(LEARNER) == [], "no step before the address is confirmed"

        confirm_by_mail(client, LEARNER)
        assert the_follow().status == "active"
        run_job("pathways")
        run_job("pathways")  # a second sweep sends nothing twice
    first = steps_to(LEARNER)
    assert len(first) == 1
    assert parsed(first[0])["Subject"] == f"{pathway.title}, step 1 of 4: Reading 0: cataloging basics"
    body = text_of(first[0])
    assert "Why this step: The vocabulary you will hear every day." in body
    assert "https://example.org/res/new-to-cataloging/0" in body
    assert "Step 2 comes Monday, 3/11/2030 9:00 AM EDT, or as soon as you mark this one done." in body

    done = link_in(first[0], "/done")
    with clock.frozen(MONDAY_9_EST + timedelta(hours=2)):
        assert b"Mark this step done" in client.get(done).data
        assert the_follow().next_due_at > MONDAY_9_EST + timedelta(days=6), "GET changed nothing"
        answer = click(client, done)
        assert b"Marked done" in answer.data
        assert the_follow().next_due_at == MONDAY_9_EST + timedelta(hours=2), "done moves on at once"
        run_job("pathways")
    second = steps_to(LEARNER)[1]
    assert "step 2 of 4" in parsed(second)["Subject"]
    text = text_of(second)
    # an upcoming webinar session: an invitation to register, its time in the follower's zone
    assert "This is a live event. Register to take part:" in text
    assert "http://forum.test/events/cataloging-series/subscribe" in text
    assert "Tuesday, 6/4/2030, 2:00 PM–3:00 PM (New York, EDT)" in text
    progress = {p.step.position: p.state for p in db.session.scalars(select(StepProgress))}
    assert progress == {0: "done", 1: "sent"}

    prefs = client.get(links.preferences_url(the_follow().participant).removeprefix("http://forum.test"))
    assert b"Step 2 of 4 mailed, 1 done" in prefs.data


def test_a_confirmed_address_follows_at_once_and_a_stranger_cannot_change_the_pace(app, client):
    pathway = make_pathway()
    with clock.frozen(MONDAY_9_EST):
        db.session.add(Participant(email=LEARNER, email_key=LEARNER, confirmed_at=MONDAY_9_EST))
        db.session.commit()
        follow_form(client, pathway, LEARNER, weekday=3, hour=18)
        assert outbox("pathway-confirm") == []
        assert the_follow().status == "active"
        follow_form(client, pathway, LEARNER, weekday=5, hour=6)  # someone else types the address
    assert (the_follow().weekday, the_follow().hour) == (3, 18)


def test_pacing_keeps_the_local_hour_and_weekday_across_the_dst_change(app, client):
    pathway = make_pathway(external=4)
    with clock.frozen(MONDAY_9_EST - timedelta(hours=2)):
        follow_form(client, pathway, LEARNER, weekday=0, hour=9)
        confirm_by_mail(client, LEARNER)
    run_job("pathways", at=MONDAY_9_EST)
    # next Monday is after the spring-forward: 9 AM EDT is 13:00 UTC, not 14:00
    next_monday = datetime(2030, 3, 11, 13, 0, tzinfo=UTC)
    assert the_follow().next_due_at == next_monday
    run_job("pathways", at=next_monday - timedelta(minutes=1))
    assert len(steps_to(LEARNER)) == 1
    run_job("pathways", at=next_monday)
    assert len(steps_to(LEARNER)) == 2
    assert the_follow().next_due_at == datetime(2030, 3, 18, 13, 0, tzinfo=UTC)

    # a follower in Berlin on Thursdays at 7 PM: the step after one sent on 28 March comes on
    # Thursday 4 April at 19:00 CEST (17:00 UTC), after Europe's change on 31 March
    follow = the_follow()
    follow.timezone, follow.weekday, follow.hour = "Europe/Berlin", 3, 19
    db.session.commit()
    assert due_after_send(follow, datetime(2030, 3, 28, 18, 0, tzinfo=UTC)) == datetime(
        2030, 4, 4, 17, 0, tzinfo=UTC
    )


def test_catch_up_after_three_weeks_down_sends_one_step_not_three(app, client):
    pathway = make_pathway(external=5)
    with clock.frozen(MONDAY_9_EST - timedelta(hours=1)):
        follow_form(client, pathway, LEARNER)
        confirm_by_mail(client, LEARNER)
    run_job("pathways", at=MONDAY_9_EST)
    assert len(steps_to(LEARNER)) == 1
    back = MONDAY_9_EST + timedelta(weeks=3, hours=3)  # the scheduler was down three Mondays
    with clock.frozen(back):
        run_job("pathways", at=back)
        run_job("pathways", at=back + timedelta(minutes=1))
    assert len(steps_to(LEARNER)) == 2
    follow = the_follow()
    assert follow.position == 2
    # the next one a full week after the late step, on the chosen Monday at 9 AM Eastern
    assert follow.next_due_at == datetime(2030, 4, 1, 13, 0, tzinfo=UTC)
    assert (
        db.session.scalar(
            select(JobRun.period).where(JobRun.kind == "pathway-step").order_by(JobRun.id.desc())
        )
        == f"step:{pathway.steps[1].id}"
    )


def test_leaving_stops_the_mail_and_pausing_holds_it(app, client):
    pathway = make_pathway()
    with clock.frozen(MONDAY_9_EST):
        _following(client, pathway)
    first = steps_to(LEARNER)[0]
    assert parsed(first)["List-Unsubscribe"].startswith("<http://forum.test/pathways/leave/")

    with clock.frozen(MONDAY_9_EST + timedelta(days=1)):
        click(client, link_in(first, "/pause"))
    assert the_follow().status == "paused"
    run_job("pathways", at=MONDAY_9_EST + timedelta(weeks=2))
    assert len(steps_to(LEARNER)) == 1

    leave = link_in(first, "/pathways/leave/")
    with clock.frozen(MONDAY_9_EST + timedelta(days=2)):
        client.get(leave)
        assert the_follow().status == "paused", "GET alone never acts"
        answer = click(client, leave)
    assert b"You no longer follow this pathway" in answer.data
    assert the_follow().status == "left"
    run_job("pathways", at=MONDAY_9_EST + timedelta(weeks=4))
    assert len(steps_to(LEARNER)) == 1


def test_skip_does_not_advance_when_the_follower_prefers_their_day(app, client):
    pathway = make_pathway()
    with clock.frozen(MONDAY_9_EST):
        follow_form(client, pathway, LEARNER, advance_on_done=False)
        confirm_by_mail(client, LEARNER)
        run_job("pathways")
        due = the_follow().next_due_at
        click(client, link_in(steps_to(LEARNER)[0], "/skip"))
    assert the_follow().next_due_at == due
    assert db.session.scalar(select(StepProgress.state)) == "skipped"


def test_preferences_change_the_pace_and_finishing_the_last_step_completes(app, client):
    pathway = make_pathway(external=1)  # two steps
    with clock.frozen(MONDAY_9_EST):
        _following(client, pathway)
    later = MONDAY_9_EST + timedelta(hours=1)
    follow = the_follow()
    with clock.frozen(later):
        prefs = links.preferences_url(follow.participant).removeprefix("http://forum.test")
        page = client.get(prefs)
        assert b"Step 1 of 2 mailed, 0 done; next step Monday, 3/11/2030 9:00 AM EDT." in page.data
        form = {
            f"f{follow.id}-{k}": v
            for k, v in {
                "interval_days": "14",
                "weekday": "4",
                "hour": "16",
                "timezone": "Asia/Tokyo",
                "advance_on_done": "y",
                "save": "Save",
            }.items()
        }
        form[f"f{follow.id}-csrf_token"] = csrf_from(page.data)
        answer = client.post(f"/preferences/{prefs.rsplit('/', 1)[1]}/pathways/{follow.id}", data=form)
    assert answer.status_code == 303
    follow = the_follow()
    assert (follow.interval_days, follow.weekday, follow.hour, follow.timezone) == (14, 4, 16, "Asia/Tokyo")
    # two weeks after Monday 4 March, then Friday 4 PM in Tokyo = 07:00 UTC
    assert follow.next_due_at == datetime(2030, 3, 22, 7, 0, tzinfo=UTC)

    with clock.frozen(follow.next_due_at):
        run_job("pathways")
    last = steps_to(LEARNER)[-1]
    assert "step 2 of 2" in parsed(last)["Subject"]
    with clock.frozen(datetime(2030, 3, 23, tzinfo=UTC)):
        click(client, link_in(last, "/done"))
        assert the_follow().status == "completed"
        assert b"Completed: all 2 steps." in client.get(prefs).data


def test_a_bad_or_old_step_link_gets_a_clear_page(app, client):
    pathway = make_pathway()
    assert client.get("/pathways/step/not-a-token/done").status_code == 400
    assert client.get("/pathways/follow/not-a-token").status_code == 400
    follow_form(client, pathway, LEARNER)
    row = outbox("pathway-confirm", LEARNER)[0]
    with clock.frozen(clock.now() + timedelta(days=30)):
        answer = client.get(link_in(row, "/pathways/follow/"))
    assert answer.status_code == 410
    assert b"This link has expired" in answer.data
    assert answer.headers["Referrer-Policy"] == "same-origin"


JULY = datetime(2030, 7, 1, 13, 0, tzinfo=UTC)  # a pathway's series met on 4 June


def second_step_in_july(client, pathway) -> str:  # type: ignore[no-untyped-def]
    """Follow `pathway` on 1 July 2030 (its series met on 4 June), mark the first step done
    and let the job send the next: that step mail's text."""
    with clock.frozen(JULY):
        _following(client, pathway)
        click(client, link_in(steps_to(LEARNER)[0], "/done"))
        run_job("pathways")
    return text_of(steps_to(LEARNER)[1])


def test_a_past_event_step_points_at_what_it_left_and_a_cancelled_one_offers_a_skip(app, client):
    pathway = make_pathway(external=1)
    past = second_step_in_july(client, pathway)
    assert "This event has taken place; its page has what it covered and any materials:" in past
    assert "Register to take part" not in past
    assert "This is the last step of the pathway." in past

    events.cancel_event(pathway.steps[1].resource.the_event)
    db.session.commit()
    with clock.frozen(JULY):
        cancelled = step_message(the_follow(), pathway.steps[1], 2).get_body(preferencelist=("plain",))
    assert cancelled is not None
    assert (
        "This event was cancelled. Skip this step, and the next one will follow:" in cancelled.get_content()
    )


def test_a_follower_already_registered_for_the_event_is_not_asked_to_register(app, client):
    pathway = make_pathway(external=1)
    event = pathway.steps[1].resource.the_event
    with clock.frozen(MONDAY_9_EST):
        follow_form(client, pathway, LEARNER)
        confirm_by_mail(client, LEARNER)
        db.session.add(Subscription(participant=the_follow().participant, event=event, status="active"))
        db.session.commit()
        run_job("pathways")
        click(client, link_in(steps_to(LEARNER)[0], "/done"))
        run_job("pathways")
    text = text_of(steps_to(LEARNER)[1])
    assert "This is a live event, and you are registered for it" in text
    assert "/subscribe" not in text
    assert "Tuesday, 6/4/2030, 2:00 PM–3:00 PM (New York, EDT)" in text


def test_a_draft_event_in_a_published_pathway_keeps_its_title_private(app, client):
    pathway = make_pathway(external=1)
    event = pathway.steps[1].resource.the_event
    event.status, event.title = "draft", "Secret Series"
    db.session.commit()
    page = client.get(f"/pathways/{pathway.slug}").data.decode()
    assert "Secret Series" not in page and "An event to be announced" in page
    api = client.get(f"/api/v1/pathways/{pathway.slug}").get_json()
    assert api["steps"][1]["resource"]["title"] == "An event to be announced"
    assert api["steps"][1]["resource"]["event"] is None


def test_steps_inserted_or_reordered_while_people_follow_are_neither_repeated_nor_missed(app, client):
    pathway = make_pathway(external=2)  # doc, session, video
    with clock.frozen(MONDAY_9_EST):
        _following(client, pathway)  # step 1: the doc
    extra = pathways.save_external(
        None, title="Glossary", url="https://example.org/glossary", kind="document"
    )
    pathways.add_step(pathway, extra, why="Words again.")
    pathways.move_step(pathway.steps[-1], -3)  # the glossary becomes step 1, before what was sent
    pathways.remove_step(pathway.steps[2])  # the webinar session goes
    db.session.commit()
    assert [s.resource.display_title for s in pathway.steps] == [
        "Glossary",
        "Reading 0: cataloging basics",
        "Video 1: authority records",
    ]
    later = MONDAY_9_EST + timedelta(weeks=1)
    with clock.frozen(later):
        run_job("pathways")
    with clock.frozen(later + timedelta(weeks=1)):
        run_job("pathways")
    with clock.frozen(later + timedelta(weeks=2)):
        run_job("pathways")  # nothing left: the follower has completed the pathway
    subjects = [parsed(m)["Subject"].split(": ", 1)[1] for m in steps_to(LEARNER)]
    assert subjects == ["Reading 0: cataloging basics", "Glossary", "Video 1: authority records"]
    assert the_follow().status == "completed"


def test_a_crowd_due_at_once_is_spread_over_sweeps_oldest_first(app, client):
    pathway = make_pathway()
    for n in range(3):
        db.session.add(
            Participant(email=f"p{n}@example.org", email_key=f"p{n}@example.org", confirmed_at=MONDAY_9_EST)
        )
    db.session.commit()
    for seconds, n in enumerate((2, 0, 1)):  # confirmed addresses: each first step is due when they follow
        with clock.frozen(MONDAY_9_EST + timedelta(seconds=seconds)):
            follow_form(client, pathway, f"p{n}@example.org")
    with clock.frozen(MONDAY_9_EST + timedelta(minutes=1)):
        send_due_steps(clock.now(), limit=2)
        first = [m.recipient for m in outbox("pathway-step")]
        assert first == ["p2@example.org", "p0@example.org"]
        send_due_steps(clock.now() + timedelta(minutes=1), limit=2)
    assert [m.recipient for m in outbox("pathway-step")] == first + ["p1@example.org"]


def test_pause_resume_leave_and_follow_again_from_the_preferences_page(app, client):
    pathway = make_pathway()
    with clock.frozen(MONDAY_9_EST):
        _following(client, pathway)
        follow = the_follow()
        prefs = links.preferences_url(follow.participant).removeprefix("http://forum.test")
        action = f"/preferences/{prefs.rsplit('/', 1)[1]}/pathways/{follow.id}"

        def press(button: str) -> str:
            page = client.get(prefs)
            data = {f"f{follow.id}-csrf_token": csrf_from(page.data), f"f{follow.id}-{button}": "x"}
            for name, value in (
                ("interval_days", 7),
                ("weekday", 0),
                ("hour", 9),
                ("timezone", "America/New_York"),
            ):
                data[f"f{follow.id}-{name}"] = str(value)
            assert client.post(action, data=data).status_code == 303
            return the_follow().status

        assert press("pause") == "paused"
        assert b"; paused." in client.get(prefs).data
        assert press("resume") == "active"
        assert the_follow().next_due_at == datetime(2030, 3, 11, 13, 0, tzinfo=UTC)  # the next Monday, 9 AM
        assert press("leave") == "left"
        assert b"You stopped after step 1 of 4." in client.get(prefs).data
    run_job("pathways", at=datetime(2030, 3, 11, 13, 0, tzinfo=UTC))
    assert len(steps_to(LEARNER)) == 1
    with clock.frozen(datetime(2030, 3, 12, 13, 0, tzinfo=UTC)):
        assert press("restart") == "active"
        run_job("pathways")
    assert "step 2 of 4" in parsed(steps_to(LEARNER)[-1])["Subject"], "back where they stopped"


def test_a_past_session_with_a_public_recording_sends_the_recording(app, client):
    """Webinars' session materials reach pathway mail: a public recording is linked, a
    registrants-only one never is (a follower need not be a registrant)."""
    from forum.webinars import recordings

    pathway = make_pathway(external=1)
    session = pathway.steps[1].resource.the_event.sessions[0]
    recordings.add_material(session, url="https://video.example.org/private", public=False)
    recordings.add_material(session, url="https://video.example.org/rda-session-1", public=True)
    db.session.commit()
    text = second_step_in_july(client, pathway)
    assert "This event has taken place. Watch the recording:\r\nhttps://video.example.org/rda-session-1" in text
    assert "video.example.org/private" not in text
