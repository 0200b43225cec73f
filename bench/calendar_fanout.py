"""Calendar fan-out benchmark: cancel (or reschedule) one session of a webinar series
with N registrants, and write every registrant's copy as the sender does.

Reports, for SQLite and PostgreSQL: the officer's change (the session plus one fan-out
record: what the request waits for), the time the sender side takes to write the N
copies, in how many committed steps and the longest step (a sender run stops starting
steps after 10 s), and the outbox bytes stored (rows' own bytes plus shared bodies).
Registrants read the mail in one of four zones, as a real series' do; the session has
an online room, so every copy carries its own join link.

    .venv/bin/python bench/calendar_fanout.py [--registrants 10000] [--kind cancel|update]
        [--backends sqlite,postgresql] [--database-url postgresql://...] [--languages en,fr,es]

`--languages` gives the registrants those languages in turn (default: all English): each
language's copies carry the calendar and the mail in it (one serialised calendar per language).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _support import bench_app, peak_rss_mb  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402

from forum.common import fanout  # noqa: E402
from forum.core import clock
from forum.core.extensions import db  # noqa: E402
from forum.events import service as events
from forum.models import Event, OutboundMessage, Participant, Session, Subscription  # noqa: E402

ZONES = [None, "Europe/London", "America/Los_Angeles", "Asia/Kolkata"]


def make_series(n: int, languages: list[str | None]) -> Session:
    event = Event(
        slug="bench-series",
        kind="series",
        title="Cataloging Webinar Series",
        status="published",
        timezone="America/New_York",
        summary="Six sessions on cataloging practice for small and medium libraries.",
    )
    session = Session(event=event, title="Authority work", join_url="https://meet.example.org/j/123456")
    session.set_times(datetime(2030, 3, 4, 14), datetime(2030, 3, 4, 15), "America/New_York")
    db.session.add_all([event, session])
    db.session.flush()
    for start in range(0, n, 5000):
        rows = [
            {
                "email": f"p{i}@example.org",
                "email_key": f"p{i}@example.org",
                "name": f"Person {i}",
                "timezone": ZONES[i % len(ZONES)],
                "language": languages[i % len(languages)],
            }
            for i in range(start, min(n, start + 5000))
        ]
        db.session.execute(insert(Participant), rows)
    ids = db.session.scalars(select(Participant.id).order_by(Participant.id)).all()
    for start in range(0, len(ids), 5000):
        db.session.execute(
            insert(Subscription),
            [
                {"participant_id": p, "event_id": event.id, "status": "active", "mode": "each"}
                for p in ids[start : start + 5000]
            ],
        )
    db.session.commit()
    return session


def outbox_bytes() -> tuple[int, int]:
    """(rows' own bytes, shared bodies' bytes); the bodies table may not exist (older code)."""
    rows = db.session.scalar(select(func.sum(func.length(OutboundMessage.message)))) or 0
    try:
        from forum.models import OutboundBody
    except ImportError:
        return int(rows), 0
    bodies = db.session.scalar(select(func.sum(func.length(OutboundBody.data)))) or 0
    return int(rows), int(bodies)


def run(n: int, kind: str, database_url: str | None, languages: list[str | None]) -> dict[str, float]:
    with bench_app(database_url, "calendar_fanout") as app, app.app_context():
        session = make_series(n, languages)
        steps: list[float] = []
        for name in ("calendar-update", "calendar-cancel"):
            expander = fanout.EXPANDERS[name]

            def timed(fan, expander=expander):  # type: ignore[no-untyped-def]
                t0 = time.perf_counter()
                try:
                    return expander(fan)
                finally:
                    steps.append(time.perf_counter() - t0)

            fanout.EXPANDERS[name] = timed
        with clock.frozen(session.starts_at - timedelta(days=2)):
            t0 = time.perf_counter()
            if kind == "cancel":
                events.cancel_session(session, reason="Our speaker is ill; a new date follows.")
            else:
                start = session.start_wall + timedelta(hours=1)
                events.set_session_times(session, start, start + timedelta(hours=1), session.timezone)
            db.session.commit()
            change_s = time.perf_counter() - t0
            t0, c0 = time.perf_counter(), time.process_time()
            report = fanout.expand_pending()
            write_s, write_cpu = time.perf_counter() - t0, time.process_time() - c0
        if report.messages != n or report.failed:
            raise SystemExit(f"wrote {report} for {n} registrants")
        own, bodies = outbox_bytes()
        return {
            "change_s": change_s,
            "write_s": write_s,
            "write_cpu": write_cpu,
            "steps": len(steps),
            "longest_s": max(steps),
            "own": own,
            "bodies": bodies,
            "peak_rss": peak_rss_mb(),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--registrants", "--n", dest="n", type=int, default=10_000)
    parser.add_argument("--kind", choices=["cancel", "update"], default="cancel")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgresql://127.0.0.1:5432/test"),
        help="PostgreSQL database for the postgresql run (a private schema is used and dropped)",
    )
    parser.add_argument("--backends", default="sqlite,postgresql", help="comma-separated: sqlite,postgresql")
    parser.add_argument("--languages", default="", help="registrants' languages in turn, e.g. en_US,fr_CA,es_MX")
    args = parser.parse_args()
    languages: list[str | None] = [x.strip() for x in args.languages.split(",") if x.strip()] or [None]
    print(
        f"{args.kind} of one session, {args.n} registrants, languages {languages}, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        r = run(args.n, args.kind, args.database_url if backend == "postgresql" else None, languages)
        total = r["own"] + r["bodies"]
        print(f"--- {backend}")
        print(f"change (request): {r['change_s']:.3f} s")
        print(
            f"write copies:     {r['write_s']:.2f} s, {args.n / r['write_s']:,.0f} msg/s, "
            f"{r['steps']} step(s), longest {r['longest_s']:.2f} s, "
            f"{r['write_cpu'] / args.n * 1000:.2f} ms CPU a copy"
        )
        print(
            f"outbox:           {total / 2**20:.1f} MB ({r['own'] / 2**20:.1f} MB per-row, "
            f"{r['bodies'] / 2**20:.2f} MB shared bodies), {total / args.n / 1024:.1f} KB a copy"
        )
        print(f"peak RSS:         {r['peak_rss']:.0f} MB")


if __name__ == "__main__":
    main()
