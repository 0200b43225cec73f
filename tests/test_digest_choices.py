"""Digest choices: daily or weekly, at each reader's own hour in their own zone, in full or
subjects only; across the DST changes of two continents, exactly once under racing runs,
and one stored body per variant (kind, zone, threads left out), never one per reader."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from sqlalchemy import func, select

from forum.core import clock, timezones
from forum.core.extensions import db
from forum.discussion import thread_choices
from forum.models import JobRun, OutboundBody, OutboundMessage
from forum.scheduling.jobs import run_job
from forum.subscriptions.delivery import set_delivery
from tests.support.scheduling import (
    add_post,
    eastern,
    make_forum,
    outbox,
    race_job,
    run_hourly,
    subject_of,
    subscribe,
    text_of,
)

LONDON = "Europe/London"
NY = "America/New_York"


def _reader(event, email, zone, **choices):  # type: ignore[no-untyped-def]
    """A digest reader who made their choices the day before the forum opened."""
    with clock.frozen(event.starts_at - timedelta(days=1)):
        sub = subscribe(event, email, mode="digest", zone=zone)
        set_delivery(sub, **choices)
        db.session.commit()
    return sub


def _local_sends(email: str, zone: str) -> list[tuple[date, int, str]]:
    """(local date, local hour, subject) of each digest a reader got, when it was queued."""
    rows = outbox("digest", email)
    out = []
    for row in rows:
        local = timezones.to_zone(row.created_at, zone)
        out.append((local.date(), local.hour, subject_of(row)))
    return out


def test_each_kind_goes_at_each_readers_own_hour_across_both_dst_changes(app):
    """A twelve-day forum across London's (27 Oct) and New York's (3 Nov 2019) fall-back."""
    event = make_forum(first_day=date(2019, 10, 25), days=12)  # 10 AM-6 PM Eastern each day
    _reader(event, "nina@example.org", NY, digest_hour=8)  # daily, full, 8 AM New York
    _reader(event, "leo@example.org", LONDON, digest_hour=7, digest_style="subjects")  # daily, 7 AM London
    _reader(event, "wes@example.org", NY, digest_rhythm="weekly", digest_weekday=6, digest_hour=9)  # Sundays
    # Sundays at 1 AM London: on 27 Oct that hour happens twice (BST, then GMT); it goes once
    _reader(
        event, "lucy@example.org", LONDON, digest_rhythm="weekly", digest_weekday=6, digest_hour=1,
        digest_style="subjects",
    )
    subscribe(event, "pat@example.org", mode="digest", zone="America/Los_Angeles")  # the forum's 6 PM Eastern
    for n in range(12):
        day = date(2019, 10, 25) + timedelta(days=n)
        add_post(event, eastern(day.year, day.month, day.day, 12), f"Day {n + 1}: mentoring notes")
    run_hourly("digests", eastern(2019, 10, 25, 9, 5), eastern(2019, 11, 6, 9, 5))

    days = [date(2019, 10, 26) + timedelta(days=n) for n in range(11)]  # 26 Oct .. 5 Nov
    nina = _local_sends("nina@example.org", NY)
    assert [(d, h) for d, h, _ in nina[:-1]] == [(d, 8) for d in days]  # 8 AM EDT, then 8 AM EST
    assert "Final digest" in nina[-1][2] and nina[-1][:2] == (date(2019, 11, 5), 18)
    assert all("(1 message)" in s for _, _, s in nina)  # each post in exactly one digest

    leo = _local_sends("leo@example.org", LONDON)
    assert [(d, h) for d, h, _ in leo[:-1]] == [(d, 7) for d in days]  # 7 AM BST, then 7 AM GMT
    assert all("subjects only" in s for _, _, s in leo)
    index = text_of(outbox("digest", "leo@example.org")[2])
    assert "Read on the web: http://forum.test/events/mentoring/archive/threads/" in index
    assert "Reply by mail: mailto:mentoring@lists.forum.test?subject=Re%3A%20Day" in index
    assert "In-Reply-To=%3C" in index and "Some thoughts on mentoring" not in index  # no bodies
    assert "Times are shown in London time." in index

    wes = _local_sends("wes@example.org", NY)
    assert [(d, h) for d, h, _ in wes] == [(date(2019, 10, 27), 9), (date(2019, 11, 3), 9), (date(2019, 11, 5), 18)]
    assert "Weekly digest" in wes[0][2] and "(2 messages)" in wes[0][2]  # 25 and 26 Oct
    assert "(7 messages)" in wes[1][2] and "Final digest" in wes[2][2]

    lucy = outbox("digest", "lucy@example.org")
    assert [subject_of(r).split("] ")[1] for r in lucy] == [
        "Weekly digest, subjects only, Sunday, 10/27/2019 (2 messages)",
        "Weekly digest, subjects only, Sunday, 11/3/2019 (7 messages)",
        "Final digest, subjects only, Tuesday, 11/5/2019 (3 messages)",
    ]
    assert timezones.to_zone(lucy[0].created_at, LONDON).utcoffset() == timedelta(hours=1)  # the first 1 AM

    pat = _local_sends("pat@example.org", NY)
    assert [(d, h) for d, h, _ in pat[:-1]] == [(date(2019, 10, 25) + timedelta(days=n), 18) for n in range(11)]
    assert "Final digest" in pat[-1][2]
    # once each: a second sweep over the same days sends nothing more
    before = len(outbox("digest"))
    run_hourly("digests", eastern(2019, 10, 25, 9, 5), eastern(2019, 11, 6, 9, 5), step=timedelta(hours=6))
    assert len(outbox("digest")) == before


def test_two_racing_runs_send_each_kind_once(app):
    event = make_forum(days=2)  # Tuesday 10 and Wednesday 11 September 2019
    _reader(event, "a@example.org", None)  # the forum's 6 PM Eastern
    _reader(event, "b@example.org", None, digest_style="subjects")
    _reader(event, "c@example.org", "America/Chicago", digest_hour=17)  # 5 PM Central = 6 PM Eastern
    _reader(event, "d@example.org", NY, digest_rhythm="weekly", digest_weekday=1, digest_hour=18)  # Tuesdays
    _reader(event, "e@example.org", "America/Chicago", digest_rhythm="weekly", digest_weekday=1, digest_hour=17,
            digest_style="subjects")
    add_post(event, eastern(2019, 9, 10, 11), "Hello")
    db.session.close()
    race_job(app, "digests", eastern(2019, 9, 10, 18, 5), runs=2)
    rows = outbox("digest")
    assert Counter(r.recipient for r in rows) == {f"{c}@example.org": 1 for c in "abcde"}
    runs = db.session.scalars(select(JobRun).where(JobRun.kind == "digest")).all()
    assert len(runs) == len({(r.target, r.period) for r in runs}) == 4  # forum's, Chicago 5 PM, two weekly


def test_bodies_are_stored_per_variant_not_per_reader(app):
    """30 readers in 3 zones and 2 styles, two of them muting a thread: 7 bodies, 30 copies."""
    event = make_forum(days=2)
    first = add_post(event, eastern(2019, 9, 10, 11), "Mentoring programs")
    add_post(event, eastern(2019, 9, 10, 12), "Reading lists")
    zones = [None, "America/Chicago", LONDON]
    subs = []
    for n in range(30):
        style = "subjects" if n % 2 else "full"
        subs.append(_reader(event, f"r{n}@example.org", zones[n % 3], digest_style=style))
    for sub in subs[:2]:  # r0 (full, forum zone) and r1 (subjects, Chicago) mute the first thread
        thread_choices.choose(sub, first.thread_id, "mute")
    db.session.commit()
    run_job("digests", at=eastern(2019, 9, 10, 18, 5))

    rows = outbox("digest")
    assert len(rows) == 30
    bodies = db.session.scalar(select(func.count(func.distinct(OutboundMessage.body_id))))
    assert bodies == 6 + 2  # (2 styles x 3 zones) + one per reader muting a thread (different variants)
    assert db.session.scalar(select(func.count(OutboundBody.id))) == bodies
    muted = text_of(outbox("digest", "r0@example.org")[0])
    assert "Reading lists" in muted and "Mentoring programs" not in muted
    assert "(1 message)" in subject_of(outbox("digest", "r0@example.org")[0])
    assert "Mentoring programs" in text_of(outbox("digest", "r2@example.org")[0])


def test_a_reader_who_left_every_thread_out_gets_no_empty_digest(app):
    event = make_forum(days=2)
    only = add_post(event, eastern(2019, 9, 10, 11), "The only thread")
    sub = _reader(event, "quiet@example.org", None)
    _reader(event, "loud@example.org", None)
    thread_choices.choose(sub, only.thread_id, "mute")
    db.session.commit()
    run_job("digests", at=eastern(2019, 9, 10, 18, 5))
    assert outbox("digest", "quiet@example.org") == []
    assert len(outbox("digest", "loud@example.org")) == 1


# --- changing one's choices mid-forum: no post twice, none skipped ---------------------------


def _subjects_received(email: str) -> Counter[str]:
    """How many times each post ("Post 01" ...) reached a reader, by digest or each-message mail."""
    seen: Counter[str] = Counter()
    for kind in ("digest", "post"):
        for row in outbox(kind, email):
            text = text_of(row)
            seen.update(f"Post {n:02d}" for n in range(1, 40) if f"Post {n:02d}" in text)
    return seen


def _posts_each_noon(event, first: date, days: int, start: int = 1) -> list[str]:  # type: ignore[no-untyped-def]
    subjects = []
    for n in range(days):
        day = first + timedelta(days=n)
        for hour, m in ((11, 0), (15, 1)):
            subject = f"Post {start + 2 * n + m:02d}"
            add_post(event, eastern(day.year, day.month, day.day, hour), subject)
            subjects.append(subject)
    return subjects


def test_daily_to_weekly_mid_forum_sends_no_post_twice(app):
    """Daily at the forum's 6 PM for four days, then weekly on Sundays at 9 AM: the first
    weekly digest starts where the last daily one ended, not a week back."""
    event = make_forum(first_day=date(2019, 10, 21), days=10)  # Mon 21 Oct .. Wed 30 Oct
    sub = _reader(event, "nina@example.org", NY)
    subjects = _posts_each_noon(event, date(2019, 10, 21), 10)
    run_hourly("digests", eastern(2019, 10, 21, 9, 5), eastern(2019, 10, 24, 19, 5))  # daily digests Mon..Thu
    assert len(outbox("digest", "nina@example.org")) == 4
    with clock.frozen(eastern(2019, 10, 24, 20)):
        set_delivery(sub, digest_rhythm="weekly", digest_weekday=6, digest_hour=9)
        db.session.commit()
    run_hourly("digests", eastern(2019, 10, 24, 20, 5), eastern(2019, 10, 31, 9, 5))
    seen = _subjects_received("nina@example.org")
    assert sorted(seen) == subjects and set(seen.values()) == {1}  # every post, each once
    weekly = outbox("digest", "nina@example.org")[4]
    assert "Weekly digest" in subject_of(weekly) and "(4 messages)" in subject_of(weekly)  # Friday and Saturday


def test_weekly_to_daily_mid_forum_skips_no_post(app):
    """Weekly on Sundays, then daily from Wednesday: the first daily digest brings the posts
    since Sunday's weekly one, which no daily period of its own covers."""
    event = make_forum(first_day=date(2019, 10, 25), days=8)  # Fri 25 Oct .. Fri 1 Nov
    sub = _reader(event, "wes@example.org", NY, digest_rhythm="weekly", digest_weekday=6, digest_hour=9)
    subjects = _posts_each_noon(event, date(2019, 10, 25), 8)
    run_hourly("digests", eastern(2019, 10, 25, 9, 5), eastern(2019, 10, 30, 12, 5))  # Sunday 27 Oct's weekly digest
    assert len(outbox("digest", "wes@example.org")) == 1
    with clock.frozen(eastern(2019, 10, 30, 12, 30)):
        set_delivery(sub, digest_rhythm="daily", digest_hour=8)
        db.session.commit()
    run_hourly("digests", eastern(2019, 10, 30, 12, 35), eastern(2019, 11, 2, 9, 5))
    seen = _subjects_received("wes@example.org")
    assert sorted(seen) == subjects and set(seen.values()) == {1}
    first_daily = outbox("digest", "wes@example.org")[1]
    # no burst of past daily digests at the change: the first is Thursday's, from Sunday on
    assert "10/31/2019 (8 messages)" in subject_of(first_daily)


