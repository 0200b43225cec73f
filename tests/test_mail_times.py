"""Every mail that states a time gives the event's home zone first, then the reader's own
zone, then the display zones; update mails say what changed; cancellations carry the
officer's reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from forum.core import clock
from forum.core.extensions import db
from forum.events import service as events
from forum.scheduling.scheduler import run_job
from forum.subscriptions import service
from tests.support.scheduling import make_series, outbox, subject_of, subscribe, text_of

LONDON = "Europe/London"
# Tuesday 9 February 2027, 2 PM in London (GMT), six weeks before the series' last session
FIRST = datetime(2027, 2, 9, 14)


def london_series():  # type: ignore[no-untyped-def]
    with clock.frozen(datetime(2027, 1, 10, 12, tzinfo=UTC)):
        event = make_series(slug="london", starts=[FIRST, FIRST + timedelta(weeks=1)], zone=LONDON)
        home = subscribe(event, "home@example.org", mode="each")
        kolkata = subscribe(event, "kolkata@example.org", mode="each", zone="Asia/Kolkata")
    return event, home, kolkata


def _register_again(event, subscription) -> None:  # type: ignore[no-untyped-def]
    """Sign up, through the service, someone whose address was confirmed before: the welcome
    and invites go out at once."""
    person = subscription.participant
    person.confirmed_at = clock.now()
    db.session.delete(subscription)
    db.session.commit()
    service.subscribe(event, person.email)


def bodies_for(email: str) -> dict[str, str]:
    return {row.kind: text_of(row) for row in outbox(recipient=email)}


def test_london_time_appears_first_in_every_mail_of_a_london_series(app) -> None:  # type: ignore[no-untyped-def]
    event, home, kolkata = london_series()
    first, second = event.sessions
    with clock.frozen(datetime(2027, 1, 10, 12, tzinfo=UTC)):
        _register_again(event, kolkata)  # welcome (+ calendar invites)
        db.session.commit()
        events.update_session(
            second,
            FIRST + timedelta(weeks=1, days=1, hours=1),
            FIRST + timedelta(weeks=1, days=1, hours=2),
            LONDON,
            title=second.title,
            join_url=second.join_url,
            description="",
        )
        events.cancel_session(first, reason="The presenter is ill.")
        db.session.commit()
    run_job("reminders", at=datetime(2027, 2, 16, 15, tzinfo=UTC))  # a day before the moved session

    for email in ("home@example.org", "kolkata@example.org"):
        rows = outbox(recipient=email)
        kinds = {row.kind for row in rows}
        assert "reminder" in kinds, kinds
        if email.startswith("kolkata"):
            assert "welcome" in kinds, kinds  # and invites, an update, a cancellation: all "calendar"
        for row in rows:
            if row.kind in ("confirm", "already-subscribed"):
                continue
            body = text_of(row)
            assert "(London)" in body, (row.kind, subject_of(row), body)
            lines = [
                line.strip("•* ").strip() for line in body.splitlines() if "PM (" in line or "AM (" in line
            ]
            zone_lines = [line for line in lines if not line.startswith(("When", "Join"))]
            assert zone_lines and zone_lines[0].endswith("(London)"), (row.kind, zone_lines)
    # the reader who chose a zone sees it second, named as theirs
    reminder = next(row for row in outbox(recipient="kolkata@example.org") if row.kind == "reminder")
    text = text_of(reminder)
    london = text.index("3:00 PM–4:00 PM (London)")
    kolkata_line = text.index("8:30 PM–9:30 PM (Kolkata, your time zone)")
    eastern = text.index("10:00 AM–11:00 AM (Eastern)")
    assert london < kolkata_line < eastern


def test_update_mail_says_what_was_and_what_is(app) -> None:  # type: ignore[no-untyped-def]
    event, home, _ = london_series()
    first = event.sessions[0]
    with clock.frozen(datetime(2027, 1, 10, 12, tzinfo=UTC)):
        events.update_session(
            first,
            datetime(2027, 2, 10, 15),
            datetime(2027, 2, 10, 16),
            LONDON,
            title="Metadata in practice",
            join_url="https://meet.example.org/new-room",
            description="",
        )
        db.session.commit()
    (update,) = [row for row in outbox(recipient="home@example.org") if row.kind.startswith("calendar")]
    body = text_of(update)
    assert (
        "When: was Tue 2/9/2027 2:00 PM–3:00 PM (London), now Wed 2/10/2027 3:00 PM–4:00 PM (London)" in body
    )
    assert "Title: was “Session 1”, now “Metadata in practice”" in body
    assert "Join link: changed" in body and "Join, your personal link: http://forum.test/join/" in body
    assert "meet.example.org" not in body  # the room's URL stays behind the personal link


def test_renaming_the_event_says_the_old_and_new_title(app, client) -> None:  # type: ignore[no-untyped-def]
    event, home, _ = london_series()
    for session in event.sessions:
        session.title = ""
    db.session.commit()
    with clock.frozen(datetime(2027, 1, 10, 12, tzinfo=UTC)):
        old = event.title
        event.title = "Cataloguing in London"
        events.event_renamed(event, old)
        db.session.commit()
    updates = [row for row in outbox(recipient="home@example.org") if row.kind.startswith("calendar")]
    assert len(updates) == 2
    assert "Title: was “Cataloging Webinar Series”, now “Cataloguing in London”" in text_of(updates[0])


def test_session_cancellation_carries_the_officers_reason(app) -> None:  # type: ignore[no-untyped-def]
    event, home, _ = london_series()
    with clock.frozen(datetime(2027, 1, 10, 12, tzinfo=UTC)):
        events.cancel_session(event.sessions[1], reason="The presenter is ill; the recording will follow.")
        db.session.commit()
    (mail,) = [row for row in outbox(recipient="home@example.org") if row.kind.startswith("calendar")]
    body = text_of(mail)
    assert "has been cancelled" in body
    assert "The presenter is ill; the recording will follow." in body
    assert "2:00 PM–3:00 PM (London)" in body


def test_subject_lines_follow_one_pattern(app) -> None:  # type: ignore[no-untyped-def]
    event, home, kolkata = london_series()
    first, second = event.sessions
    with clock.frozen(datetime(2027, 1, 10, 12, tzinfo=UTC)):
        _register_again(event, kolkata)
        events.update_session(
            second,
            second.start_wall + timedelta(hours=1),
            second.end_wall + timedelta(hours=1),
            LONDON,
            title=second.title,
            join_url=second.join_url,
            description="",
        )
        events.cancel_session(first)
        db.session.commit()
    run_job("reminders", at=second.starts_at - timedelta(hours=1))
    subjects = sorted({subject_of(row) for row in outbox()})
    assert subjects == [
        "Cancelled: Cataloging Webinar Series — Session 1",
        "Invitation: Cataloging Webinar Series — Session 2",
        "Reminder: Cataloging Webinar Series — Session 2, starts in 1 hour",
        "Updated: Cataloging Webinar Series — Session 2",
        "Welcome: Cataloging Webinar Series",
    ]
