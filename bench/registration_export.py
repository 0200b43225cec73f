"""Benchmark: the registrants' CSV export of 10,000 registrations with 10 answers each.

The export streams: registrations are read with `yield_per`, their answers fetched one
query per chunk of 500, and each chunk's CSV text handed on before the next is read. This
prints the time to the first chunk and to the end, and Python's peak allocation after the
first 2,000 rows and at the end (flat memory: the two stay close), plus CPU seconds.

    .venv/bin/python bench/registration_export.py                      # SQLite
    .venv/bin/python bench/registration_export.py --database-url postgresql://127.0.0.1:5432/test
    ... --no-trace                                                      # time without tracemalloc
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _support import bench_app, peak_rss_mb  # noqa: E402
from flask import Flask  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from forum.core import clock  # noqa: E402
from forum.core.extensions import db  # noqa: E402
from forum.models import Event, FormAnswer, Participant, Subscription, table_of  # noqa: E402
from forum.registration import questions  # noqa: E402
from forum.web.subscriptions.officer import export_rows  # noqa: E402

QUESTIONS = (
    {"kind": "short", "label": "Job title"},
    {"kind": "short", "label": "Employer"},
    {"kind": "short", "label": "Member number"},
    {"kind": "choice", "label": "Region", "choices": "North\nSouth\nEast\nWest"},
    {"kind": "choice", "label": "Library type", "choices": "Public\nAcademic\nSchool"},
    {"kind": "multi", "label": "Topics", "choices": "Cataloguing\nOutreach\nBudgets"},
    {"kind": "yesno", "label": "First time?"},
    {"kind": "number", "label": "Years"},
    {"kind": "country", "label": "Country"},
    {"kind": "long", "label": "Accommodation", "sensitive": True},
)


def fill(registrations: int) -> Event:
    """The event, its ten questions and every row, inserted in bulk (not what is measured)."""
    event = Event(slug="bench", title="Export benchmark", status="published")
    db.session.add(event)
    db.session.flush()
    form = questions.event_form(event, create=True)
    assert form is not None
    made = [questions.add_question(form, q) for q in QUESTIONS]
    db.session.commit()
    now = clock.now()
    values = [
        "Librarian",
        "=cmd|' /C calc'!A0",
        "M-123",
        "North",
        "Public",
        json.dumps(["Outreach"]),
        "Yes",
        "12",
        "CA",
        "Captions",
    ]
    for start in range(0, registrations, 2000):
        ids = range(start + 1, min(start + 2000, registrations) + 1)
        db.session.execute(
            insert(table_of(Participant)),
            [
                {
                    "id": i,
                    "email": f"p{i}@lib.example.org",
                    "email_key": f"p{i}@lib.example.org",
                    "name": f"Person {i}",
                    "feed_token": f"t{i}",
                    "created_at": now,
                    "updated_at": now,
                    "confirmed_at": now,
                }
                for i in ids
            ],
        )
        db.session.execute(
            insert(table_of(Subscription)),
            [
                {
                    "id": i,
                    "participant_id": i,
                    "event_id": event.id,
                    "status": "active",
                    "mode": "each",
                    "source": "web",
                    "conduct_url": "",
                    "hard_bounces": 0,
                    "posts_approved": 0,
                    "created_at": now,
                    "updated_at": now,
                }
                for i in ids
            ],
        )
        db.session.execute(
            insert(table_of(FormAnswer)),
            [
                {
                    "question_id": q.id,
                    "participant_id": i,
                    "subscription_id": i,
                    "value": v,
                    "answered_at": now,
                }
                for i in ids
                for q, v in zip(made, values, strict=True)
            ],
        )
    db.session.commit()
    return event


def run(app: Flask, registrations: int, trace: bool = True) -> None:
    with app.app_context():
        event_id = fill(registrations).id
        db.session.expunge_all()
        event = db.session.get(Event, event_id)
        assert event is not None
        with app.test_request_context():
            if trace:
                tracemalloc.start()
            cpu, started = time.process_time(), time.perf_counter()
            first = None
            early_peak = 0
            lines = size = 0
            for chunk in export_rows(event, include_sensitive=True):
                first = first or time.perf_counter() - started
                lines += chunk.count("\n")
                size += len(chunk)
                if trace and lines >= 2000 and not early_peak:
                    early_peak = tracemalloc.get_traced_memory()[1]
            wall, cpu_used = time.perf_counter() - started, time.process_time() - cpu
            peak = tracemalloc.get_traced_memory()[1] if trace else 0
            tracemalloc.stop()
        print(
            f"{db.engine.dialect.name}: {lines - 1:,} rows x {len(QUESTIONS)} answers, {size / 1e6:.1f} MB of CSV"
        )
        print(f"  first chunk after {first or 0:.3f} s, all in {wall:.2f} s wall, {cpu_used:.2f} s CPU")
        memory = (
            f"Python peak: {early_peak / 1e6:.1f} MB after 2,000 rows, {peak / 1e6:.1f} MB at the end; "
            if trace
            else ""
        )
        print(f"  {memory}process peak RSS {peak_rss_mb():.0f} MB; load average {os.getloadavg()[0]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="postgresql://... (default: a temporary SQLite file)")
    parser.add_argument("--registrations", type=int, default=10_000)
    parser.add_argument("--no-trace", action="store_true", help="no tracemalloc (it slows Python down)")
    args = parser.parse_args()
    with bench_app(args.database_url, "registration_export") as app:
        run(app, args.registrations, trace=not args.no_trace)


if __name__ == "__main__":
    main()
