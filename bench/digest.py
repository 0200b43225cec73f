"""Digest benchmark: build and enqueue one day's digest (200 posts) for 10,000 digest subscribers.

    .venv/bin/python bench/digest.py [--subscribers 10000] [--posts 200] [--mix] [--database-url postgresql://...]

Builds, in a throw-away SQLite file (or a fresh schema of the given PostgreSQL
database), a two-day e-forum with N digest subscribers spread over five time zones
and a day of accepted posts, then times the scheduler's digest job for that day
(selection, per-zone rendering, one message per subscriber, bulk enqueue, commit).
Prints the job's time, the outbox's size in bytes (shared bodies + per-recipient parts),
and peak memory (RSS).

With --mix the readers take every kind of digest: the forum's own daily one, daily at
8 AM in their own zone, weekly on Wednesday at 7 AM in their own zone, each in full or
subjects only, and one in a hundred muting a thread. The scheduler's job then runs every
hour over both days (as it would), and the run prints the bodies stored against the
copies queued: one body per variant (kind, zone, threads left out) and period, not per
reader; CPU seconds per 1,000 copies and the machine's load average.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _support import bench_app, peak_rss_mb  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402

from forum.core import clock  # noqa: E402
from forum.core.extensions import db  # noqa: E402
from forum.core.text import markdown  # noqa: E402
from forum.core.timezones import localize  # noqa: E402
from forum.models import (  # noqa: E402
    Event,
    JobRun,
    OutboundBody,
    OutboundMessage,
    Participant,
    Post,
    Session,
    Subscription,
    Thread,
    ThreadChoice,
)
from forum.scheduling.jobs import run_job  # noqa: E402

ZONES = [None, "America/Chicago", "America/Denver", "America/Los_Angeles", "Europe/London"]
BODY = (
    "At my library, mentoring in technical services happened mostly one conversation at a "
    "time: a cataloger showing a new colleague how authority work fits the rest of the "
    "department, or an acquisitions librarian explaining how a budget year really runs.\n\n"
    "What worked for us was pairing people across units, with a standing monthly meeting."
)


#: --mix: (digest_rhythm, digest_hour, digest_weekday) by reader number mod 10, styles alternating.
MIX = [
    ("daily", None, 0),  # the forum's own: 6 PM Eastern
    ("daily", None, 0),
    ("daily", None, 0),
    ("daily", None, 0),
    ("daily", 8, 0),  # 8 AM in the reader's own zone
    ("daily", 8, 0),
    ("daily", 8, 0),
    ("weekly", 7, 2),  # Wednesdays, 7 AM in the reader's own zone
    ("weekly", 7, 2),
    ("weekly", 7, 2),
]


def build(subscribers: int, posts: int, mix: bool = False) -> Event:
    zone = "America/New_York"
    event = Event(slug="bench", kind="eforum", title="Mentoring in Technical Services", status="published")
    for n, day in enumerate((date(2019, 9, 10), date(2019, 9, 11))):
        session = Session(event=event, position=n)
        session.set_times(
            datetime(day.year, day.month, day.day, 10), datetime(day.year, day.month, day.day, 18), zone
        )
    db.session.add(event)
    db.session.commit()
    db.session.execute(
        insert(Participant),
        [
            {
                "email": f"reader{n}@example.org",
                "email_key": f"reader{n}@example.org",
                "name": f"Reader {n}",
                "timezone": ZONES[n % len(ZONES)],
                "feed_token": uuid.uuid4().hex,
            }
            for n in range(subscribers)
        ],
    )
    ids = db.session.scalars(select(Participant.id).order_by(Participant.id)).all()
    db.session.execute(
        insert(Subscription),
        [
            {
                "participant_id": pid,
                "event_id": event.id,
                "mode": "digest",
                "status": "active",
                **(_choices(n) if mix else {}),
            }
            for n, pid in enumerate(ids)
        ],
    )
    start = localize(datetime(2019, 9, 10, 10), zone).instant
    html = str(markdown(BODY))
    for n in range(posts):
        at = start + timedelta(seconds=n * 140)
        thread = Thread(event=event, subject=f"Topic {n // 4}", subject_key=f"topic {n // 4}", created_at=at)
        db.session.add(
            Post(
                event=event,
                thread=thread,
                message_id=f"<bench{n}@example.org>",
                subject=f"Re: Topic {n // 4}",
                author_name=f"Author {n % 37}",
                author_email=f"author{n % 37}@example.org",
                author_role="panelist" if n % 10 == 0 else "participant",
                is_panelist=n % 10 == 0,
                body_text=BODY,
                body_html=html,
                status="accepted",
                created_at=at,
                accepted_at=at,
            )
        )
    db.session.commit()
    if mix:  # one reader in a hundred mutes the first thread
        first = db.session.scalar(select(Thread.id).where(Thread.event_id == event.id).order_by(Thread.id).limit(1))
        subs = db.session.scalars(select(Subscription.id).where(Subscription.event_id == event.id)).all()
        db.session.execute(
            insert(ThreadChoice),
            [{"subscription_id": sid, "thread_id": first, "choice": "mute"} for sid in subs[::100]],
        )
        db.session.commit()
    return event


def _choices(n: int) -> dict[str, object]:
    rhythm, hour, weekday = MIX[n % len(MIX)]
    style = "subjects" if (n // len(MIX)) % 2 else "full"
    return {"digest_rhythm": rhythm, "digest_hour": hour, "digest_weekday": weekday, "digest_style": style}


def run_mix(args: argparse.Namespace) -> None:
    """Every hour of both days, as the scheduler would; bodies stored against copies queued."""
    start = localize(datetime(2019, 9, 10, 9, 5), "America/New_York").instant
    cpu, wall, runs = time.process_time(), time.perf_counter(), 0
    at = start
    while at <= start + timedelta(days=2, hours=2):
        with clock.frozen(at):
            report = run_job("digests", at=at)
        runs += 1
        for line in report.lines:
            print(f"  {at:%a %H:%M} UTC  {line}")
        at += timedelta(hours=1)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    copies = db.session.scalar(select(func.count(OutboundMessage.id))) or 0
    bodies, shared = db.session.execute(
        select(func.count(OutboundBody.id), func.sum(func.length(OutboundBody.data)))
    ).one()
    own = db.session.scalar(select(func.sum(func.length(OutboundMessage.message)))) or 0
    first = db.session.scalars(select(OutboundMessage).order_by(OutboundMessage.id).limit(1)).one()
    size = len(first.full_message or b"")
    digests = db.session.scalars(select(JobRun).where(JobRun.kind == "digest", JobRun.recipients > 0)).all()
    print(f"backend: {db.engine.dialect.name}")
    print(f"job runs: {runs} hourly sweeps; digests sent: {len(digests)} (schedule x period)")
    print(f"copies queued: {copies:,} to {args.subscribers:,} readers")
    print(f"bodies stored: {bodies} (one per variant: kind, zone, threads left out; per period), "
          f"{int(shared or 0):,} bytes; readers' own parts {int(own):,} bytes; "
          f"as whole copies {size * copies:,} bytes")
    print(f"time: {wall:.1f}s wall, {cpu:.1f}s CPU  ->  {1000 * cpu / max(copies, 1):.2f} CPU s per 1,000 copies")
    print(f"peak RSS: {peak_rss_mb():.0f} MB; load average at the end: "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs)")
    assert bodies * 10 < copies, "bodies are stored per variant, not per reader"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--mix", action="store_true", help="every kind of digest, the job run hourly over both days")
    args = parser.parse_args()

    with bench_app(args.database_url or None, "digest", TESTING=True) as app, app.app_context():
        t = time.perf_counter()
        build(args.subscribers, args.posts, args.mix)
        print(f"set-up: {args.subscribers} subscribers, {args.posts} posts in {time.perf_counter() - t:.1f}s")
        if args.mix:
            run_mix(args)
            return
        base_rss = peak_rss_mb()
        at = localize(datetime(2019, 9, 10, 18, 1), "America/New_York").instant
        t = time.perf_counter()
        report = run_job("digests", at=at)
        elapsed = time.perf_counter() - t
        count, own = db.session.execute(
            select(func.count(OutboundMessage.id), func.sum(func.length(OutboundMessage.message)))
        ).one()
        bodies, shared = db.session.execute(
            select(func.count(OutboundBody.id), func.sum(func.length(OutboundBody.data)))
        ).one()
        first = db.session.scalars(select(OutboundMessage).order_by(OutboundMessage.id).limit(1)).one()
        size = len(first.full_message or b"")
        assert report.messages == count == args.subscribers, (report.messages, count)
        print(f"backend: {db.engine.dialect.name}")
        print(f"digest: {count} messages, {size / 1024:.0f} KB each as sent")
        print(f"time: {elapsed:.1f}s  ->  {count / elapsed:.0f} messages/s  (target < 5 s on PostgreSQL)")
        stored = int(own or 0) + int(shared or 0)
        print(
            f"outbox: {stored:,} bytes = {bodies} shared bodies ({int(shared or 0):,}) + "
            f"{count} recipients' own parts ({int(own or 0):,}); as whole copies: {size * count:,}"
        )
        print(f"peak RSS: {peak_rss_mb():.0f} MB (after set-up: {base_rss:.0f} MB)")


if __name__ == "__main__":
    main()
