"""How posts form threads, and the reads of a forum's archive (threads, posts; search is
in `forum.discussion.search`).

Threading follows mail clients: In-Reply-To, then References (newest first), then the
subject without its `Re:`/`Fwd:`/`[list]` prefixes, so a reply from a client that
drops the headers still lands in its conversation.
"""

from __future__ import annotations

import re

from sqlalchemy import select

from forum.core import clock
from forum.core.extensions import db
from forum.models import Event, Post, Thread
from forum.models.base import queue_of

SUBJECT_PREFIX_RE = re.compile(r"^\s*((re|fwd?|aw|sv|antw|wg|tr)\s*(\[\d+\])?\s*:|\[[^\]]{0,80}\])\s*", re.I)


def subject_key(subject: str) -> str:
    """`Re: [list] Fwd: Mentoring ideas` -> `mentoring ideas`: the fallback threading key."""
    text = subject or ""
    while True:
        stripped = SUBJECT_PREFIX_RE.sub("", text, count=1)
        if stripped == text:
            break
        text = stripped
    return " ".join(text.lower().split())[:300]


def reply_subject(subject: str) -> str:
    """`Re: <subject>` for a reply, without stacking a second `Re:`."""
    return subject if subject.lower().startswith("re:") else f"Re: {subject}"


def _find_parent(event: Event, ids: list[str]) -> Post | None:
    """The nearest earlier post named in In-Reply-To / References (any status)."""
    for msgid in ids:
        post = db.session.scalar(select(Post).where(Post.event_id == event.id, Post.message_id == msgid))
        if post is not None:
            return post
    return None


def place_in_thread(post: Post, event: Event) -> None:
    """Thread by In-Reply-To, then References (newest first), then normalised subject."""
    ids = ([post.in_reply_to] if post.in_reply_to else []) + list(reversed(post.references.split()))
    parent = _find_parent(event, ids)
    if parent is not None and parent.thread_id is not None:
        post.parent = parent
        post.thread_id = parent.thread_id
        return
    key = subject_key(post.subject)
    thread = None
    if key:
        thread = db.session.scalar(
            select(Thread)
            .where(Thread.event_id == event.id, Thread.subject_key == key)
            .order_by(Thread.id.desc())
            .limit(1)
        )
    if thread is None:
        thread = Thread(
            event_id=event.id,
            subject=(post.subject or "(no subject)")[:300],
            subject_key=key,
            created_at=clock.now(),
        )
        db.session.add(thread)
        db.session.flush()
    post.thread_id = thread.id


# --- reading ----------------------------------------------------------------------------------


def threads(event: Event) -> list[Thread]:
    """Threads with accepted posts, most recently active first."""
    return list(
        db.session.scalars(
            select(Thread)
            .where(Thread.event_id == event.id, Thread.post_count > 0)
            .order_by(Thread.last_post_at.desc(), Thread.id.desc())
        )
    )


def accepted_posts(event: Event, thread_id: int | None = None) -> list[Post]:
    query = select(Post).where(Post.event_id == event.id, Post.status == "accepted")
    if thread_id is not None:
        query = query.where(Post.thread_id == thread_id)
    return list(db.session.scalars(query.order_by(Post.accepted_at, Post.id)))


def held_posts(event: Event) -> list[Post]:
    return queue_of(Post, event.id, "held", Post.created_at)


def thread_tree(posts: list[Post]) -> list[tuple[Post, int]]:
    """Posts of one thread in reply order, each with its depth (capped) for indentation."""
    by_parent: dict[int | None, list[Post]] = {}
    ids = {p.id for p in posts}
    for post in posts:
        parent = post.parent_id if post.parent_id in ids else None
        by_parent.setdefault(parent, []).append(post)
    out: list[tuple[Post, int]] = []
    stack = [(child, 0) for child in reversed(by_parent.get(None, []))]
    while stack:  # iterative: a long chain of replies must not hit the recursion limit
        post, depth = stack.pop()
        out.append((post, min(depth, 6)))
        stack.extend((child, depth + 1) for child in reversed(by_parent.get(post.id, [])))
    return out
