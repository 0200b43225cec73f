"""Time calendar feeds through the test client (not a test).

    .venv/bin/python bench/feeds.py [--repeat 30] [--database-url postgresql://...]

Builds, in a throw-away SQLite file (or a private schema of the given PostgreSQL database,
dropped afterwards), a participant subscribed to 50 events of 10 sessions each, and one 100-session series, then reports the median
time of each feed built from scratch, served from the ETag-keyed body cache (a
client polling without validators), and answered 304 to If-None-Match.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime, timedelta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from _support import bench_app, median_p95  # noqa: E402

from forum.core import clock
from forum.core.extensions import db  # noqa: E402
from forum.events import service as events  # noqa: E402
from forum.models import Event, EventPanelist, Panelist, Participant, Session, Subscription  # noqa: E402
from forum.web.calendars.feeds import body_cache  # noqa: E402

ZONES = ["America/New_York", "Europe/London", "Asia/Kolkata", "Australia/Lord_Howe", "America/Chicago"]


def _event(slug: str, sessions: int, zone: str, start: datetime) -> Event:
    event = Event(slug=slug, title=f"Event {slug}", kind="series", timezone=zone, summary="A webinar series.")
    event.contact_name, event.contact_email = "Pat", "pat@ala.test"
    for i in range(sessions):
        session = Session(position=i, title=f"Session {i + 1}", join_url=f"https://meet.test/{slug}/{i}")
        wall = start + timedelta(days=7 * i)
        events.set_session_times(session, wall, wall + timedelta(hours=1), zone)
        event.sessions.append(session)
    for i in range(3):
        event.panelist_links.append(
            EventPanelist(panelist=Panelist(name=f"Panelist {slug}-{i}"), role="panelist", position=i)
        )
    events.publish_event(event)
    db.session.add(event)
    return event


def _seed() -> tuple[str, str]:
    participant = Participant(email="bench@example.test", email_key="bench@example.test", name="Bench")
    db.session.add(participant)
    for n in range(50):
        event = _event(f"e{n}", 10, ZONES[n % len(ZONES)], datetime(2025, 2, 3, 9 + n % 8))
        db.session.add(Subscription(participant=participant, event=event, status="active"))
    _event("big-series", 100, "America/New_York", datetime(2025, 1, 6, 13))
    db.session.commit()
    return f"/feeds/{participant.feed_token}.ics", "/feeds/events/big-series.ics"


def _median_ms(  # type: ignore[no-untyped-def]
    client, url: str, repeat: int, headers: dict[str, str] | None = None, cold: bool = False
) -> tuple[float, int, int]:
    times, status, size = [], 0, 0
    for _ in range(repeat):
        if cold:
            body_cache().clear()
        t0 = time.perf_counter()
        response = client.get(url, headers=headers or {})
        times.append((time.perf_counter() - t0) * 1000)
        status, size = response.status_code, len(response.data)
    return median_p95(times)[0], status, size


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    with (
        bench_app(args.database_url or None, "feeds") as app,
        app.app_context(),
        clock.frozen(datetime(2025, 1, 1, tzinfo=UTC)),
    ):
        personal, series = _seed()
        client = app.test_client()
        client.get(personal)  # warm caches (zone rules, templates)
        for label, path in (
            ("personal feed, 50 events x 10 sessions", personal),
            ("event feed, 100 sessions", series),
        ):
            cold, status, size = _median_ms(client, path, args.repeat, cold=True)
            warm, _, _ = _median_ms(client, path, args.repeat)
            etag = client.get(path).headers["ETag"]
            ms304, status304, _ = _median_ms(client, path, args.repeat, {"If-None-Match": etag})
            print(
                f"{label}: built {cold:.1f} ms ({status}, {size / 1024:.0f} KiB); "
                f"cached body {warm:.1f} ms; 304 {ms304:.1f} ms ({status304})"
            )


if __name__ == "__main__":
    main()
