"""Timed announcements and lessons: written in /manage, sent once at their time."""

from __future__ import annotations

from datetime import datetime

from flask import g
from sqlalchemy import select

from forum.core import clock
from forum.core.extensions import db
from forum.models import Announcement
from forum.scheduling.jobs import run_job
from tests.conftest import csrf_from, submit
from tests.support.scheduling import (
    eastern,
    html_of,
    login_officer,
    make_forum,
    make_series,
    outbox,
    run_hourly,
    subject_of,
    subscribe,
    text_of,
)

URL = "/manage/events/cataloging/announcements"


def _schedule(client, **fields):  # type: ignore[no-untyped-def]
    page = client.get(URL)
    data = {
        "csrf_token": csrf_from(page.data),
        "kind": "lesson",
        "subject": "Authority records",
        "body": "Read **chapter 2** and try [the exercise](https://example.org/ex).",
        "send_date": "2024-10-01",
        "send_time": "09:00",
        **fields,
    }
    return client.post(URL, data=data)


def _series_with_people():  # type: ignore[no-untyped-def]
    event = make_series(starts=[datetime(2024, 10, 15, 10)])
    subscribe(event, "each@example.org", mode="each", zone="Europe/Berlin")
    subscribe(event, "digest@example.org", mode="digest")
    subscribe(event, "quiet@example.org", mode="none")
    subscribe(event, "gone@example.org", mode="each", status="unsubscribed")
    return event


def test_an_officer_schedules_a_lesson_and_it_goes_out_once_at_its_time(app, client):
    _series_with_people()
    login_officer(client)
    with clock.frozen(eastern(2024, 9, 20, 12)):
        response = _schedule(client)
        assert response.status_code == 302
        page = client.get(URL).get_data(as_text=True)
    assert "Authority records" in page and "Tuesday, 10/1/2024 9:00 AM EDT" in page
    assert "Scheduled" in page

    assert run_job("announcements", at=eastern(2024, 10, 1, 8, 59)).messages == 0
    first = run_job("announcements", at=eastern(2024, 10, 1, 9, 0))
    again = run_job("announcements", at=eastern(2024, 10, 1, 9, 1))
    assert first.messages == 2 and again.messages == 0  # active subscribers who take mail
    rows = outbox("announcement")
    assert sorted(r.recipient for r in rows) == ["digest@example.org", "each@example.org"]
    assert subject_of(rows[0]) == "[Cataloging Webinar Series] Lesson 1: Authority records"
    assert "Read **chapter 2**" in text_of(rows[0])
    assert "<strong>chapter 2</strong>" in html_of(rows[0])
    announcement = db.session.scalar(select(Announcement))
    assert announcement.status == "sent" and announcement.recipients == 2
    assert "Sent to 2" in client.get(URL).get_data(as_text=True)


def test_a_late_scheduler_still_sends_it_once(app):
    event = _series_with_people()
    announcement = Announcement(event=event, subject="Welcome", body="Hello", kind="announcement")
    announcement.set_send_time(datetime(2024, 10, 1, 9), event.timezone)
    db.session.add(announcement)
    db.session.commit()
    assert run_job("announcements", at=eastern(2024, 10, 2, 7)).messages == 2
    assert run_job("announcements", at=eastern(2024, 10, 2, 8)).messages == 0


def test_bad_input_is_shown_next_to_the_field_and_nothing_typed_is_lost(app, client):
    _series_with_people()
    login_officer(client)
    response = _schedule(client, subject="", send_date="2024-03-10", send_time="02:30")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Give the message a subject." in page
    assert "Read **chapter 2**" in page  # the body is kept
    # a wall time in the spring-forward gap is refused with the reason, once the rest is valid
    response = _schedule(client, send_date="2024-03-10", send_time="02:30")
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "does not exist in America/New_York" in page
    assert db.session.scalar(select(Announcement)) is None


