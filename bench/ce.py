"""Benchmark: the continuing-education record of a large webinar series.

A series of 10 sessions with 2,000 registrants: how long the officer's upload of a
5,000-row Zoom report takes (and its re-import, which must change nothing), how long the
record (attendance, hours, completion) of everyone takes to compute (the attendance page,
the CSV export and the certificate sweep all start with it), and how long one certificate
PDF takes to draw, with its size.

    .venv/bin/python bench/ce.py                                        # SQLite
    .venv/bin/python bench/ce.py --database-url postgresql://127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _support import bench_app  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from forum.ce import attendance, certificates
from forum.ce.attendance_import import import_report  # noqa: E402
from forum.core import clock
from forum.core.extensions import db  # noqa: E402
from forum.events import service as events  # noqa: E402
from forum.models import Event, Participant, Session, Subscription, table_of  # noqa: E402

PEOPLE = 2_000
SESSIONS = 10


def zoom_report(people: int) -> bytes:
    """A Zoom participant report: every registrant, a quarter of them rejoining once, plus guests."""
    lines = ["Name (Original Name),User Email,Join Time,Leave Time,Duration (Minutes),Guest,In Waiting Room"]
    for i in range(people):
        lines.append(
            f"Person {i},person{i}@example.org,03/05/2030 01:00:00 PM,03/05/2030 02:00:00 PM,60,Yes,No"
        )
        if i % 4 == 0:
            lines.append(
                f"Person {i},Person{i}@Example.org,03/05/2030 02:05:00 PM,03/05/2030 02:30:00 PM,25,Yes,No"
            )
    lines += [f"Guest {i},guest{i}@elsewhere.example,,,30,Yes,No" for i in range(5_000 - len(lines) + 1)]
    return ("\n".join(lines) + "\n").encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with bench_app(args.database_url, "ce") as app, app.app_context():
        event = Event(
            slug="bench-ce",
            title="Cataloging Now",
            kind="series",
            status="published",
            timezone="America/Chicago",
        )
        db.session.add(event)
        for n in range(SESSIONS):
            session = Session(position=n)
            day = datetime(2030, 3, 5, 13) + timedelta(days=7 * n)
            events.set_session_times(session, day, day + timedelta(minutes=90), "America/Chicago")
            event.sessions.append(session)
        db.session.commit()
        now = clock.now()
        db.session.execute(
            insert(table_of(Participant)),
            [
                {
                    "email": f"person{i}@example.org",
                    "email_key": f"person{i}@example.org",
                    "name": f"Person {i}",
                    "feed_token": f"t{i}",
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(PEOPLE)
            ],
        )
        ids = dict(db.session.query(Participant.email_key, Participant.id).all())
        db.session.execute(
            insert(table_of(Subscription)),
            [
                {
                    "participant_id": ids[f"person{i}@example.org"],
                    "event_id": event.id,
                    "status": "active",
                    "mode": "each",
                    "source": "import",
                    "confirmed_at": now - timedelta(days=400),
                    "created_at": now,
                    "updated_at": now,
                    "hard_bounces": 0,
                    "posts_approved": 0,
                    "conduct_url": "",
                }
                for i in range(PEOPLE)
            ],
        )
        db.session.commit()
        data = zoom_report(PEOPLE)
        rows = data.count(b"\n") - 1
        for n, session in enumerate(event.active_sessions):
            started = time.perf_counter()
            report = import_report(session, data)
            db.session.commit()
            took = time.perf_counter() - started
            if n == 0:
                print(
                    f"import {rows} rows ({report.layout}): {took:.2f} s, {report.added} rows added, "
                    f"{len(report.unmatched)} unmatched"
                )
        started = time.perf_counter()
        again = import_report(event.active_sessions[0], data)
        db.session.commit()
        print(
            f"re-import of the same file: {time.perf_counter() - started:.2f} s, "
            f"{again.added} added, {again.updated} updated, {again.unchanged} unchanged"
        )
        started = time.perf_counter()
        recs = attendance.records(event)
        print(
            f"record of {len(recs)} registrants x {SESSIONS} sessions: {time.perf_counter() - started:.2f} s, "
            f"{sum(r.completed for r in recs)} completed"
        )
        sub = recs[0].subscription
        with clock.frozen(event.ends_at + timedelta(hours=1)):
            cert = certificates.issue(sub)
        started = time.perf_counter()
        pdf = certificates.render_pdf(cert)
        print(
            f"certificate PDF ({SESSIONS} sessions listed): {(time.perf_counter() - started) * 1000:.0f} ms, "
            f"{len(pdf) // 1024} KiB"
        )


if __name__ == "__main__":
    main()
