"""The mail the e-forum sends by itself about one post: hold notices, held / approved /
rejected / refused / not-open replies.

Each is one `notify` call: built from `templates/mail/<template>.*`, marked as automatic
(RFC 3834) so nobody's auto-responder answers back, and enqueued in the caller's
transaction with a key that makes a retry send nothing twice.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from email.headerregistry import Address
from typing import Any

from flask import current_app
from flask_babel import LazyString
from flask_babel import gettext as _
from sqlalchemy import select

from forum.core import timezones
from forum.core.extensions import db
from forum.core.timezones import display_zones
from forum.core.tokens import make_token
from forum.core.urls import external_url
from forum.discussion.senders import SPAM_HOLD_REASON
from forum.mail import outbox
from forum.mail.addresses import approve_address
from forum.mail.compose import build_message
from forum.mail.headers import address
from forum.models import Event, JobRun, Officer, Panelist, Participant, Post, Subscription


def auto_headers(event: Event, auto: str = "auto-replied") -> dict[str, str]:
    """RFC 3834 marks on everything the list answers by itself, so nobody answers back."""
    return {"Auto-Submitted": auto, "X-Loop": event.list_address(current_app.config["LIST_DOMAIN"])}


def notify(
    event: Event,
    *,
    to: Address,
    subject: str,
    template: str,
    context: dict[str, Any],
    kind: str,
    key: str,
    sender: Address | None = None,
    reply_to: Address | None = None,
    auto: str = "auto-replied",
) -> None:
    """Build one notice from its template and enqueue it once (per `key`), in the language of
    the participant the address belongs to (English for anyone else)."""
    person = Participant.by_email(to.addr_spec)
    msg = build_message(
        to=to,
        language=person.language if person is not None else None,
        subject=subject,
        template=template,
        context={"event": event, **context},
        sender=sender,
        reply_to=reply_to,
        headers=auto_headers(event, auto),
    )
    outbox.enqueue(msg, kind=kind, key=key, event_id=event.id)


def permalink(post: Post) -> str:
    return external_url("discussion.post", slug=post.event.slug, post_id=post.id)


def format_instant(instant: datetime, zone: str) -> str:
    """`Tuesday, 9/10/2019 at 10:00 AM (Eastern)`, labelled as the display zones label it."""
    local = timezones.to_zone(instant, zone)
    label = next((z.label for z in display_zones() if z.name == zone), None)
    label = label or f"{timezones.zone_label(zone)} time"
    return f"{timezones.format_date(local)} at {timezones.format_time(local)} ({label})"


def moderator_recipients(event: Event) -> list[tuple[str, str, Panelist | None]]:
    """(email, name, panelist or None for officers) for everyone who gets hold notices."""
    seen: set[str] = set()
    out: list[tuple[str, str, Panelist | None]] = []
    for link in event.panelist_links:
        email = (link.panelist.email or "").strip()
        if link.role == "moderator" and email and email.lower() not in seen:
            seen.add(email.lower())
            out.append((email, link.panelist.name, link.panelist))
    for officer in db.session.scalars(select(Officer).where(Officer.active.is_(True)).order_by(Officer.id)):
        if officer.email.lower() not in seen:
            seen.add(officer.email.lower())
            out.append((officer.email, officer.name, None))
    if not out and event.contact_email:
        out.append((event.contact_email, event.contact_name, None))
    return out


#: At most one hold notice per moderator per event in this time: a flood of held posts (100
#: mails from a stranger) makes one notice listing them, not a notice per post per moderator.
HOLD_NOTICE_INTERVAL = timedelta(minutes=10)
#: Posts a notice lists in full; the rest are counted, and all are in the moderation queue.
HOLD_NOTICE_LISTED = 20
HOLD_JOB = "hold-notices"


def held_since_last_notice(at: datetime, event: Event | None = None) -> list[tuple[Event, list[Post]]]:
    """(event, posts still held and in no notice yet) for each event whose moderators may
    hear again: their last notice went out at least HOLD_NOTICE_INTERVAL before `at`."""
    noticed = (Post.status == "held") & (Post.hold_reason != SPAM_HOLD_REASON)  # spam: held in silence
    with_held = select(Post.event_id).where(noticed).distinct()
    if event is not None:
        with_held = with_held.where(Post.event_id == event.id)
    due = []
    for event_id in db.session.scalars(with_held).all():
        last = db.session.scalars(
            select(JobRun)
            .where(JobRun.kind == HOLD_JOB, JobRun.target == str(event_id))
            .order_by(JobRun.id.desc())
            .limit(1)
        ).first()
        if last is not None and at - last.ran_at < HOLD_NOTICE_INTERVAL:
            continue
        after = int(last.period) if last is not None and last.period.isdigit() else 0
        posts = list(
            db.session.scalars(
                select(Post)
                .where(Post.event_id == event_id, noticed, Post.id > after)
                .order_by(Post.id)
            )
        )
        held_event = db.session.get(Event, event_id)
        if posts and held_event is not None:
            due.append((held_event, posts))
    return due


def hold_notices(event: Event, posts: list[Post]) -> tuple[int, str]:
    """One notice per moderator listing the held `posts`; replying to a notice about one post
    approves it (each listed post has its own approve address). Returns (notices, note)."""
    domain = current_app.config["LIST_DOMAIN"]
    listed = posts[:HOLD_NOTICE_LISTED]
    approve = {post.id: approve_address(post) for post in listed}
    reply_to = (
        Address(display_name=f"Approve post {posts[0].id}", addr_spec=approve[posts[0].id])
        if len(posts) == 1
        else None
    )
    subject = (
        f"Held for moderation: {posts[0].subject}"
        if len(posts) == 1
        else f"{len(posts)} posts held for moderation in {event.title}"
    )
    count = 0
    for email, name, panelist in moderator_recipients(event):
        if panelist is not None:
            token = make_token("moderate", [event.id, panelist.id])
            queue = external_url("discussion.moderation", slug=event.slug, t=token)
        else:
            queue = external_url("discussion.moderation", slug=event.slug)
        notify(
            event,
            to=address(email, name),
            subject=subject,
            template="hold_notice",
            context={"posts": listed, "more": len(posts) - len(listed), "queue_url": queue, "approve": approve},
            kind="hold_notice",
            key=f"hold:{posts[0].id}-{posts[-1].id}:{email.lower()}",
            sender=address(f"{event.slug}-owner@{domain}", f"{event.title} moderation"),
            reply_to=reply_to,
            auto="auto-generated",
        )
        count += 1
    return count, f"{len(posts)} held post(s)"


def held_mail(event: Event, post: Post) -> None:
    """Tell the author their post waits for a moderator, so silence is not mistaken for loss."""
    notify(
        event,
        to=address(post.author_email, post.author_name),
        subject=LazyString(lambda: _("Your post to %(event)s is waiting for a moderator", event=event.title)),
        template="held",
        context={"post": post},
        kind="held",
        key=f"held:{post.id}",
    )


def approved_mail(post: Post, subscription: Subscription | None) -> None:
    """A held post was approved but its author gets no copy (digest or web only): say so once.

    The link carries the author's signed reader token when the archive is for subscribers.
    """
    event = post.event
    link = permalink(post)
    if subscription is not None and subscription.is_active and not event.archive_public:
        token = make_token("post", subscription.id)
        link = external_url("discussion.post", slug=event.slug, post_id=post.id, t=token)
    notify(
        event,
        to=address(post.author_email, post.author_name),
        subject=LazyString(lambda: _("Your post to %(event)s was approved", event=event.title)),
        template="approved",
        context={"post": post, "permalink": link},
        kind="approved",
        key=f"approved:{post.id}",
    )


def rejected_mail(post: Post) -> None:
    """The moderator's reason, to the author of a rejected post."""
    event = post.event
    notify(
        event,
        to=address(post.author_email, post.author_name),
        subject=LazyString(lambda: _("Your post to %(event)s was not accepted", event=event.title)),
        template="rejected",
        context={"post": post, "reason": post.reject_reason},
        kind="rejected",
        key=f"rejected:{post.id}",
    )


