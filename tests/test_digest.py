"""Daily digests of a two-day e-forum, driven by an explicit clock: once per day, in order, caught up."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from forum.core.extensions import db
from forum.models import JobRun
from forum.scheduling.jobs import run_job
from tests.support.scheduling import (
    add_post,
    eastern,
    html_of,
    make_forum,
    outbox,
    parsed,
    run_hourly,
    subject_of,
    subscribe,
    text_of,
)


def _forum_with_posts():  # type: ignore[no-untyped-def]
    event = make_forum(days=2)
    alice = subscribe(event, "alice@example.org", mode="digest")
    bob = subscribe(event, "bob@example.org", mode="digest", zone="America/Los_Angeles")
    subscribe(event, "carol@example.org", mode="each")
    subscribe(event, "dan@example.org", mode="digest", status="unsubscribed")
    add_post(
        event,
        eastern(2019, 9, 10, 10, 5),
        "Welcome and introductions",
        author="Megan Dougherty",
        role="moderator",
    )
    add_post(event, eastern(2019, 9, 10, 11, 30), "Mentoring at the same institution")
    add_post(
        event, eastern(2019, 9, 10, 14, 0), "Formal programs", author="Nicole Smeltekop", role="panelist"
    )
    add_post(event, eastern(2019, 9, 10, 12, 0), "Rejected spam", status="rejected")
    add_post(
        event, eastern(2019, 9, 11, 9, 0), "Early on day two"
    )  # before the forum's day-two start, still day 2
    add_post(event, eastern(2019, 9, 11, 16, 45), "Mid-career mentoring")
    return event, alice, bob


def test_one_digest_per_day_with_that_days_posts_in_order(app):
    _forum_with_posts()
    run_hourly("digests", eastern(2019, 9, 10, 8), eastern(2019, 9, 12, 9))

    alice = outbox("digest", "alice@example.org")
    assert [subject_of(r) for r in alice] == [
        "[Mentoring in Technical Services] Digest, Tuesday, 9/10/2019 (3 messages)",
        "[Mentoring in Technical Services] Final digest, Wednesday, 9/11/2019 (2 messages)",
    ]
    day1 = text_of(alice[0])
    order = [day1.index(s) for s in ("Welcome and introductions", "Mentoring at the same", "Formal programs")]
    assert order == sorted(order)
    assert "Rejected spam" not in day1 and "Mid-career" not in day1
    assert "Mid-career mentoring" in text_of(alice[1]) and "Early on day two" in text_of(alice[1])
    # each-mode and unsubscribed people get no digest
    assert outbox("digest", "carol@example.org") == []
    assert outbox("digest", "dan@example.org") == []
    assert len(outbox("digest")) == 4  # alice and bob, two days each


def test_digest_shows_toc_badges_links_and_the_readers_own_time(app):
    _forum_with_posts()
    run_job("digests", at=eastern(2019, 9, 10, 18, 1))

    alice = outbox("digest", "alice@example.org")[0]
    text = text_of(alice)
    assert "Today's topics (3 messages)" in text
    assert "1. Welcome and introductions - Megan Dougherty [Moderator], 10:05 AM EDT" in text
    assert "Nicole Smeltekop [Panelist]" in text
    assert "http://forum.test/events/mentoring/archive" in text
    html = html_of(alice)
    assert "<ol>" in html and "Panelist</strong>" in html and 'href="#m3"' in html
    msg = parsed(alice)
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["List-Id"].endswith("<mentoring.lists.forum.test>")

    bob = text_of(outbox("digest", "bob@example.org")[0])
    assert "Times are shown in Los Angeles time." in bob
    assert "7:05 AM PDT" in bob  # 10:05 AM Eastern, in Pacific time


def test_no_digest_on_a_day_without_posts(app):
    event = make_forum(days=2)
    subscribe(event, "alice@example.org")
    add_post(event, eastern(2019, 9, 11, 11), "Only on day two")
    run_hourly("digests", eastern(2019, 9, 10, 8), eastern(2019, 9, 12, 9))

    rows = outbox("digest")
    assert len(rows) == 1 and "Wednesday, 9/11/2019" in subject_of(rows[0])
    empty = db.session.scalar(select(JobRun).where(JobRun.kind == "digest", JobRun.period == "2019-09-10"))
    assert empty is not None and empty.recipients == 0 and empty.note == "no posts"


def test_running_the_job_twice_sends_once(app):
    _forum_with_posts()
    at = eastern(2019, 9, 10, 18, 5)
    first = run_job("digests", at=at)
    second = run_job("digests", at=at)
    third = run_job("digests", at=at + timedelta(hours=2))
    assert first.messages == 2
    assert second.messages == 0 and third.messages == 0
    assert len(outbox("digest")) == 2


def test_a_scheduler_stopped_over_the_digest_hour_catches_up_once_with_the_date(app):
    _forum_with_posts()
    run_job("digests", at=eastern(2019, 9, 10, 17, 0))  # before the digest hour: nothing yet
    assert outbox("digest") == []
    # down from 17:00 until the next morning; when it comes back, yesterday's digest goes out once
    run_hourly("digests", eastern(2019, 9, 11, 9, 30), eastern(2019, 9, 11, 10, 30))
    rows = outbox("digest", "alice@example.org")
    assert len(rows) == 1
    assert "Tuesday, 9/10/2019" in subject_of(rows[0])
    assert "Early on day two" not in text_of(rows[0])  # the catch-up covers its own day only


def test_delivery_mode_is_read_when_the_digest_is_sent(app):
    event, alice, _bob = _forum_with_posts()
    alice.mode = "each"  # switched during the day
    db.session.commit()
    run_job("digests", at=eastern(2019, 9, 10, 18, 1))
    assert outbox("digest", "alice@example.org") == []
    assert len(outbox("digest", "bob@example.org")) == 1


def test_posts_after_the_digest_hour_go_in_the_next_digest(app):
    event = make_forum(days=2, hours=(10, 22))  # open late: digest at 18:00 is mid-day
    subscribe(event, "alice@example.org")
    add_post(event, eastern(2019, 9, 10, 20), "Evening thought")
    run_hourly("digests", eastern(2019, 9, 10, 8), eastern(2019, 9, 12, 0))
    rows = outbox("digest")
    assert len(rows) == 1
    assert "Wednesday, 9/11/2019" in subject_of(rows[0]) and "Evening thought" in text_of(rows[0])


def test_a_zone_no_longer_known_shows_the_forums_own_time(app):
    """A stored zone tzdata no longer has (or an import put in) reads as the forum's zone:
    the reader still gets their digest, in Eastern time, and the job carries on."""
    event, _, _ = _forum_with_posts()
    subscribe(event, "erin@example.org", mode="digest", zone="Mars/Olympus_Mons")
    run_job("digests", at=eastern(2019, 9, 10, 18, 1))

    erin = text_of(outbox("digest", "erin@example.org")[0])
    assert "10:05 AM EDT" in erin and "Mars" not in erin
    assert len(outbox("digest")) == 3  # alice, bob and erin