def test_each_message_to_digest_starts_the_digest_at_the_switch(app):
    """A reader who had each message until Wednesday noon gets, in their first digest, only
    what came after; one who chose no mail likewise gets nothing from before they chose."""
    event = make_forum(first_day=date(2019, 10, 21), days=4)
    each = subscribe(event, "eve@example.org", mode="each", zone=NY)
    quiet = subscribe(event, "quinn@example.org", mode="none", zone=NY)
    db.session.commit()
    # posts on Monday and Tuesday at 11 and 15; Wednesday at 11 and 15
    _posts_each_noon(event, date(2019, 10, 21), 3)
    run_hourly("digests", eastern(2019, 10, 21, 9, 5), eastern(2019, 10, 23, 12, 5))
    with clock.frozen(eastern(2019, 10, 23, 12, 30)):
        set_delivery(each, mode="digest")
        set_delivery(quiet, mode="digest")
        db.session.commit()
    run_hourly("digests", eastern(2019, 10, 23, 12, 35), eastern(2019, 10, 23, 18, 35))
    assert [subject_of(r).split(" (")[1] for r in outbox("digest", "eve@example.org")] == ["1 message)"]
    assert "Post 06" in text_of(outbox("digest", "eve@example.org")[0])
    assert "Post 05" not in text_of(outbox("digest", "quinn@example.org")[0])


