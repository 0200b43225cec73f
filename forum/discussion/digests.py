"""Digests of an e-forum: which posts go in which digest, and how one is rendered.

A digest reader chooses a rhythm (daily, or weekly on a weekday), an hour (in their own
zone; none: the forum's hour in the forum's zone) and a style: every message in full, or
"subjects only", an index of the new threads and replies with links to read each on the
web and to reply by mail. *When* each schedule's digests are due is
`digest_schedules.py`'s business, and that each goes out once is the scheduler's
(forum/discussion/jobs.py); this module selects, renders and enqueues.

Rendering is split so a digest to 10,000 people stays cheap: the body (the list of posts
is the big part) is rendered and MIME-encoded once per *variant* (style, the zone its
times are shown in, and the threads a reader muted or follows, when any of this period's
are among them), and each recipient's own links and headers are filled in per copy
(`list_copies.list_messages`); the outbox stores each variant's body once.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Sequence
from datetime import datetime
from itertools import chain
from urllib.parse import quote

from flask import current_app, render_template
from flask_babel import LazyString, get_locale, ngettext
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import joinedload

from forum.common import audience
from forum.core import i18n, timezones
from forum.core.extensions import db
from forum.core.urls import external_url
from forum.discussion import thread_choices
from forum.discussion.digest_schedules import (
    DigestPeriod,
    Schedule,
    digest_instant,
    due_periods,
    forum_schedule,
    on_schedule,
    periods,
    schedule_of,
)
from forum.mail.compose import ListOptions, list_address, list_message
from forum.mail.links import threads_url
from forum.mail.list_copies import ListCopy, list_messages
from forum.mail.outbox import enqueue_copies
from forum.models import Event, Post, Subscription

__all__ = [
    "DigestPeriod",
    "DigestRenderer",
    "Schedule",
    "digest_instant",
    "due_periods",
    "periods",
    "posts_in",
    "schedule_of",
    "send_digest",
]

#: What a group of readers shares a body by: (style, zone shown, threads left out, and the
#: index of the first post of the period they get: 0 unless their digest starts elsewhere
#: because they changed rhythm, hour or mode since their last one; `Subscription.digest_since`).
Variant = tuple[str, str, frozenset[int], int]


def posts_in(event: Event, period: DigestPeriod, earliest: datetime | None = None) -> list[Post]:
    """Accepted posts of the period, in the order they were accepted; from `earliest` when a
    reader's digest starts before the period (they moved to a shorter rhythm, or their last
    digest went at another hour), so the posts in between are not skipped.

    The final digest has no upper bound: a post a moderator approves at the last
    minute still reaches digest readers.
    """
    start = period.start if earliest is None or period.start is None else min(earliest, period.start)
    stmt = select(Post).where(Post.event_id == event.id, Post.status == "accepted")
    if start is not None:
        stmt = stmt.where(Post.accepted_at >= start)
    if not period.final:
        stmt = stmt.where(Post.accepted_at < period.end)
    stmt = stmt.options(joinedload(Post.thread)).order_by(Post.accepted_at, Post.id)
    return list(db.session.scalars(stmt))


def earliest_start(event: Event, rhythm: str) -> datetime | None:
    """The earliest `digest_since` among the forum's digest readers of this rhythm: where the
    posts a digest needs begin when a reader's own start lies before the period's."""
    return db.session.scalar(
        select(func.min(Subscription.digest_since)).where(
            Subscription.event_id == event.id,
            Subscription.is_active,
            Subscription.mode == "digest",
            Subscription.digest_rhythm == rhythm,
        )
    )


def mark_covered(subscriptions: Sequence[Subscription], end: datetime) -> None:
    """These readers have had every post before `end` (in the digest's own transaction, so a
    digest and its mark commit together). Never moves a reader's mark back: one who turned to
    digests after `end` had each message until then."""
    ids = [s.id for s in subscriptions]
    for at in range(0, len(ids), 5000):
        db.session.execute(
            update(Subscription)
            .where(
                Subscription.id.in_(ids[at : at + 5000]),
                or_(Subscription.digest_since.is_(None), Subscription.digest_since < end),
            )
            .values(digest_since=end)
            .execution_options(synchronize_session=False)
        )


def digest_recipients(event: Event, rhythm: str | None = None) -> list[Subscription]:
    """Active subscribers whose delivery mode is "digest" right now (checked at send time)."""
    stmt = audience.subscribers(event, mode="digest")
    if rhythm is not None:
        stmt = stmt.where(Subscription.digest_rhythm == rhythm)
    return list(db.session.scalars(stmt))


def post_url(post: Post) -> str:
    """Permalink to a post in the archive (the post page when the archive has one)."""
    if "discussion.post" in current_app.view_functions:
        return external_url("discussion.post", slug=post.event.slug, post_id=post.id)
    return external_url("discussion.archive", slug=post.event.slug) + f"#post-{post.id}"


def thread_url(event: Event, thread_id: int | None, post: Post) -> str:
    if thread_id is not None and "discussion.thread" in current_app.view_functions:
        return external_url("discussion.thread", slug=event.slug, thread_id=thread_id)
    return post_url(post)


def reply_mailto(event: Event, post: Post, subject: str) -> str:
    """A mailto link that starts a reply to `post` on the list (RFC 6068: subject and In-Reply-To)."""
    reply = subject if subject.lower().startswith("re:") else f"Re: {subject}"
    query = f"subject={quote(reply, safe='')}&In-Reply-To={quote(post.message_id, safe='')}"
    return f"mailto:{list_address(event).addr_spec}?{query}"


def subject_for(
    event: Event, period: DigestPeriod, count: int, schedule: Schedule | None = None, style: str = "full"
) -> str:
    """`[Title] Weekly digest, 9/10/2019 (3 messages)`: which kind, the local date, how many
    messages, read lazily in each reader's language (the fan-out renders each under its locale)."""
    return LazyString(_subject_now, event, period, count, schedule, style)  # type: ignore[return-value]


