"""Time the main pages through the test client, and count their SQL statements (not a test).

    .venv/bin/python bench/pages.py [--repeat 30] [--database-url postgresql://...]

Loads the demo (forum.demo) into a throw-away SQLite file (or a private schema of the given
PostgreSQL database, dropped afterwards), then
gives the demo e-forum a discussion and a list in two steps: first a quarter (50 posts in
10 threads, 500 subscribers, 3 panelists), then all of it (200 posts in 40 threads, 2,000
subscribers, 3 more panelists). Each page's statement count is taken at both sizes, so a
count that grows with the data (an N+1 query) shows as "grows"; the timings (median and p95
over --repeat requests) are at full size. The personal feed is built from scratch each time
(its ETag-keyed body cache is cleared), so its queries are counted too.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from _support import bench_app, median_p95  # noqa: E402
from flask import Flask  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402
from sqlalchemy import Engine, select  # noqa: E402
from sqlalchemy import event as sa_event  # noqa: E402
from werkzeug.security import generate_password_hash  # noqa: E402

from forum.core import clock
from forum.core.extensions import db  # noqa: E402
from forum.demo import data as demo
from forum.events import service as events  # noqa: E402
from forum.models import Event, EventPanelist, Officer, Panelist, Participant, Post, Subscription, Thread
from forum.web.calendars.feeds import body_cache  # noqa: E402

FORUM = "mentoring-in-technical-services"
SERIES = "re-envisioning-technical-services"
OFFICER, PASSWORD = "bench-officer@forum.test", "bench password"
FULL = {"threads": 40, "posts_per_thread": 5, "subscribers": 2000, "panelists": 6}
QUARTER = {"threads": 10, "posts_per_thread": 5, "subscribers": 500, "panelists": 3}


class StatementCounter:
    """Counts statements sent to the database (SQLAlchemy's before_cursor_execute event)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.count = 0

    def __call__(self, *args: object) -> None:
        self.count += 1

    @contextmanager
    def counting(self) -> Iterator[None]:
        sa_event.listen(self.engine, "before_cursor_execute", self)
        self.count = 0
        try:
            yield
        finally:
            sa_event.remove(self.engine, "before_cursor_execute", self)


def grow(event: Event, threads: int, posts_per_thread: int, subscribers: int, panelists: int) -> None:
    """Bring the e-forum up to this many threads, posts, active subscribers and panelists."""
    members = list(
        db.session.scalars(
            select(Participant)
            .join(Subscription)
            .where(Subscription.event_id == event.id, Subscription.status == "active")
            .order_by(Participant.id)
        )
    )
    for n in range(len(members), subscribers):
        email = f"member{n}@example.org"
        person = Participant(email=email, email_key=email, name=f"Member {n}")
        db.session.add(Subscription(participant=person, event=event, status="active", mode="each"))
        members.append(person)
    links = list(event.panelist_links)
    for n in range(len(links), panelists):
        panelist = Panelist(name=f"Bench Panelist {n}", bio="A **bio**.", affiliation="A Library")
        event.panelist_links.append(EventPanelist(panelist=panelist, role="panelist", position=n))
    db.session.flush()
    existing = db.session.query(Thread).filter_by(event_id=event.id).count()
    start = clock.now() - timedelta(days=30)
    for t in range(existing, threads):
        at = start + timedelta(minutes=10 * t)
        thread = Thread(event=event, subject=f"Topic {t}", subject_key=f"topic {t}", created_at=at)
        parent: Post | None = None
        for p in range(posts_per_thread):
            author = members[(t * posts_per_thread + p) % len(members)]
            post = Post(
                event=event,
                thread=thread,
                parent=parent,
                message_id=f"<bench-{t}-{p}@example.org>",
                subject=f"Re: Topic {t}" if p else f"Topic {t}",
                author_name=author.name,
                author_email=author.email,
                participant=author,
                body_text=f"Post {p} on topic {t}.",
                body_html=f"<p>Post {p} on topic <em>{t}</em>.</p>",
                status="accepted",
                created_at=at + timedelta(minutes=p),
                accepted_at=at + timedelta(minutes=p),
            )
            db.session.add(post)
            parent = post if p % 2 == 0 else parent
        thread.post_count = posts_per_thread
        thread.last_post_at = at + timedelta(minutes=posts_per_thread)
    event.archive_public = True
    db.session.commit()


def page_paths(forum: Event, feed_token: str) -> list[tuple[str, str, bool]]:
    """(label, path, needs an officer) for each page measured."""
    first_thread = db.session.query(Thread).filter_by(event_id=forum.id).order_by(Thread.id).first()
    assert first_thread is not None
    return [
        ("/", "/", False),
        ("e-forum page", f"/events/{FORUM}", False),
        ("series page", f"/events/{SERIES}", False),
        ("archive", f"/events/{FORUM}/archive", False),
        ("thread page", f"/events/{FORUM}/archive/threads/{first_thread.id}", False),
        ("subscribers (officer)", f"/manage/events/{FORUM}/subscribers", True),
        ("personal feed", f"/feeds/{feed_token}.ics", False),
    ]


def fetch(app: Flask, client: FlaskClient, path: str) -> int:
    """One request, as in production: its own app context and database session."""
    if path.startswith("/feeds/"):
        with app.app_context():
            body_cache().clear()
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return len(response.data)


def statements(app: Flask, client: FlaskClient, path: str, counter: StatementCounter) -> int:
    with counter.counting():
        fetch(app, client, path)
    return counter.count


def timings(app: Flask, client: FlaskClient, path: str, repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fetch(app, client, path)
        times.append((time.perf_counter() - t0) * 1000)
    return median_p95(times)


def signed_in(app_client: FlaskClient) -> FlaskClient:
    page = app_client.get("/login")
    token = (
        page.get_data(as_text=True).split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]
    )
    answer = app_client.post("/login", data={"email": OFFICER, "password": PASSWORD, "csrf_token": token})
    assert answer.status_code in (302, 303), answer.status_code
    return app_client


def seed_officer_and_reader(forum: Event, series: Event) -> str:
    officer = Officer(email=OFFICER, name="Bench Officer", is_admin=True)
    officer.password_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    reader = Participant(email="reader@example.org", email_key="reader@example.org", name="Reader")
    for event in (forum, series):
        db.session.add(Subscription(participant=reader, event=event, status="active"))
    db.session.add(officer)
    db.session.commit()
    return reader.feed_token


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    with bench_app(args.database_url or None, "pages") as app:
        url = app.config["SQLALCHEMY_DATABASE_URI"]
        with app.app_context():
            demo.load()
            forum, series = Event.by_slug(FORUM), Event.by_slug(SERIES)
            assert forum is not None and series is not None
            for event in (forum, series):
                if event.status == "draft":
                    events.publish_event(event)
            feed_token = seed_officer_and_reader(forum, series)
            grow(forum, **QUARTER)
            paths = page_paths(forum, feed_token)
            counter = StatementCounter(db.engine)
        public, officer = app.test_client(), signed_in(app.test_client())
        small = {
            label: statements(app, officer if needs else public, path, counter)
            for label, path, needs in paths
        }
        with app.app_context():
            grow(Event.by_slug(FORUM), **FULL)  # type: ignore[arg-type]
        print(
            f"{url.split(':', 1)[0]}: demo + e-forum with {FULL['threads']} threads, "
            f"{FULL['threads'] * FULL['posts_per_thread']} posts, {FULL['subscribers']} subscribers; "
            f"{args.repeat} requests per page"
        )
        print(f"{'page':24} {'median ms':>9} {'p95 ms':>8} {'KiB':>6} {'SQL':>5} {'SQL at 1/4':>10}")
        for label, path, needs in paths:
            client = officer if needs else public
            size = fetch(app, client, path)  # warm: templates, zone rules
            full = statements(app, client, path, counter)
            median, p95 = timings(app, client, path, args.repeat)
            note = "  grows" if full > small[label] else ""
            print(
                f"{label:24} {median:9.1f} {p95:8.1f} {size / 1024:6.0f} {full:5d} {small[label]:10d}{note}"
            )


if __name__ == "__main__":
    main()
