"""Moderating many held posts at once: the bulk approve / reject and "always accept" behind
the moderation page (and any other door), each post through the same `accept` / `reject`
a single decision uses, so a bulk approval sends exactly what one-by-one approvals would.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from forum.core.extensions import db
from forum.discussion import senders
from forum.discussion.service import accept, reject
from forum.models import Event, Post

BULK_ACTIONS = ("approve", "reject", "always")


@dataclass
class BulkResult:
    """What a bulk decision did: post ids approved, rejected, skipped (no longer held)."""

    approved: list[int] = field(default_factory=list)
    rejected: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    accepted_senders: list[str] = field(default_factory=list)


def moderate_many(
    event: Event, post_ids: list[int], action: str, moderator: str, reason: str = ""
) -> BulkResult:
    """Approve, reject (with one reason for all) or approve-and-always-accept held posts.

    Posts of other forums are ignored; posts no longer held are skipped, so two moderators
    working the queue at once never decide a post twice. The caller commits.
    """
    if action not in BULK_ACTIONS:
        raise ValueError(f"unknown bulk action {action!r}")
    if action == "reject" and not reason.strip():
        raise ValueError("A rejection needs a reason, sent to the authors.")
    result = BulkResult()
    posts = db.session.scalars(
        select(Post)
        .where(Post.event_id == event.id, Post.id.in_(post_ids))
        .order_by(Post.created_at, Post.id)
    )
    for post in posts:
        if post.status != "held":
            result.skipped.append(post.id)
            continue
        if action == "reject":
            reject(post, reason, moderator)
            result.rejected.append(post.id)
            continue
        if action == "always" and senders.always_accept(event, post.author_email, moderator):
            result.accepted_senders.append(post.author_email.lower())
        accept(post, moderator)
        result.approved.append(post.id)
    return result