def _subject_now(event: Event, period: DigestPeriod, count: int, schedule: Schedule | None, style: str) -> str:
    when = timezones.format_date(period.day)
    title = event.in_language(i18n.current_language())[0]
    weekly = schedule is not None and schedule.rhythm == "weekly"
    if period.final:
        kind = _("Final digest")
    elif weekly:
        kind = _("Weekly digest")
    else:
        kind = _("Digest")
    if style == "subjects":
        kind = _("%(kind)s, subjects only", kind=kind)
    many = ngettext("%(num)d message", "%(num)d messages", count)
    return _("[%(event)s] %(kind)s, %(when)s (%(many)s)", event=title, kind=kind, when=when, many=many)


class DigestRenderer:
    """Renders one period's digest for many recipients, caching a body per variant."""

    def __init__(self, event: Event, period: DigestPeriod, posts: Sequence[Post], schedule: Schedule | None = None):
        self.event, self.period, self.posts = event, period, list(posts)
        self.schedule = schedule or forum_schedule(event)
        self.urls = {p.id: post_url(p) for p in self.posts}
        self._bodies: dict[tuple[Variant, str], tuple[Markup, Markup]] = {}  # by variant and language
        self._left_out: dict[int, frozenset[int]] | None = None
        self._older: set[int | None] | None = None

    def posts_for(self, left_out: frozenset[int], first: int = 0) -> list[Post]:
        posts = self.posts[first:] if first else self.posts
        return [p for p in posts if p.thread_id not in left_out] if left_out else posts

    def first_post(self, subscription: Subscription) -> int:
        """Where this reader's digest starts in `self.posts`: at their own `digest_since` when
        they have one (it is the period's start for a reader on the same schedule as before)."""
        start = subscription.digest_since or self.period.start
        if start is None:
            return 0
        return next((n for n, p in enumerate(self.posts) if p.accepted_at and p.accepted_at >= start), len(self.posts))

    def body(
        self, zone: str, style: str = "full", left_out: frozenset[int] = frozenset(), first: int = 0
    ) -> tuple[Markup, Markup]:
        """(text, html) of the digest's body for one variant, times shown in `zone`, in the
        language in force (the fan-out renders each language's group under its locale)."""
        key = ((style, zone, left_out, first), str(get_locale()))
        cached = self._bodies.get(key)
        if cached is None:
            posts = self.posts_for(left_out, first)
            ctx = {
                "event": self.event,
                "period": self.period,
                "weekly": self.schedule.rhythm == "weekly",
                "items": [self._item(n, post, zone) for n, post in enumerate(posts, 1)],
                "threads": self._threads(posts, zone) if style == "subjects" else [],
                "zone": zone,
                "zone_label": timezones.zone_label(zone),
            }
            name = "digest.index" if style == "subjects" else "digest.body"
            text = Markup(render_template(f"mail/{name}.txt", **ctx))  # noqa: S704 - Jinja output
            html = Markup(render_template(f"mail/{name}.html", **ctx))  # noqa: S704 - autoescaped
            cached = self._bodies[key] = (text, html)
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

    def _threads(self, posts: Sequence[Post], zone: str) -> list[dict[str, object]]:
        """The subjects-only index: each thread with posts in the period, in order of its first
        one here; whether it is new, its replies, who wrote, and where to read and reply."""
        groups: dict[int | None, list[Post]] = {}
        for post in posts:
            groups.setdefault(post.thread_id if post.thread_id is not None else -post.id, []).append(post)
        out = []
        for thread_posts in groups.values():
            first, last = thread_posts[0], thread_posts[-1]
            subject = (first.thread.subject if first.thread else "") or first.subject or _("(no subject)")
            new = first.thread_id not in self._older_threads()
            local = timezones.to_zone(last.accepted_at or last.created_at, zone)
            out.append(
                {
                    "subject": subject,
                    "new": new,
                    "replies": len(thread_posts) - (1 if new else 0),
                    "authors": list(dict.fromkeys(p.author_display for p in thread_posts)),
                    "last": f"{timezones.format_date(local)} {timezones.format_time(local)} {local.tzname()}",
                    "url": thread_url(self.event, first.thread_id, first),
                    "reply": reply_mailto(self.event, last, subject),
                    "thread_id": first.thread_id,
                }
            )
        return out

    def _older_threads(self) -> set[int | None]:
        """Threads of this period that had accepted posts before it (the rest are new)."""
        if self._older is None:
            ids = {p.thread_id for p in self.posts if p.thread_id is not None}
            self._older = set()
            if ids and self.period.start is not None:
                self._older = set(
                    db.session.scalars(
                        select(Post.thread_id)
                        .where(
                            Post.event_id == self.event.id,
                            Post.status == "accepted",
                            Post.accepted_at < self.period.start,
                            Post.thread_id.in_(ids),
                        )
                        .distinct()
                    )
                )
        return self._older

    def zone_of(self, subscription: Subscription) -> str:
        """The zone a subscriber's digest shows times in: theirs, else the forum's."""
        return timezones.reader_zone(subscription.participant.timezone, fallback=self.event.timezone)

    def left_out(self, subscriptions: Sequence[Subscription]) -> dict[int, frozenset[int]]:
        """Per reader, this period's threads their digest leaves out (muted or followed)."""
        if self._left_out is None:
            self._left_out = {}
        missing = [s.id for s in subscriptions if s.id not in self._left_out]
        if missing:
            found = thread_choices.left_out_of_digests(missing, (p.thread_id for p in self.posts))
            self._left_out.update({sub_id: found.get(sub_id, frozenset()) for sub_id in missing})
        return self._left_out

    def variant_of(self, subscription: Subscription) -> Variant:
        style = subscription.digest_style if subscription.digest_style == "subjects" else "full"
        return (
            style,
            self.zone_of(subscription),
            self.left_out([subscription])[subscription.id],
            self.first_post(subscription),
        )

    def _context(self, variant: Variant) -> dict[str, object]:
        style, zone, left_out, first = variant
        body_text, body_html = self.body(zone, style, left_out, first)
        return {
            "period": self.period,
            "weekly": self.schedule.rhythm == "weekly",
            "subjects_only": style == "subjects",
            "count": len(self.posts_for(left_out, first)),
            "body_text": body_text,
            "body_html": body_html,
            "day": timezones.format_date(self.period.day),
            "archive_url": external_url("discussion.archive", slug=self.event.slug),
        }

    def _options(self, variant: Variant, group: Hashable = None) -> ListOptions:
        style, _zone, left_out, first = variant
        count = len(self.posts_for(left_out, first))
        return ListOptions(
            subject=subject_for(self.event, self.period, count, self.schedule, style),
            template="digest",
            context=self._context(variant),
            group_key=lambda sub: group,
            links=lambda sub: {"threads_url": threads_url(sub)},
            shared={"participant.timezone"},
            automated=True,
        )

    def message_for(self, subscription: Subscription):
        """The EmailMessage of this digest for one subscriber (one at a time; see `copies`)."""
        variant = self.variant_of(subscription)
        options = self._options(variant)
        context = {**options.context, "threads_url": threads_url(subscription)}
        return list_message(
            self.event,
            subscription,
            ListOptions(subject=options.subject, template="digest", context=context, automated=True),
        )

    def copies(self, subscriptions: Sequence[Subscription]) -> Iterator[ListCopy]:
        """Every subscriber's digest, the body rendered and encoded once per variant."""
        self.left_out(subscriptions)
        groups: dict[Variant, list[Subscription]] = {}
        for sub in subscriptions:
            groups.setdefault(self.variant_of(sub), []).append(sub)
        return chain.from_iterable(
            list_messages(self.event, subs, self._options(variant, variant)) for variant, subs in groups.items()
        )

    def variants(self, subscriptions: Sequence[Subscription]) -> int:
        """How many distinct bodies the digest needs for these readers (for the job's note)."""
        self.left_out(subscriptions)
        return len({self.variant_of(sub) for sub in subscriptions})


