"""Daily digests of an e-forum: which posts go in which digest, and how one is rendered.

A forum sends one digest per local day at ``Event.digest_hour`` in its own zone while it
is open, and a final one when it closes.  Each digest covers the posts accepted since
the previous one, so nothing accepted after a digest hour falls between two digests.
*When* a digest is due and that it goes out once is the scheduler's business
(forum/discussion/jobs.py); this module only selects, renders and enqueues.

Rendering is split so a digest to 10,000 people stays cheap: the whole body (the list
of posts is the big part) is rendered and MIME-encoded once per recipient time zone,
and each recipient's own links and headers are filled in per copy
(`list_copies.list_messages`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from flask import current_app, render_template
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from forum.common import audience
from forum.core import timezones
from forum.core.extensions import db
from forum.core.urls import external_url
from forum.mail.compose import ListOptions, list_message
from forum.mail.list_copies import ListCopy, list_messages
from forum.mail.outbox import enqueue_copies
from forum.models import Event, Post, Subscription


@dataclass(frozen=True)
class DigestPeriod:
    """One digest of one forum: posts accepted in [start, end), sent at `end`.

    `label` is the stable part of its exactly-once key: the local date, or "final".
    """

    label: str
    day: date  # local date (event zone) the digest is sent on
    start: datetime | None  # None: from the forum's beginning
    end: datetime
    final: bool = False

    @property
    def due_at(self) -> datetime:
        return self.end


def digest_instant(day: date, hour: int, zone: str) -> datetime:
    """When the digest of a local day is due; an hour skipped by DST moves one hour later."""
    wall = datetime.combine(day, time(hour=max(0, min(23, hour))))
    try:
        return timezones.localize(wall, zone).instant
    except timezones.TimeInputError:
        return timezones.localize(wall + timedelta(hours=1), zone).instant


def periods(event: Event) -> list[DigestPeriod]:
    """Every digest the forum sends: one per day at its digest hour while open, then a final one."""
    start, end = event.starts_at, event.ends_at
    if start is None or end is None:
        return []
    zone = event.timezone
    out: list[DigestPeriod] = []
    previous: datetime | None = None
    day, last_day = timezones.to_zone(start, zone).date(), timezones.to_zone(end, zone).date()
    while day <= last_day:
        due = digest_instant(day, event.digest_hour, zone)
        if start < due < end:
            out.append(DigestPeriod(day.isoformat(), day, previous, due))
            previous = due
        day += timedelta(days=1)
    out.append(DigestPeriod("final", last_day, previous, end, final=True))
    return out


def due_periods(event: Event, at: datetime, horizon: timedelta) -> list[DigestPeriod]:
    """Digests due by `at` and not older than `horizon` (caught up after downtime)."""
    return [p for p in periods(event) if p.end <= at and p.end > at - horizon]


def posts_in(event: Event, period: DigestPeriod) -> list[Post]:
    """Accepted posts of the period, in the order they were accepted.

    The final digest has no upper bound: a post a moderator approves at the last
    minute still reaches digest readers.
    """
    stmt = select(Post).where(Post.event_id == event.id, Post.status == "accepted")
    if period.start is not None:
        stmt = stmt.where(Post.accepted_at >= period.start)
    if not period.final:
        stmt = stmt.where(Post.accepted_at < period.end)
    stmt = stmt.options(joinedload(Post.thread)).order_by(Post.accepted_at, Post.id)
    return list(db.session.scalars(stmt))


def digest_recipients(event: Event) -> list[Subscription]:
    """Active subscribers whose delivery mode is "digest" right now (checked at send time)."""
    return list(db.session.scalars(audience.subscribers(event, mode="digest")))


def post_url(post: Post) -> str:
    """Permalink to a post in the archive (the post page when the archive has one)."""
    if "discussion.post" in current_app.view_functions:
        return external_url("discussion.post", slug=post.event.slug, post_id=post.id)
    return external_url("discussion.archive", slug=post.event.slug) + f"#post-{post.id}"


def subject_for(event: Event, period: DigestPeriod, count: int) -> str:
    when = timezones.format_date(period.day)
    kind = "Final digest" if period.final else "Digest"
    noun = "message" if count == 1 else "messages"
    return f"[{event.title}] {kind}, {when} ({count} {noun})"


class DigestRenderer:
    """Renders one digest for many recipients, caching the post list per time zone."""

    def __init__(self, event: Event, period: DigestPeriod, posts: Sequence[Post]):
        self.event, self.period, self.posts = event, period, list(posts)
        self.urls = {p.id: post_url(p) for p in self.posts}
        self._bodies: dict[str, tuple[Markup, Markup]] = {}

    def body(self, zone: str) -> tuple[Markup, Markup]:
        """(text, html) of the table of contents and posts, times shown in `zone`."""
        cached = self._bodies.get(zone)
        if cached is None:
            ctx = {
                "event": self.event,
                "period": self.period,
                "items": [self._item(n, post, zone) for n, post in enumerate(self.posts, 1)],
                "zone": zone,
                "zone_label": timezones.zone_label(zone),
            }
            text = Markup(render_template("mail/digest.body.txt", **ctx))  # noqa: S704 - Jinja output
            html = Markup(render_template("mail/digest.body.html", **ctx))  # noqa: S704 - autoescaped
            cached = self._bodies[zone] = (text, html)
        return cached

    def chunk_size(self, budget_bytes: int = 48 * 2**20) -> int:
        """How many rendered copies to hold at once: a big digest is inserted in smaller chunks.

        A rendered message costs roughly three times its body in memory (the strings,
        the encoded parts and the bytes), so this keeps a chunk under `budget_bytes`.
        """
        text, html = self.body(self.event.timezone)
        per_message = 3 * (len(text) + len(html)) + 8192
        return max(10, min(500, budget_bytes // per_message))

    def _item(self, number: int, post: Post, zone: str) -> dict[str, object]:
        local = timezones.to_zone(post.accepted_at or post.created_at, zone)
        return {
            "number": number,
            "post": post,
            "subject": post.subject or (post.thread.subject if post.thread else "") or "(no subject)",
            "author": post.author_display,
            "badge": post.role_label if post.is_panelist or post.author_role != "participant" else "",
            "time": f"{timezones.format_time(local)} {local.tzname()}",
            "date": timezones.format_date(local),
            "url": self.urls[post.id],
        }

    def zone_of(self, subscription: Subscription) -> str:
        """The zone a subscriber's digest shows times in: theirs, else the forum's."""
        return timezones.reader_zone(subscription.participant.timezone, fallback=self.event.timezone)

    def _context(self, zone: str) -> dict[str, object]:
        body_text, body_html = self.body(zone)
        return {
            "period": self.period,
            "count": len(self.posts),
            "body_text": body_text,
            "body_html": body_html,
            "day": timezones.format_date(self.period.day),
            "archive_url": external_url("discussion.archive", slug=self.event.slug),
        }

    def message_for(self, subscription: Subscription):
        """The EmailMessage of this digest for one subscriber (one at a time; see `copies`)."""
        return list_message(self.event, subscription, self._options(context=self._context(self.zone_of(subscription))))

    def copies(self, subscriptions: Sequence[Subscription]) -> Iterator[ListCopy]:
        """Every subscriber's digest, the body rendered and encoded once per time zone."""
        return list_messages(
            self.event,
            subscriptions,
            self._options(
                group_key=self.zone_of,
                group_context=lambda sub: self._context(self.zone_of(sub)),
                shared={"participant.timezone"},
            ),
        )

    def _options(self, **per_door: Any) -> ListOptions:
        """The digest as list mail (subject, template, automated), one or many at a time."""
        return ListOptions(
            subject=subject_for(self.event, self.period, len(self.posts)),
            template="digest",
            automated=True,
            **per_door,
        )


def send_digest(event: Event, period: DigestPeriod) -> tuple[int, str]:
    """Enqueue the period's digest to every digest subscriber; (messages, note).

    Runs inside the caller's transaction (the scheduler commits it with its
    exactly-once key).  An empty digest is not sent.  Copies are built lazily from a
    body encoded once per recipient zone (`list_copies.list_messages`) and inserted in
    chunks, so memory stays flat however many subscribers there are.
    """
    posts = posts_in(event, period)
    if not posts:
        return 0, "no posts"
    recipients = digest_recipients(event)
    if not recipients:
        return 0, f"{len(posts)} posts, no digest subscribers"
    renderer = DigestRenderer(event, period, posts)
    queued = enqueue_copies(
        renderer.copies(recipients),
        kind="digest",
        key=f"digest:{event.id}:{period.label}",
        event_id=event.id,
        chunk_size=renderer.chunk_size(),
    )
    return queued, f"{len(posts)} posts"
