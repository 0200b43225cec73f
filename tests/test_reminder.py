"""Session reminders: at the event's offsets, in each reader's zone (across DST), never late."""

from __future__ import annotations

from datetime import datetime, timedelta

from forum.core import clock
from forum.core.extensions import db
from forum.scheduling.jobs import run_job
from tests.support.scheduling import eastern, make_series, outbox, parsed, subject_of, subscribe, text_of

# Tuesday 5 November 2024, 10:00 AM Eastern: two days after US clocks fell back (EST, UTC-5).
SESSION_START = eastern(2024, 11, 5, 10)


def _series_with_people():  # type: ignore[no-untyped-def]
    # Everyone signs up in October, when New York is still on EDT (UTC-4).
    with clock.frozen(eastern(2024, 10, 20, 12)):
        event = make_series(starts=[datetime(2024, 11, 5, 10)])
        subscribe(event, "kolkata@example.org", mode="each", zone="Asia/Kolkata")
        subscribe(event, "phoenix@example.org", mode="each", zone="America/Phoenix")
        subscribe(event, "home@example.org", mode="each")
        subscribe(event, "quiet@example.org", mode="none")
        subscribe(event, "pending@example.org", mode="each", status="pending")
    return event


def test_reminders_at_the_default_offsets_in_each_readers_zone_across_dst(app):
    _series_with_people()
    assert run_job("reminders", at=SESSION_START - timedelta(days=1, minutes=1)).messages == 0
    day_before = run_job("reminders", at=SESSION_START - timedelta(days=1))
    assert day_before.messages == 4  # active subscribers, "No mail" included: it is their session

    kolkata = outbox("reminder", "kolkata@example.org")[0]
    assert subject_of(kolkata) == "Reminder: Cataloging Webinar Series — Session 1, starts in 1 day"
    text = text_of(kolkata)
    # 10:00 AM EST = 15:00 UTC = 8:30 PM in Kolkata (it would be 7:30 PM at October's offset)
    assert "When (your time): Tuesday, 11/5/2024, 8:30 PM–9:30 PM (Kolkata, IST)" in text
    # a personal join link, never the platform's URL
    assert "your personal link: http://forum.test/join/" in text
    assert "meet.example.org" not in text
    assert "10:00 AM–11:00 AM (Eastern)" in text  # the usual zone list
    assert "8:00 AM–9:00 AM (Phoenix, MST)" in text_of(outbox("reminder", "phoenix@example.org")[0])
    assert "10:00 AM–11:00 AM (Eastern, EST)" in text_of(outbox("reminder", "home@example.org")[0])
    assert outbox("reminder", "pending@example.org") == []
    assert parsed(kolkata)["Auto-Submitted"] == "auto-generated"

    hour_before = run_job("reminders", at=SESSION_START - timedelta(minutes=59))
    assert hour_before.messages == 4
    assert subject_of(outbox("reminder", "home@example.org")[1]) == "Reminder: Cataloging Webinar Series — Session 1, starts in 1 hour"
    assert run_job("reminders", at=SESSION_START - timedelta(minutes=30)).messages == 0  # twice: once
    assert len(outbox("reminder")) == 8


def test_reminder_carries_the_calendar_file(app):
    event = _series_with_people()
    run_job("reminders", at=SESSION_START - timedelta(hours=1))
    msg = parsed(outbox("reminder", "home@example.org")[0])
    attachments = [p for p in msg.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert "http://forum.test/" in text_of(outbox("reminder", "home@example.org")[0])  # the .ics link
    assert len(attachments) == 1
    ics = attachments[0].get_content()
    assert "BEGIN:VCALENDAR" in ics and f"UID:{event.sessions[0].uid}" in ics


def test_officer_configured_offsets(app):
    with clock.frozen(eastern(2024, 10, 1, 9)):
        event = make_series(offsets="2880,30", starts=[datetime(2024, 11, 5, 10)])
        subscribe(event, "a@example.org", mode="each")
    assert run_job("reminders", at=SESSION_START - timedelta(days=2, minutes=1)).messages == 0
    assert run_job("reminders", at=SESSION_START - timedelta(days=2)).messages == 1
    assert run_job("reminders", at=SESSION_START - timedelta(days=1)).messages == 0
    assert run_job("reminders", at=SESSION_START - timedelta(minutes=30)).messages == 1
    assert [subject_of(r) for r in outbox("reminder")] == [
        "Reminder: Cataloging Webinar Series — Session 1, starts in 2 days",
        "Reminder: Cataloging Webinar Series — Session 1, starts in 30 minutes",
    ]


def test_after_downtime_only_the_latest_reminder_goes_and_never_after_the_start(app):
    _series_with_people()
    # down for the day-before reminder; back 40 minutes before the start
    report = run_job("reminders", at=SESSION_START - timedelta(minutes=40))
    assert report.messages == 4
    # the one-hour reminder, sent 40 minutes before, says the real time left
    assert {subject_of(r) for r in outbox("reminder")} == {"Reminder: Cataloging Webinar Series — Session 1, starts in 40 minutes"}
    assert "Session 1 starts in 40 minutes." in text_of(outbox("reminder", "home@example.org")[0])
    assert run_job("reminders", at=SESSION_START - timedelta(minutes=10)).messages == 0


def test_a_session_that_has_begun_gets_no_reminder(app):
    _series_with_people()
    assert run_job("reminders", at=SESSION_START + timedelta(minutes=1)).messages == 0
    assert outbox("reminder") == []


def test_a_moved_session_is_reminded_again_for_its_new_time(app):
    event = _series_with_people()
    run_job("reminders", at=SESSION_START - timedelta(hours=1))
    session = event.sessions[0]
    session.set_times(datetime(2024, 11, 5, 14), datetime(2024, 11, 5, 15), "America/New_York")
    db.session.commit()
    report = run_job("reminders", at=eastern(2024, 11, 5, 13, 0))
    assert report.messages == 4
    assert "2:00 PM–3:00 PM (Eastern, EST)" in text_of(outbox("reminder", "home@example.org")[-1])


def test_a_reminder_for_a_room_not_set_up_yet_points_to_the_preferences_page(app):
    """The event page never shows a join link (it is personal), so a reminder whose session
    has no room yet must not send the reader there for it; a series has no delivery to change."""
    event = _series_with_people()
    event.sessions[0].join_url = ""
    db.session.commit()
    run_job("reminders", at=SESSION_START - timedelta(hours=1))
    reminder = outbox("reminder", "home@example.org")[0]
    text = text_of(reminder)
    assert "on the event page" not in text and "/join/" not in text
    assert "The online room is not set up yet: your personal join link will be on your preferences page" in text
    preferences = text.split("your preferences page once it is: ")[1].split()[0]
    assert "/preferences/" in preferences
    assert "delivery" not in text.lower()
    html = parsed(reminder).get_body(preferencelist=("html",)).get_content()
    assert "event page</a>" not in html and "delivery" not in html.lower()


def test_a_late_reminder_says_the_real_time_left() -> None:
    from forum.events.reminders import time_left_text
    from forum.models import Session

    session = Session(starts_at=SESSION_START)
    cases = {
        (60, timedelta(minutes=59)): "1 hour",  # on time
        (60, timedelta(minutes=6)): "6 minutes",  # the newcomer's "starts in 1 hour"
        (1440, timedelta(hours=2, minutes=37)): "2 hours 35 minutes",
        (2880, timedelta(days=1, hours=3)): "1 day 3 hours",
        (1440, timedelta(days=1)): "1 day",
    }
    for (minutes, before), said in cases.items():
        assert time_left_text(session, minutes, SESSION_START - before) == said, (minutes, before)