def test_readers_on_one_schedule_still_share_one_body_after_changes(app):
    """Marks that move with each digest keep steady readers on one stored body; only the one
    who changed rhythm gets a body of their own for the first digest after the change."""
    event = make_forum(first_day=date(2019, 10, 21), days=4)
    for n in range(5):
        _reader(event, f"r{n}@example.org", NY)
    mover = _reader(event, "mover@example.org", NY, digest_hour=12)  # noon, then the forum's 6 PM
    _posts_each_noon(event, date(2019, 10, 21), 4)
    run_hourly("digests", eastern(2019, 10, 21, 9, 5), eastern(2019, 10, 22, 12, 5))
    with clock.frozen(eastern(2019, 10, 22, 12, 30)):
        set_delivery(mover, digest_hour=None)
        db.session.commit()
    run_hourly("digests", eastern(2019, 10, 22, 12, 35), eastern(2019, 10, 23, 19, 5))
    tuesday = [r for r in outbox("digest") if "10/22/2019" in subject_of(r)]
    assert len(tuesday) == 7 and len({r.body_id for r in tuesday}) == 3  # noon's; 6 PM's for five and for the mover
    assert "(1 message)" in subject_of(outbox("digest", "mover@example.org")[-2])  # only Tuesday's 3 PM post
    wednesday = [r for r in outbox("digest") if "10/23/2019" in subject_of(r)]
    assert len(wednesday) == 6 and len({r.body_id for r in wednesday}) == 1
