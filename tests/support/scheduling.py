"""Helpers for the scheduler tests: forums, series, subscribers, posts and the outbox."""

from __future__ import annotations

import threading
import uuid
from datetime import date, datetime, time, timedelta

from flask import Flask
from sqlalchemy.exc import OperationalError

from forum.core import clock
from forum.core.extensions import db
from forum.core.text import markdown
from forum.models import Event, OutboundMessage, Post, Session, Subscription, Thread
from forum.scheduling.jobs import run_job
from tests.support import factories
from tests.support.factories import html_of as html_of
from tests.support.factories import login_officer as login_officer
from tests.support.factories import outbox as outbox
from tests.support.factories import parsed as parsed
from tests.support.factories import text_of as text_of

NY = "America/New_York"


def _published(slug: str, kind: str, title: str, zone: str, **fields: object) -> Event:
    """A published event in its home zone (sessions are added by the caller)."""
    return Event(slug=slug, kind=kind, title=title, status="published", timezone=zone, **fields)


def make_forum(
    slug: str = "mentoring",
    first_day: date = date(2019, 9, 10),
    days: int = 2,
    zone: str = NY,
    hours: tuple[int, int] = (10, 18),
    digest_hour: int = 18,
) -> Event:
    """A published e-forum open `hours` each day, like the seed announcement (10 AM-6 PM Eastern)."""
    event = _published(slug, "eforum", "Mentoring in Technical Services", zone, digest_hour=digest_hour)
    for n in range(days):
        day = first_day + timedelta(days=n)
        session = Session(event=event, position=n)
        session.set_times(datetime.combine(day, time(hours[0])), datetime.combine(day, time(hours[1])), zone)
    db.session.add(event)
    db.session.commit()
    return event


def make_series(
    slug: str = "cataloging",
    starts: list[datetime] | None = None,
    zone: str = NY,
    offsets: str = "1440,60",
) -> Event:
    """A published webinar series with hour-long sessions at the given wall times."""
    event = _published(slug, "series", "Cataloging Webinar Series", zone, reminder_offsets=offsets)
    for n, start in enumerate(starts or [datetime(2024, 11, 5, 10)]):
        session = Session(
            event=event, position=n, title=f"Session {n + 1}", join_url=f"https://meet.example.org/s{n + 1}"
        )
        session.set_times(start, start + timedelta(hours=1), zone)
    db.session.add(event)
    db.session.commit()
    return event


def subscribe(
    event: Event, email: str, mode: str = "digest", zone: str | None = None, status: str = "active"
) -> Subscription:
    """A digest reader (by default) named after their address ("alice@..." is Alice)."""
    name = email.split("@")[0].title()
    return factories.subscribe(event, email, name=name, mode=mode, timezone=zone, status=status)


def add_post(
    event: Event,
    at: datetime,
    subject: str,
    body: str = "Some thoughts on mentoring.",
    author: str = "Jeannette Ho",
    role: str = "participant",
    status: str = "accepted",
) -> Post:
    """An accepted post, created directly (the inbound flow is tested elsewhere)."""
    thread = Thread(event=event, subject=subject, subject_key=subject.lower(), created_at=at, last_post_at=at)
    post = Post(
        event=event,
        thread=thread,
        message_id=f"<{uuid.uuid4().hex}@example.org>",
        subject=subject,
        author_name=author,
        author_email=f"{author.split()[0].lower()}@example.org",
        author_role=role,
        is_panelist=role != "participant",
        body_text=body,
        body_html=str(markdown(body)),
        status=status,
        created_at=at,
        accepted_at=at if status == "accepted" else None,
    )
    db.session.add_all([thread, post])
    db.session.commit()
    return post


def subject_of(row: OutboundMessage) -> str:
    """The decoded Subject (a folded subject may start with the fold's space)."""
    return str(parsed(row)["Subject"]).strip()


def run_hourly(kind: str, start: datetime, end: datetime, step: timedelta = timedelta(hours=1)) -> None:
    """Run a job every hour (or `step`) from `start` to `end` (both included), as the scheduler
    would."""
    at = start
    while at <= end:
        with clock.frozen(at):
            run_job(kind, at=at)
        at += step


def eastern(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    """An aware instant from a New York wall time (tests only; the app uses timezones.localize)."""
    from forum.core.timezones import localize

    return localize(datetime(y, mo, d, h, mi), NY).instant


def race_job(app: Flask, kind: str, at: datetime, runs: int = 2) -> None:
    """`runs` schedulers run job `kind` at `at` at the same moment, each on its own connection,
    then the next sweep a minute later: what racing schedulers and a restart would do."""
    barrier = threading.Barrier(runs)
    errors: list[BaseException] = []

    def race() -> None:
        with app.app_context(), clock.frozen(at):
            barrier.wait()
            try:
                run_job(kind, at=at)
            except OperationalError:  # SQLite: "database is locked"; the loser goes on next sweep
                db.session.rollback()
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

    threads = [threading.Thread(target=race) for _ in range(runs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    with clock.frozen(at + timedelta(minutes=1)):
        run_job(kind, at=at + timedelta(minutes=1))  # the next sweep