def send_digest(event: Event, period: DigestPeriod, schedule: Schedule | None = None) -> tuple[int, str]:
    """Enqueue a period's digest to every digest reader on `schedule` (by default the forum's);
    returns (messages, note).

    Runs inside the caller's transaction (the scheduler commits it with its exactly-once
    key).  An empty digest is not sent; neither is one whose readers left every thread of
    it out (the variant has no posts).  Copies are built lazily from a body encoded once
    per variant (`list_copies.list_messages`) and inserted in chunks, so memory stays flat
    however many readers there are.
    """
    schedule = schedule or forum_schedule(event)
    posts = posts_in(event, period, earliest_start(event, schedule.rhythm))
    if not posts:
        return 0, "no posts"
    recipients = [
        s
        for s in on_schedule(event, schedule, digest_recipients(event, schedule.rhythm))
        if s.digest_chosen_at is None or s.digest_chosen_at < period.end  # chosen before it was due
    ]
    if not recipients:
        return 0, f"{len(posts)} posts, no digest subscribers"
    renderer = DigestRenderer(event, period, posts, schedule)
    renderer.left_out(recipients)
    readers = [s for s in recipients if renderer.posts_for(renderer.variant_of(s)[2], renderer.first_post(s))]
    queued = enqueue_copies(
        renderer.copies(readers),
        kind="digest",
        key=schedule.outbox_key(event, period),
        event_id=event.id,
        chunk_size=renderer.chunk_size(),
    )
    mark_covered(recipients, period.end)
    return queued, f"{len(posts)} posts, {renderer.variants(readers)} bodies"

