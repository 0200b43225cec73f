"""Moderation and posting in sight: counts of held posts on the officer pages, the queue
among the event's tabs, the archive saying how to post, the web form saying when the
e-forum opens, and times in the reader's zone."""

from __future__ import annotations

from forum.core import clock
from forum.discussion import service as discussion
from forum.mail.links import post_url
from tests.support.discussion import (
    AFTER,
    BEFORE,
    LIST,
    OPEN_AT,
    login_officer,
    make_forum,
    message,
    subscribe,
)


def hold_two() -> None:
    event = make_forum(moderation="all")
    subscribe(event, "ann@example.org", "Ann Reader")
    with clock.frozen(OPEN_AT):
        for n in (1, 2):
            outcome = discussion.receive(message(subject=f"Question {n}", msgid=f"<q{n}@example.org>"), LIST)
            assert outcome.status == "held"


def test_held_posts_are_counted_on_the_overview_list_and_tabs(app, client) -> None:  # type: ignore[no-untyped-def]
    hold_two()
    login_officer(client)
    overview = client.get("/manage/events/mentoring").get_data(as_text=True)
    assert "2 posts wait for moderation." in overview
    assert '<span class="badge badge-held">2<span class="visually-hidden"> waiting</span></span>' in overview
    listing = client.get("/manage/").get_data(as_text=True)
    assert "2 waiting for moderation" in listing
    queue = client.get("/manage/events/mentoring/moderation").get_data(as_text=True)
    # the queue keeps the event's tabs, itself marked current
    assert 'aria-label="This event"' in queue
    assert 'href="/manage/events/mentoring/moderation" aria-current="page"' in queue
    assert "Question 1" in queue and "Question 2" in queue


def test_archive_says_how_to_post_while_open(app, client) -> None:  # type: ignore[no-untyped-def]
    make_forum()
    with clock.frozen(OPEN_AT):
        html = client.get("/events/mentoring/archive").get_data(as_text=True)
    assert "Taking part" in html
    assert f'href="mailto:{LIST}"' in html
    assert "open the archive from the link in any message from the list" in html


def test_archive_offers_the_web_form_to_a_reader_with_a_link(app, client) -> None:  # type: ignore[no-untyped-def]
    event = make_forum()
    sub = subscribe(event, "ann@example.org", "Ann Reader")
    with clock.frozen(OPEN_AT):
        link = post_url(sub)
        client.get(link[link.index("/post/") :])
        html = client.get("/events/mentoring/archive").get_data(as_text=True)
    assert "Start a new thread on the web" in html


def test_before_it_opens_the_form_says_when_in_the_readers_zone(app, client) -> None:  # type: ignore[no-untyped-def]
    event = make_forum()
    sub = subscribe(event, "ann@example.org", "Ann Reader")
    sub.participant.timezone = "Asia/Kolkata"
    from forum.core.extensions import db

    db.session.commit()
    with clock.frozen(BEFORE):
        link = post_url(sub)
        page = client.get(link[link.index("/post/") :])
        html = page.get_data(as_text=True)
        archive = client.get("/events/mentoring/archive").get_data(as_text=True)
    assert "This e-forum is not open yet." in html
    # 10:00 AM Eastern on 9/10/2030 is 7:30 PM in Kolkata
    assert "It opens <strong>Tuesday, 9/10/2030 7:30 PM IST</strong>" in html
    assert '<form method="post"' not in html  # nothing to fill in that would only be refused
    assert "The discussion opens" in archive
    with clock.frozen(AFTER):
        closed = client.get("/events/mentoring/archive").get_data(as_text=True)
    assert "The discussion closed" in closed
