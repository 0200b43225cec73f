"""Time archive search at 100,000 posts (not a test).

    .venv/bin/python bench/search.py [--posts 100000] [--repeat 40] [--database-url postgresql://...]

Fills one e-forum's archive (a throw-away SQLite file, or a private schema of the given
PostgreSQL database, dropped afterwards) with generated posts, through the same triggers
the app's inserts fire (FTS5 / the tsvector column), ANALYZEs the post table (as autovacuum
would on a live database), then runs each kind of reader query `--repeat` times through
`forum.discussion.search.search`: a common word, a rare word, a stemmed word, a quoted
phrase, a phrase of two common words, an exclusion, the author filter alone, with a word
and with a rare word, and a date window. Per kind: p50/p95 wall, CPU ms per query of this
process and (PostgreSQL on this machine) of the server backend, read from /proc, and on
PostgreSQL the server's own execution time of one such search (each statement it sent,
re-run under EXPLAIN (ANALYZE, BUFFERS); `--plans` prints them). The machine is shared:
the load average is printed at the start and the end, and CPU per query is the figure a
loaded machine does not inflate.

The search ranks only the newest `CANDIDATES` matches (forum/discussion/search.py), so the
words the queries use, the most frequent of the vocabulary, cost no more than rare ones.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from _support import bench_app  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.event import listen, remove  # noqa: E402

from forum.core.extensions import db  # noqa: E402
from forum.discussion.search import search  # noqa: E402
from forum.models import Event, Post  # noqa: E402

WORDS = [
    "library",
    "mentoring",
    "cataloging",
    "catalogs",
    "metadata",
    "archive",
    "patron",
    "reference",
    "outreach",
    "budget",
    "collection",
    "digital",
    "preservation",
    "training",
    "staff",
    "workshop",
    "program",
    "community",
    "literacy",
    "students",
    "faculty",
    "research",
    "database",
    "license",
    "vendor",
    "consortium",
    "rural",
    "public",
    "academic",
    "school",
    "special",
    "board",
    "policy",
    "grant",
    "assessment",
    "survey",
    "volunteer",
    "children",
    "teen",
    "adult",
    "access",
    "services",
    "systems",
    "migration",
    "backlog",
    "authority",
    "records",
    "subject",
    "headings",
    "review",
]
NAMES = [
    f"{first} {last}"
    for first in ("Ann", "Bob", "Carla", "Dev", "Eun")
    for last in ("Reed", "Park", "Ng", "Ortiz")
]
START = datetime(2030, 1, 1, tzinfo=UTC)
#: A Zipf-shaped vocabulary, as real text has: the words above are the frequent head (the
#: queries use them: the worst case), then 5,000 rarer made-up words.
VOCABULARY = WORDS + [f"term{n}" for n in range(5000)]
WEIGHTS = [1 / (rank + 1) for rank in range(len(VOCABULARY))]


def _seed(count: int, rng: random.Random) -> Event:
    event = Event(slug="big", title="Big forum", kind="eforum", timezone="America/New_York")
    db.session.add(event)
    db.session.commit()
    batch: list[dict[str, object]] = []
    for n in range(count):
        when = START + timedelta(minutes=5 * n)
        body = " ".join(rng.choices(VOCABULARY, WEIGHTS, k=rng.randint(40, 160)))
        batch.append(
            {
                "event_id": event.id,
                "message_id": f"<{n}@bench.test>",
                "subject": " ".join(rng.choice(WORDS) for _ in range(4)),
                "author_name": NAMES[n % len(NAMES)],
                "author_email": f"a{n % len(NAMES)}@bench.test",
                "body_text": body,
                "body_html": f"<p>{body}</p>",
                "status": "accepted",
                "created_at": when,
                "accepted_at": when,
                "references": "",
            }
        )
        if len(batch) == 5000:
            db.session.execute(Post.__table__.insert(), batch)
            db.session.commit()
            batch = []
    if batch:
        db.session.execute(Post.__table__.insert(), batch)
        db.session.commit()
    db.session.execute(
        text("ANALYZE post")
    )  # fresh statistics, as autovacuum would (this table: a bare ANALYZE visits every schema)
    db.session.commit()
    return event


def _pct(times: list[float], q: float) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _server_cpu() -> float | None:
    """CPU seconds of this connection's PostgreSQL backend so far (None: not readable here)."""
    if db.engine.dialect.name != "postgresql":
        return None
    pid = db.session.scalar(text("SELECT pg_backend_pid()"))
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _client_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _explained(run: Callable[[], object], show: bool) -> str:
    """Server execution of one search: every SELECT it sent, re-run under EXPLAIN (ANALYZE,
    BUFFERS) with the same parameters; the summed execution and planning ms and buffers.
    Wall time on a loaded machine mostly measures waiting for a CPU; this does not."""
    if db.engine.dialect.name != "postgresql":
        return ""
    sent: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            sent.append((statement, parameters))

    listen(db.engine, "before_cursor_execute", record)
    try:
        run()
    finally:
        remove(db.engine, "before_cursor_execute", record)
    execution = planning = 0.0
    buffers = 0
    raw = db.session.connection().connection.dbapi_connection
    assert raw is not None
    for statement, parameters in sent:
        with raw.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, parameters)
            [[plan]] = cursor.fetchone()
            execution += plan["Execution Time"]
            planning += plan["Planning Time"]
            buffers += plan["Plan"].get("Shared Hit Blocks", 0) + plan["Plan"].get("Shared Read Blocks", 0)
            if show:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
                print("\n".join(row[0] for row in cursor.fetchall()))
    return f"  server exec {execution:6.1f} ms + plan {planning:4.1f} ms, {buffers} buffers"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--plans", action="store_true", help="print each kind's EXPLAIN ANALYZE plans")
    args = parser.parse_args()
    rng = random.Random(24)
    with bench_app(args.database_url or None, "search") as app, app.app_context():
        print(f"load average at start: {_load()}")
        t0 = time.perf_counter()
        event = _seed(args.posts, rng)
        print(
            f"{args.posts} posts stored and indexed in {time.perf_counter() - t0:.1f} s ({db.engine.dialect.name})"
        )
        mid = START + timedelta(minutes=5 * args.posts // 2)
        common = WORDS[:6]  # the head of the Zipf vocabulary: each in most posts

        def person() -> str:
            return rng.choice(NAMES).split()[rng.randint(0, 1)]

        kinds: dict[str, Callable[[], object]] = {
            "common word": lambda: search(event, rng.choice(common)),
            "rare word": lambda: search(event, f"term{rng.randint(1000, 4999)}"),
            "stemmed word": lambda: search(event, rng.choice(WORDS) + "ing"),
            "phrase": lambda: search(event, f'"{rng.choice(WORDS)} {rng.choice(WORDS)}"'),
            "common phrase": lambda: search(event, '"{} {}"'.format(*rng.sample(common, 2))),
            "exclusion": lambda: search(event, f"{rng.choice(WORDS)} -{rng.choice(WORDS)}"),
            "author filter": lambda: search(event, "", author=person()),
            "author+word": lambda: search(event, rng.choice(WORDS), author=person()),
            "author+rare": lambda: search(event, f"term{rng.randint(100, 999)}", author=person()),
            "date filter": lambda: search(event, rng.choice(WORDS), since=mid, until=mid + timedelta(days=7)),
        }
        search(event, "library")  # warm caches
        all_times: list[float] = []
        client_total = server_total = 0.0
        for label, run in kinds.items():
            times = []
            client0, server0 = _client_cpu(), _server_cpu()
            for _ in range(args.repeat):
                start = time.perf_counter()
                run()
                times.append((time.perf_counter() - start) * 1000)
            client, server1 = _client_cpu() - client0, _server_cpu()
            server = server1 - server0 if server0 is not None and server1 is not None else None
            client_total += client
            server_total += server or 0.0
            all_times += times
            cpu = f"CPU/query client {1000 * client / args.repeat:5.1f} ms" + (
                f" server {1000 * server / args.repeat:5.1f} ms" if server is not None else ""
            )
            print(
                f"{label:>14}: p50 {statistics.median(times):7.1f} ms  p95 {_pct(times, 0.95):7.1f} ms  {cpu}"
                + _explained(run, args.plans)
            )
        count = len(all_times)
        server_part = (
            f", server backend {1000 * server_total / count:.1f} ms"
            if db.engine.dialect.name == "postgresql"
            else ""
        )
        print(
            f"{'all':>14}: p50 {statistics.median(all_times):7.1f} ms  p95 {_pct(all_times, 0.95):7.1f} ms  "
            f"over {count} queries; CPU per query: this process {1000 * client_total / count:.1f} ms{server_part}; "
            f"load average {_load()} ({os.cpu_count()} CPUs)"
        )


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    main()
