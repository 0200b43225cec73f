"""Benchmark: import 50,000 generated CSV rows into SQLite and PostgreSQL.

Prints rows/s and memory at 10k / 25k / 50k rows, to show that memory stays flat as
the file grows (the import streams the file and inserts in batches).

    .venv/bin/python bench/import_subscribers.py                      # SQLite
    .venv/bin/python bench/import_subscribers.py --database-url postgresql://127.0.0.1:5432/test
    .venv/bin/python bench/import_subscribers.py --pending           # also queue 50k confirmation mails

PostgreSQL runs in a private schema that is dropped afterwards. Memory is the peak
of Python allocations (tracemalloc) since the import started, and the process's peak
RSS; tracemalloc slows Python down, so `--no-trace` gives the faster rows/s.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _support import bench_app, peak_rss_mb  # noqa: E402
from flask import Flask  # noqa: E402

from forum.core.extensions import db  # noqa: E402
from forum.models import Event  # noqa: E402
from forum.subscriptions.csv_import import ImportReport, import_rows  # noqa: E402

CHECKPOINTS = (10_000, 25_000, 50_000)


def write_csv(path: Path, rows: int) -> None:
    """Generated registrants, written line by line (never held in memory)."""
    rng = random.Random(42)
    modes = ("each", "digest", "none", "")
    with path.open("w", encoding="utf-8") as out:
        out.write("email,name,mode\n")
        for i in range(rows):
            out.write(f"person{i}@library{i % 97}.example.org,Person {i},{rng.choice(modes)}\n")


def run(app: Flask, csv_path: Path, pending: bool, trace: bool) -> None:
    with app.app_context():
        event = Event(slug="bench", title="Import benchmark", status="published")
        db.session.add(event)
        db.session.commit()
        marks: list[tuple[int, float, float, float]] = []
        if trace:
            tracemalloc.start()
        started = time.perf_counter()

        def on_batch(report: ImportReport) -> None:
            if marks and report.rows <= marks[-1][0]:
                return
            if report.rows in CHECKPOINTS:
                peak = tracemalloc.get_traced_memory()[1] / 2**20 if trace else float("nan")
                rss = peak_rss_mb()
                marks.append((report.rows, time.perf_counter() - started, peak, rss))

        with csv_path.open(encoding="utf-8", newline="") as lines:
            report = import_rows(event, lines, confirmed=not pending, batch_size=1000, on_batch=on_batch)
        if trace:
            tracemalloc.stop()
        name = db.engine.dialect.name
        print(f"\n{name}: {report.summary}{' (with confirmation mails)' if pending else ''}")
        print(f"{'rows':>8} {'seconds':>8} {'rows/s':>8} {'py peak MiB':>12} {'RSS peak MiB':>13}")
        for rows, seconds, peak, rss in marks:
            print(f"{rows:>8} {seconds:>8.1f} {rows / seconds:>8.0f} {peak:>12.1f} {rss:>13.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", help="also run on this PostgreSQL database (private schema)")
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument(
        "--pending", action="store_true", help="unconfirmed import: queue a confirmation per row"
    )
    parser.add_argument("--no-trace", dest="trace", action="store_false", help="skip tracemalloc (faster)")
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "people.csv"
        write_csv(csv_path, args.rows)
        print(f"{args.rows} rows, {csv_path.stat().st_size / 2**20:.1f} MiB of CSV")
        urls = ([None] if not args.skip_sqlite else []) + ([args.database_url] if args.database_url else [])
        for url in urls:
            with bench_app(url, "import") as app:
                run(app, csv_path, args.pending, args.trace)


if __name__ == "__main__":
    main()
