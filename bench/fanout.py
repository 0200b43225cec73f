"""Fan-out benchmark: one ~5 KB post to N subscribers through the outbox sender.

Queues the post for N subscribers (compose.list_messages + enqueue_many; --one-by-one:
list_message per copy, the old path), sends it to a local
Postfix `smtp-sink`, then, in the same run and against the same sink, times Postfix's
own `smtp-source -d` (one connection, reused) sending N messages of the same size.
Prints both rates, their ratio, and the sender's memory (RSS sampled while sending,
and peak RSS).

    .venv/bin/python bench/fanout.py [--n 10000] [--database-url postgresql://...]

Needs Debian's postfix package (smtp-sink, smtp-source): apt-get install -y postfix.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from flask import Flask

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _support import LIST_DOMAIN, bench_app, peak_rss_mb  # noqa: E402
from jinja2 import ChoiceLoader, DictLoader  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402
from sqlalchemy.orm import joinedload  # noqa: E402

from forum.extensions import db  # noqa: E402
from forum.mail.compose import list_message, list_messages  # noqa: E402
from forum.mail.outbox import Outgoing, enqueue_many  # noqa: E402
from forum.mail.sender import send_due  # noqa: E402
from forum.models import Event, Participant, Session, Subscription  # noqa: E402

PARAGRAPH = (
    "Mentoring in technical services often happens one conversation at a time: a cataloger "
    "shows a new colleague how authority work fits the rest of the department, an acquisitions "
    "librarian explains how a budget year really runs. "
)
BODY = (PARAGRAPH * 40)[:4800]  # the post's text: with headers, about 5 KB on the wire
TEMPLATES = {"mail/bench_post.txt": "{{ body }}\n\n--\nLeave this list: {{ unsubscribe_url }}\n"}


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_sink(port: int) -> subprocess.Popen[bytes]:
    sink = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
    proc = subprocess.Popen([sink, "-u", "nobody", f"127.0.0.1:{port}", "1000"])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("smtp-sink did not start (apt-get install -y postfix)")


def make_event(n: int) -> Event:
    event = Event(slug="bench", title="Mentoring in Technical Services", status="published")
    session = Session(event=event)
    session.set_times(datetime(2030, 9, 10, 10), datetime(2030, 9, 11, 18), "America/New_York")
    db.session.add_all([event, session])
    db.session.flush()
    for start in range(0, n, 5000):
        rows = [
            {"email": f"p{i}@example.org", "email_key": f"p{i}@example.org", "name": f"Person {i}"}
            for i in range(start, min(n, start + 5000))
        ]
        db.session.execute(insert(Participant), rows)
    ids = db.session.scalars(select(Participant.id)).all()
    for start in range(0, len(ids), 5000):
        db.session.execute(
            insert(Subscription),
            [
                {"participant_id": p, "event_id": event.id, "status": "active"}
                for p in ids[start : start + 5000]
            ],
        )
    db.session.commit()
    return event


def queue_post(event: Event, one_by_one: bool = False) -> int:
    """Queue the post for every subscriber: `list_messages` (body encoded once), or the old way."""
    subs = db.session.scalars(
        select(Subscription)
        .where(Subscription.event_id == event.id)
        .options(joinedload(Subscription.participant))
        .execution_options(yield_per=500)
    )

    def bulk():  # type: ignore[no-untyped-def]
        for copy in list_messages(
            event=event,
            subscriptions=subs,
            subject="How did you find your first mentor?",
            template="bench_post",
            context={"body": BODY},
            author_name="Jeannette Ho",
            author_email="jho@example.edu",
            message_id="<post-1@lists.bench.test>",
        ):
            sub = copy.subscription
            yield Outgoing(
                copy.data,
                key=f"post:1:{sub.id}",
                event_id=event.id,
                subscription_id=sub.id,
                envelope_from=copy.envelope_from,
                recipient=copy.recipient,
            )

    def copies():  # type: ignore[no-untyped-def]
        for sub in subs:
            msg = list_message(
                event=event,
                subscription=sub,
                subject="How did you find your first mentor?",
                template="bench_post",
                context={"body": BODY},
                author_name="Jeannette Ho",
                author_email="jho@example.edu",
                message_id="<post-1@lists.bench.test>",
            )
            yield Outgoing(msg, key=f"post:1:{sub.id}", event_id=event.id, subscription_id=sub.id)

    count = enqueue_many(copies() if one_by_one else bulk(), kind="post")
    db.session.commit()
    return count


def run_ours(n: int, port: int, database_url: str | None, one_by_one: bool = False) -> dict[str, float]:
    with bench_app(database_url, "fanout", MAIL_URL=f"smtp://127.0.0.1:{port}?starttls=off") as app:
        app.jinja_env.loader = ChoiceLoader([DictLoader(TEMPLATES), app.jinja_env.loader])
        return send_post(app, n, one_by_one)


def send_post(app: Flask, n: int, one_by_one: bool) -> dict[str, float]:
    with app.app_context():
        event = make_event(n)
        t0 = time.perf_counter()
        queued = queue_post(event, one_by_one)
        queue_s = time.perf_counter() - t0
        size = len(db.session.execute(text_first_message()).scalar_one())
        db.session.remove()
        samples: list[float] = []
        done = 0

        def progress(k: int) -> None:
            nonlocal done
            done += k
            if done % 1000 < k:
                samples.append(rss_mb())

        rss_before = rss_mb()
        t0 = time.perf_counter()
        report = send_due(progress=progress, batch_size=500)
        send_s = time.perf_counter() - t0
        if report.sent != n:
            raise SystemExit(f"sender delivered {report} of {n}")
    return {
        "queued": queued,
        "queue_s": queue_s,
        "send_s": send_s,
        "size": size,
        "rss_before": rss_before,
        "rss_min": min(samples or [rss_before]),
        "rss_max": max(samples or [rss_before]),
        "peak_rss": peak_rss_mb(),
    }


def text_first_message():  # type: ignore[no-untyped-def]
    from forum.models import OutboundMessage

    return select(OutboundMessage.message).order_by(OutboundMessage.id).limit(1)


def run_smtp_source(n: int, port: int, size: int) -> float:
    source = shutil.which("smtp-source") or "/usr/sbin/smtp-source"
    args = [source, "-d", "-s", "1", "-m", str(n), "-l", str(size), "-f", f"bench@{LIST_DOMAIN}"]
    args += ["-t", "p0@example.org", f"127.0.0.1:{port}"]
    t0 = time.perf_counter()
    subprocess.run(args, check=True)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="subscribers (messages)")
    parser.add_argument("--database-url", help="postgresql://... (default: a fresh SQLite file)")
    parser.add_argument(
        "--one-by-one", action="store_true", help="queue with list_message per copy (the old path)"
    )
    args = parser.parse_args()
    port = free_port()
    sink = start_sink(port)
    try:
        # smtp-source runs before and after ours and the faster run counts: on a shared
        # machine the ratio is then, if anything, against us.
        before_s = run_smtp_source(args.n, port, 6000)
        ours = run_ours(args.n, port, args.database_url, args.one_by_one)
        after_s = run_smtp_source(args.n, port, int(ours["size"]))
    finally:
        sink.terminate()
        sink.wait()
    theirs_s = min(before_s, after_s)
    ours_rate = args.n / ours["send_s"]
    theirs_rate = args.n / theirs_s
    backend = "postgresql" if args.database_url else "sqlite"
    print(
        f"messages: {args.n}, ~{ours['size'] / 1024:.1f} KB each, database: {backend}, "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    how = "list_message each" if args.one_by_one else "list_messages"
    print(f"queue ({how} + enqueue_many): {ours['queue_s']:.2f} s, {args.n / ours['queue_s']:,.0f} msg/s")
    print(f"forum sender:        {ours['send_s']:.2f} s, {ours_rate:,.0f} msg/s")
    print(
        f"smtp-source -d:      {theirs_s:.2f} s, {theirs_rate:,.0f} msg/s "
        f"(runs: {args.n / before_s:,.0f} and {args.n / after_s:,.0f} msg/s)"
    )
    print(f"ratio (ours/theirs): {ours_rate / theirs_rate:.2f}  (target >= 0.50)")
    print(
        f"sender RSS: {ours['rss_before']:.0f} MB before, {ours['rss_min']:.0f}-{ours['rss_max']:.0f} MB "
        f"while sending; process peak {ours['peak_rss']:.0f} MB"
    )


if __name__ == "__main__":
    main()
