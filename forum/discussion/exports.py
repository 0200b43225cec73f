"""The archive taken elsewhere: an Atom feed of a public archive, and an mbox of it.

Both read accepted posts only. The feed is public, so it names authors as the archive
does (`author_display`, never an address). The mbox is what mail clients and list
servers import; officers get authors' addresses, everyone else (public archives only)
gets the list's address in their place. The mbox is produced post by post, so a long
archive streams rather than being built in memory.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from email.generator import BytesGenerator
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from io import BytesIO

from flask import current_app
from sqlalchemy import func, select

from forum.core.extensions import db
from forum.discussion.notices import permalink
from forum.models import Event, Post

FEED_KINDS = ("threads", "posts")


def feed_posts(event: Event, kind: str, limit: int = 50) -> list[Post]:
    """Newest first: every accepted post, or each thread's first accepted post ("threads")."""
    stmt = select(Post).where(Post.event_id == event.id, Post.status == "accepted")
    if kind == "threads":
        first = (
            select(func.min(Post.id))
            .where(Post.event_id == event.id, Post.status == "accepted")
            .group_by(Post.thread_id)
        )
        stmt = stmt.where(Post.id.in_(first))
    return list(db.session.scalars(stmt.order_by(Post.accepted_at.desc(), Post.id.desc()).limit(limit)))


def mbox_chunks(event: Event, with_addresses: bool) -> Iterator[bytes]:
    """The archive as an mbox file (mboxrd-style From-quoting), one post at a time, oldest first."""
    list_address = event.list_address(current_app.config["LIST_DOMAIN"])
    stmt = (
        select(Post)
        .where(Post.event_id == event.id, Post.status == "accepted")
        .order_by(Post.accepted_at, Post.id)
        .execution_options(yield_per=500)
    )
    for post in db.session.scalars(stmt):
        yield _mbox_entry(post, list_address, with_addresses)


def _mbox_entry(post: Post, list_address: str, with_addresses: bool) -> bytes:
    msg = EmailMessage()
    address = post.author_email if with_addresses else list_address
    msg["From"] = Address(display_name=post.author_display, addr_spec=address)
    msg["To"] = list_address
    msg["Subject"] = post.subject
    when = post.accepted_at or post.created_at
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = post.message_id
    if post.in_reply_to:
        msg["In-Reply-To"] = post.in_reply_to
    if post.references:
        msg["References"] = post.references
    msg["Archived-At"] = f"<{permalink(post)}>"
    msg.set_content(post.body_text or "")
    out = BytesIO()
    out.write(f"From {address} {time.asctime(when.utctimetuple())}\n".encode())
    BytesGenerator(out, mangle_from_=True, policy=msg.policy.clone(linesep="\n")).flatten(msg)
    out.write(b"\n")
    return out.getvalue()