def test_edit_and_cancel(app, client):
    _series_with_people()
    login_officer(client)
    with clock.frozen(eastern(2024, 9, 20, 12)):
        _schedule(client)
        announcement = db.session.scalar(select(Announcement))
        edit_url = f"{URL}/{announcement.id}"
        page = client.get(edit_url)
        assert 'value="2024-10-01"' in page.get_data(as_text=True)
        response = submit(
            client, edit_url, page.data, kind="announcement", subject="Moved", body="Later",
            send_date="2024-10-02", send_time="10:30",
        )
        assert response.status_code == 302
    db.session.expire_all()
    assert announcement.subject == "Moved" and announcement.send_at == eastern(2024, 10, 2, 10, 30)
    assert run_job("announcements", at=eastern(2024, 10, 1, 12)).messages == 0

    token = csrf_from(client.get(URL).data)
    assert client.post(f"{edit_url}/cancel", data={"csrf_token": token}).status_code == 302
    db.session.expire_all()
    assert announcement.status == "cancelled"
    assert run_job("announcements", at=eastern(2024, 10, 3, 12)).messages == 0


def test_lessons_are_numbered_in_send_order(app):
    event = _series_with_people()
    for day, title in ((3, "Third"), (1, "First"), (2, "Second")):
        lesson = Announcement(event=event, subject=title, body="...", kind="lesson")
        lesson.set_send_time(datetime(2024, 10, day, 9), event.timezone)
        db.session.add(lesson)
    db.session.commit()
    run_job("announcements", at=eastern(2024, 10, 4, 9))
    subjects = [subject_of(r) for r in outbox("announcement", "each@example.org")]
    assert subjects == [
        "[Cataloging Webinar Series] Lesson 1: First",
        "[Cataloging Webinar Series] Lesson 2: Second",
        "[Cataloging Webinar Series] Lesson 3: Third",
    ]


def test_the_page_needs_a_signed_in_officer_and_a_real_event(app, client):
    make_forum()
    visitor = client.get("/manage/events/mentoring/announcements")
    assert visitor.status_code == 302 and visitor.headers["Location"].startswith("/login")
    g.pop("_login_user", None)  # the test's app context outlives requests; Flask-Login caches in g
    login_officer(client)
    page = client.get("/manage/events/mentoring/announcements")
    assert page.status_code == 200 and "Announcements" in page.get_data(as_text=True)
    missing = client.get("/manage/events/nope/announcements")
    assert missing.status_code == 404 and "nope" in missing.get_data(as_text=True)


def test_forum_open_and_closed_notices_go_once(app):
    event = make_forum(days=2)
    subscribe(event, "a@example.org", mode="each")
    subscribe(event, "b@example.org", mode="digest")
    subscribe(event, "c@example.org", mode="none")
    run_hourly("notices", eastern(2019, 9, 10, 9), eastern(2019, 9, 12, 9))
    subjects = sorted(subject_of(r) for r in outbox(recipient="a@example.org"))
    assert subjects == [
        "[Mentoring in Technical Services] The e-forum has closed: thank you",
        "[Mentoring in Technical Services] The e-forum is open: reply to this message to post",
    ]
    assert len(outbox("forum-open")) == 2 and len(outbox("forum-closed")) == 2
    # home zone first, then the display zones (as every mail states a time)
    assert (
        "Wednesday, 9/11/2019 6:00 PM (Eastern); 5:00 PM (Central); 4:00 PM (Mountain); 3:00 PM (Pacific)"
        in text_of(outbox("forum-open")[0])
    )


def test_the_form_says_who_it_goes_to_in_the_events_own_words(app, client):
    """A series has registrants and no "No mail" choice; an e-forum's subscribers may read on
    the web instead (the series page spoke of subscribers who chose "No mail")."""
    _series_with_people()
    forum = make_forum(slug="mentoring")
    subscribe(forum, "reader@example.org", mode="each")
    subscribe(forum, "web@example.org", mode="none")
    login_officer(client)
    series_page = client.get(URL).get_data(as_text=True)
    assert "It goes to the 2 active registrants." in series_page and "No mail" not in series_page
    forum_page = client.get("/manage/events/mentoring/announcements").get_data(as_text=True)
    assert "It goes to the 1 active subscriber who takes mail (those who chose “No mail” read it on the web)." in forum_page