def refusal_mail(event: Event, email: str, name: str, subject: str, message_id: str, reason: str) -> None:
    """Explain a refusal to someone we know (callers check that: strangers get no backscatter)."""
    key = "refusal:" + hashlib.sha256(f"{event.id}:{message_id}".encode()).hexdigest()[:40]
    notify(
        event,
        to=address(email, name),
        subject=LazyString(lambda: _("Your message to %(event)s was not posted", event=event.title)),
        template="refusal",
        context={"subject": subject, "reason": reason},
        kind="refusal",
        key=key,
    )


def series_reply_mail(event: Event, registration: Subscription, subject: str, now: datetime) -> None:
    """The friendly answer to a reply sent to a webinar series' address: it reaches nobody,
    here is the contact (one a day per registrant; callers only call it for registrants)."""
    participant = registration.participant
    notify(
        event,
        to=address(participant.email, participant.name),
        subject=f"Re: {subject}" if subject else LazyString(lambda: _("About %(event)s", event=event.title)),
        template="series_reply",
        context={
            "name": participant.name,
            "subject": subject,
            "event_url": external_url("public.event", slug=event.slug),
        },
        kind="series_reply",
        key=f"series_reply:{event.id}:{registration.id}:{now.date().isoformat()}",
    )


def not_open_mail(
    event: Event, email: str, name: str, zone: str, subject: str, closed: str, now: datetime
) -> None:
    """The polite auto-reply with the forum's dates in the sender's zone (one a day per sender)."""
    start, end = event.starts_at, event.ends_at
    notify(
        event,
        to=address(email, name),
        subject=LazyString(lambda: _("%(event)s is not open for posts", event=event.title)),
        template="not_open",
        context={
            "name": name,
            "subject": subject,
            "closed": closed,
            "before": bool(start and now < start),
            "opens": format_instant(start, zone) if start else None,
            "closes": format_instant(end, zone) if end else None,
            "zone": zone,
        },
        kind="not_open",
        key=f"not_open:{event.id}:{email.lower()}:{now.date().isoformat()}",
    )
