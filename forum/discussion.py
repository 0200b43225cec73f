"""The e-forum's rules: who may post, when, what is held, how threads form, who gets what.

Every door (LMTP, `flask forum inject`, the web form) ends in `receive` or
`post_from_web`, which return an `Outcome` that each door turns into its own answer
(an LMTP reply, a sysexits code, a page). Mail caused by a decision is enqueued in the
same transaction as the decision, with a key that makes a retry send nothing twice.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from . import clock, fanout, timezones
from .extensions import db
from .mail import outbox
from .mail.compose import address, build_message, list_id, list_messages, new_message_id
from .mail.inbound import ParsedMessage, html_to_text, parse_message, text_to_html
from .models import Event, EventPanelist, Officer, Panelist, Participant, Post, Subscription, Thread
from .text import markdown, sanitize_html
from .tokens import address_tag, check_address_tag

log = logging.getLogger(__name__)

SUBJECT_PREFIX_RE = re.compile(r"^\s*((re|fwd?|aw|sv|antw|wg|tr)\s*(\[\d+\])?\s*:|\[[^\]]{0,80}\])\s*", re.I)
APPROVE_RE = re.compile(r"^(?P<slug>[a-z0-9][a-z0-9_-]*)\+approve-(?P<post>\d+)-(?P<sig>[0-9a-f]{24})$")
LEAVE_RE = re.compile(r"^(?P<slug>[a-z0-9][a-z0-9_-]*)\+leave-(?P<sub>\d+)-(?P<sig>[0-9a-f]{24})$")
BOUNCE_RE = re.compile(r"^(?P<slug>[a-z0-9][a-z0-9_-]*)\+bounce-(?P<sub>\d+)-(?P<sig>[0-9a-f]{24})$")

# status -> (LMTP reply, sysexits code)
_REPLIES = {
    "accepted": ("250 2.0.0", 0),
    "held": ("250 2.0.0", 0),
    "duplicate": ("250 2.0.0", 0),
    "dropped": ("250 2.0.0", 0),
    "not_open": ("250 2.0.0", 0),
    "moderated": ("250 2.0.0", 0),
    "unsubscribed": ("250 2.0.0", 0),
    "bounce": ("250 2.0.0", 0),
    "unknown_list": ("550 5.1.1", 67),
    "refused": ("550 5.7.1", 77),
    "too_big": ("552 5.3.4", 77),
    "unparseable": ("550 5.6.0", 65),
}


@dataclass
class Outcome:
    """What happened to one message for one recipient, and why (shown to whoever sent it)."""

    status: str
    reason: str
    post: Post | None = None

    @property
    def smtp_reply(self) -> str:
        code = _REPLIES[self.status][0]
        reason = " ".join(self.reason.split()).encode("ascii", "replace").decode()
        return f"{code} {reason}"[:500]

    @property
    def exit_code(self) -> int:
        return _REPLIES[self.status][1]


@dataclass
class Author:
    """A sender the forum knows: an active subscriber or a panelist of the forum."""

    email: str
    name: str
    role: str  # participant / panelist / moderator / presenter
    participant: Participant | None = None
    subscription: Subscription | None = None
    panelist: Panelist | None = None

    @property
    def is_panelist(self) -> bool:
        return self.panelist is not None


# --- addresses ----------------------------------------------------------------------------


def approve_signature(post_id: int) -> str:
    return address_tag("approve", post_id)


def approve_address(post: Post) -> str:
    """The hold notice's Reply-To: replying to it approves the post (lower-case, MTA-safe)."""
    domain = current_app.config["LIST_DOMAIN"]
    return f"{post.event.slug}+approve-{post.id}-{approve_signature(post.id)}@{domain}"


@dataclass
class Target:
    event: Event
    approve_post_id: int | None = None
    leave_subscription_id: int | None = None
    bounce_subscription_id: int | None = None


def resolve(recipient: str) -> Target | None:
    """The forum (and, for approve addresses, the post) a recipient address names."""
    local, _, domain = recipient.strip().strip("<>").rpartition("@")
    if domain.lower() != current_app.config["LIST_DOMAIN"].lower() or not local:
        return None
    local = local.lower()
    leave = LEAVE_RE.match(local)
    if leave:  # List-Unsubscribe mailto: any event kind, not only e-forums
        if not check_address_tag("leave", int(leave["sub"]), leave["sig"]):
            return None
        event = Event.by_slug(leave["slug"])
        return Target(event=event, leave_subscription_id=int(leave["sub"])) if event else None
    bounce = BOUNCE_RE.match(local)
    if bounce:  # VERP return path of a subscriber's mail (links.bounce_address): any event kind
        if not check_address_tag("bounce", int(bounce["sub"]), bounce["sig"]):
            return None
        event = Event.by_slug(bounce["slug"])
        return Target(event=event, bounce_subscription_id=int(bounce["sub"])) if event else None
    post_id = None
    match = APPROVE_RE.match(local)
    if match:
        if not check_address_tag("approve", int(match["post"]), match["sig"]):
            return None
        local, post_id = match["slug"], int(match["post"])
    elif "+" in local:
        return None
    event = Event.by_slug(local)
    if event is None or not event.is_eforum or event.status == "draft":
        return None
    return Target(event=event, approve_post_id=post_id)


def check_recipient(recipient: str) -> str | None:
    """None when we take mail for `recipient`, else the LMTP reply refusing it."""
    if resolve(recipient) is None:
        return f"550 5.1.1 No e-forum at {recipient[:200]}"
    return None


# --- subjects and threads ------------------------------------------------------------------


def subject_key(subject: str) -> str:
    """`Re: [list] Fwd: Mentoring ideas` -> `mentoring ideas`: the fallback threading key."""
    text = subject or ""
    while True:
        stripped = SUBJECT_PREFIX_RE.sub("", text, count=1)
        if stripped == text:
            break
        text = stripped
    return " ".join(text.lower().split())[:300]


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


# --- who is writing --------------------------------------------------------------------------


def find_author(event: Event, email: str, name: str = "") -> Author | None:
    """The sender as a member of this forum: a panelist link wins over a subscription."""
    key = email.strip().lower()
    link = db.session.scalar(
        select(EventPanelist)
        .join(Panelist)
        .where(EventPanelist.event_id == event.id, func.lower(Panelist.email) == key)
        .limit(1)
    )
    participant = Participant.by_email(key)
    subscription = None
    if participant is not None:
        subscription = db.session.scalar(
            select(Subscription).where(
                Subscription.event_id == event.id,
                Subscription.participant_id == participant.id,
            )
        )
    if link is not None:
        return Author(
            email=email,
            name=link.panelist.name or name,
            role=link.role if link.role in ("moderator", "presenter") else "panelist",
            participant=participant,
            subscription=subscription if subscription and subscription.status == "active" else None,
            panelist=link.panelist,
        )
    if subscription is not None and subscription.status == "active":
        return Author(
            email=email,
            name=name or participant.name,  # type: ignore[union-attr]
            role="participant",
            participant=participant,
            subscription=subscription,
        )
    return None


def is_moderator(event: Event, email: str) -> bool:
    """Officers, the event's contact, and its panelists with the moderator role."""
    key = email.strip().lower()
    if not key:
        return False
    officer = Officer.by_email(key)
    if officer is not None and officer.active:
        return True
    if event.contact_email and event.contact_email.strip().lower() == key:
        return True
    return any(
        link.role == "moderator" and (link.panelist.email or "").strip().lower() == key
        for link in event.panelist_links
    )


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


# --- time in the reader's zone --------------------------------------------------------------


def format_instant(instant: datetime, zone: str) -> str:
    """`Tuesday, 9/10/2019 at 10:00 AM (Eastern)`, labelled as the display zones label it."""
    from .web.helpers import display_zones

    local = timezones.to_zone(instant, zone)
    label = next((z.label for z in display_zones() if z.name == zone), None)
    label = label or f"{timezones.zone_label(zone)} time"
    return f"{timezones.format_date(local)} at {timezones.format_time(local)} ({label})"


def author_zone(event: Event, author: Author) -> str:
    zone = author.participant.timezone if author.participant else None
    return zone if zone and timezones.is_zone(zone) else event.timezone


def closed_reason(event: Event, now: datetime) -> str | None:
    """Why the forum takes no posts right now, or None when it is open."""
    if event.is_open(now):
        return None
    if event.status == "cancelled":
        return "This e-forum was cancelled and takes no posts."
    start, end = event.starts_at, event.ends_at
    if start is None or end is None:
        return "This e-forum has no dates yet and takes no posts."
    if now < start:
        return "This e-forum is not open yet."
    return "This e-forum has closed."


# --- receiving mail ------------------------------------------------------------------------


def receive(raw: bytes, recipient: str, envelope_from: str = "") -> Outcome:
    """Handle one message for one recipient address; commits, and never raises for bad input."""
    try:
        outcome = _receive(raw, recipient, envelope_from)
        db.session.commit()
        return outcome
    except IntegrityError:
        db.session.rollback()
        return Outcome("duplicate", "Already received")
    except Exception:
        db.session.rollback()
        raise


def _leave_by_mail(event: Event, subscription_id: int) -> Outcome:
    """RFC 2369 mailto unsubscribe: the signed address is the authority, not the sender.

    Mail providers send these on the user's behalf (often auto-generated), so none of
    the posting checks apply; leaving twice is harmless.
    """
    from . import subscriptions

    subscription = db.session.get(Subscription, subscription_id)
    if subscription is None or subscription.event_id != event.id:
        return Outcome("unknown_list", "No such subscription")
    if subscription.status != "unsubscribed":
        subscriptions.unsubscribe(subscription)
    return Outcome("unsubscribed", f"Unsubscribed from {event.title}")


def _bounce(event: Event, subscription_id: int, raw: bytes) -> Outcome:
    """Mail to a subscriber's VERP bounce address: a DSN may count; nothing is ever answered."""
    from .mail import bounces

    result = bounces.handle(subscription_id, event.id, raw)
    if not result.counted:
        log.info("bounce address of subscription %s: %s", subscription_id, result.reason)
    return Outcome("bounce" if result.counted else "dropped", result.reason)


def _receive(raw: bytes, recipient: str, envelope_from: str) -> Outcome:
    target = resolve(recipient)
    if target is None:
        return Outcome("unknown_list", f"No e-forum at {recipient[:200]}")
    event = target.event
    if target.leave_subscription_id is not None:
        return _leave_by_mail(event, target.leave_subscription_id)
    if target.bounce_subscription_id is not None:
        return _bounce(event, target.bounce_subscription_id, raw)
    parsed = parse_message(raw)
    drop = _drop_reason(parsed, event, envelope_from)
    if drop:
        log.info("dropped message %s to %s: %s", parsed.message_id, recipient, drop)
        return Outcome("dropped", f"Dropped without reply: {drop}")
    if not parsed.from_email:
        return Outcome("unparseable", "The message has no usable From address")
    if target.approve_post_id is not None:
        return _moderate_by_reply(event, target.approve_post_id, parsed)
    message_id = parsed.message_id or _derived_message_id(raw)
    if db.session.scalar(select(Post.id).where(Post.event_id == event.id, Post.message_id == message_id)):
        return Outcome("duplicate", "Already received")
    limit = int(current_app.config["MAX_POST_BYTES"])
    author = find_author(event, parsed.from_email, parsed.from_name)
    if len(raw) > limit:
        reason = f"The message is {len(raw)} bytes; posts to {event.title} may be at most {limit} bytes."
        _refusal_mail(event, parsed, message_id, reason, known=author is not None)
        return Outcome("too_big", reason)
    if author is None:
        reason = (
            f"{parsed.from_email} is not a subscriber of {event.title}. "
            "Subscribe on the e-forum's page, confirm, then post again."
        )
        _refusal_mail(event, parsed, message_id, reason, known=_is_known(parsed.from_email))
        return Outcome("refused", reason)
    now = clock.now()
    closed = closed_reason(event, now)
    if closed:
        _not_open_mail(event, author, parsed.subject, closed, now)
        return Outcome("not_open", f"{closed} A reply with the forum's dates was sent.")
    post = _post_from_mail(event, author, parsed, message_id)
    return submit(post, author)


def _derived_message_id(raw: bytes) -> str:
    """A stable id for a message that came without one, so a redelivery is still a duplicate."""
    digest = hashlib.sha256(raw).hexdigest()[:32]
    return f"<{digest}@{current_app.config['LIST_DOMAIN']}>"


def _drop_reason(parsed: ParsedMessage, event: Event, envelope_from: str) -> str | None:
    """Loops and automatic mail: dropped silently, because answering them makes loops."""
    domain = current_app.config["LIST_DOMAIN"].lower()
    for value in parsed.x_loops:
        if value.lower().strip().strip("<>").endswith("@" + domain):
            return f"mail loop (X-Loop: {value})"
    own_list_id = list_id(event).rpartition("<")[2].lower()
    for value in parsed.list_ids:
        lowered = value.lower()
        if own_list_id in lowered or lowered.rstrip(">").endswith("." + domain):
            return f"mail loop (List-Id: {value})"
    if parsed.auto_reason:
        return f"automatic message ({parsed.auto_reason})"
    if envelope_from.strip() in ("<>",) or envelope_from.lower().startswith("mailer-daemon@"):
        return "bounce (empty envelope sender)"
    return None


def _is_known(email: str) -> bool:
    """Someone we have a record of, so a refusal goes to a person and not to a forged address."""
    if Participant.by_email(email) is not None:
        return True
    return (
        db.session.scalar(select(Panelist.id).where(func.lower(Panelist.email) == email.strip().lower()))
        is not None
    )


def _post_from_mail(event: Event, author: Author, parsed: ParsedMessage, message_id: str) -> Post:
    text = parsed.text.strip("\n")
    if parsed.html:
        html = str(sanitize_html(parsed.html))
        if not text.strip():
            text = html_to_text(html)
    else:
        html = text_to_html(text)
    if parsed.attachments:
        note = "\n".join(f"[Attachment removed: {a}]" for a in parsed.attachments)
        text = f"{text}\n\n{note}" if text else note
        html += "".join(
            f'<p class="attachment-note"><em>[Attachment removed: {_esc(a)}]</em></p>'
            for a in parsed.attachments
        )
    return Post(
        event_id=event.id,
        message_id=message_id[:255],
        in_reply_to=parsed.in_reply_to[:255] if parsed.in_reply_to else None,
        references=" ".join(parsed.references),
        subject=(parsed.subject or "(no subject)")[:300],
        author_name=(author.name or parsed.from_name)[:200],
        author_email=parsed.from_email[:320],
        body_text=text,
        body_html=str(sanitize_html(html)),
        had_html=parsed.html is not None,
        stripped_attachments="\n".join(parsed.attachments),
        source="email",
        size=parsed.raw_size,
    )


def _esc(value: str) -> str:
    from html import escape

    return escape(value)


# --- posting from the web ----------------------------------------------------------------------


def reply_subject(subject: str) -> str:
    """`Re: <subject>` for a reply, without stacking a second `Re:`."""
    return subject if subject.lower().startswith("re:") else f"Re: {subject}"


def post_from_web(subscription: Subscription, subject: str, body: str, parent: Post | None = None) -> Outcome:
    """A subscriber's post from the web form: same rules as mail, with a fresh Message-ID."""
    event = subscription.event
    participant = subscription.participant
    author = find_author(event, participant.email, participant.name)
    if author is None:
        return Outcome("refused", "Your subscription to this e-forum is not active.")
    closed = closed_reason(event, clock.now())
    if closed:
        return Outcome("not_open", closed)
    references = ""
    in_reply_to = None
    if parent is not None and parent.event_id == event.id:
        in_reply_to = parent.message_id
        references = " ".join([*parent.references.split(), parent.message_id][-50:])
    if parent is not None and not subject.strip():
        subject = reply_subject(parent.subject)
    post = Post(
        event_id=event.id,
        message_id=new_message_id(),
        in_reply_to=in_reply_to,
        references=references,
        subject=(" ".join(subject.split()) or "(no subject)")[:300],
        author_name=(author.name or participant.name)[:200],
        author_email=participant.email,
        body_text=body.replace("\r\n", "\n").strip(),
        body_html=str(markdown(body)),
        source="web",
        size=len(body.encode()),
    )
    outcome = submit(post, author)
    db.session.commit()
    return outcome


# --- moderation and acceptance -------------------------------------------------------------------


def hold_reason(event: Event, author: Author) -> str | None:
    """Why this author's post waits for a moderator under the forum's policy, or None."""
    if author.is_panelist:
        return None
    if event.moderation == "all":
        return "Every post to this e-forum is read by a moderator first."
    if event.moderation == "new" and (author.subscription is None or not author.subscription.posts_approved):
        return "First posts from new members are read by a moderator first."
    return None


def submit(post: Post, author: Author) -> Outcome:
    """Store a new post, threaded; hold it or accept and send it."""
    event = db.session.get(Event, post.event_id)
    assert event is not None
    post.participant = author.participant
    post.panelist = author.panelist
    post.author_role = author.role if author.is_panelist else "participant"
    post.is_panelist = author.is_panelist
    post.created_at = clock.now()
    db.session.add(post)
    place_in_thread(post, event)
    reason = hold_reason(event, author)
    if reason:
        post.status = "held"
        post.hold_reason = reason
        db.session.flush()
        _hold_notices(event, post)
        _held_mail(event, post)
        return Outcome("held", f"Held for moderation: {reason}", post)
    accept(post)
    return Outcome("accepted", "Accepted and sent to the list", post)


def accept(post: Post, moderator: str = "") -> bool:
    """Archive and fan out a post; False (and nothing sent) if it was not held or new."""
    if post.status == "accepted" or post.status == "rejected":
        return False
    was_held = post.status == "held"
    now = clock.now()
    post.status = "accepted"
    post.accepted_at = now
    post.moderated_by = moderator[:320]
    thread = db.session.get(Thread, post.thread_id) if post.thread_id else None
    if thread is None:
        place_in_thread(post, post.event)
        thread = db.session.get(Thread, post.thread_id)
    assert thread is not None
    thread.post_count = (thread.post_count or 0) + 1
    thread.last_post_at = now
    sub = None
    if post.participant_id is not None:
        sub = db.session.scalar(
            select(Subscription).where(
                Subscription.event_id == post.event_id,
                Subscription.participant_id == post.participant_id,
            )
        )
        if sub is not None:
            sub.posts_approved = (sub.posts_approved or 0) + 1
    db.session.flush()
    fanout.record("post", f"post:{post.id}", event_id=post.event_id, target_id=post.id)
    if was_held and not _gets_each_post(sub):
        _approved_mail(post, sub)
    return True


def reject(post: Post, reason: str, moderator: str = "") -> bool:
    """Reject a held post and mail the reason to its author; False if it was not held."""
    if post.status != "held":
        return False
    post.status = "rejected"
    post.reject_reason = reason.strip()
    post.rejected_at = clock.now()
    post.moderated_by = moderator[:320]
    event = post.event
    msg = build_message(
        to=address(post.author_email, post.author_name),
        subject=f"Your post to {event.title} was not accepted",
        template="rejected",
        context={"event": event, "post": post, "reason": post.reject_reason},
        headers=_auto_headers(event),
    )
    outbox.enqueue(msg, kind="rejected", key=f"rejected:{post.id}", event_id=event.id)
    return True


def _moderate_by_reply(event: Event, post_id: int, parsed: ParsedMessage) -> Outcome:
    """A moderator replied to a hold notice: approve, or reject if the reply starts with "reject"."""
    post = db.session.get(Post, post_id)
    if post is None or post.event_id != event.id:
        return Outcome("refused", "That post no longer exists.")
    if not is_moderator(event, parsed.from_email):
        return Outcome("refused", f"{parsed.from_email} is not a moderator of {event.title}.")
    if post.status != "held":
        return Outcome("moderated", f"That post was already {post.status}; nothing changed.", post)
    first, rest = _reply_command(parsed.text)
    if first.lower().startswith("reject"):
        reason = (
            first[len("reject") :].strip(" :-") + "\n" + rest
        ).strip() or "Not accepted by the moderator."
        reject(post, reason, parsed.from_email)
        return Outcome("moderated", "Post rejected; the reason was sent to its author.", post)
    accept(post, parsed.from_email)
    return Outcome("moderated", "Post approved and sent to the list.", post)


def _reply_command(text: str) -> tuple[str, str]:
    """First line the moderator wrote (quotes skipped) and the lines after it, up to the quote."""
    lines = [line for line in text.splitlines()]
    own: list[str] = []
    for line in lines:
        if line.startswith(">") or re.match(r"^On .+wrote:\s*$", line) or line.strip() == "--":
            break
        own.append(line.strip())
    own = [line for line in own if line]
    if not own:
        return "", ""
    return own[0], "\n".join(own[1:])


# --- mail it causes -------------------------------------------------------------------------------


def _auto_headers(event: Event) -> dict[str, str]:
    """RFC 3834 marks on everything the list answers by itself, so nobody answers back."""
    domain = current_app.config["LIST_DOMAIN"]
    return {"Auto-Submitted": "auto-replied", "X-Loop": event.list_address(domain)}


def permalink(post: Post) -> str:
    from .web.urls import external_url

    return external_url("discussion.post", slug=post.event.slug, post_id=post.id)


def fan_out(post: Post) -> int:
    """Enqueue the accepted post for every active each-message subscriber; returns how many new."""
    return fan_out_chunk(post)[0]


def fan_out_chunk(post: Post, after_id: int = 0, limit: int | None = None) -> tuple[int, int | None]:
    """Enqueue the post for up to `limit` subscribers with ids above `after_id`.

    Returns (copies new, the last subscription id done, or None when no subscriber is
    left). The scheduler expands a post's fan-out record in such steps (`accept` only
    records one, see forum/fanout.py), so a huge list's copies start going out while
    the rest are written. The body is encoded once per step and each copy personalised
    (`compose.list_messages`); subscribers are streamed, not all loaded.
    """
    event = post.event
    stmt = (
        select(Subscription)
        .where(
            Subscription.event_id == event.id,
            Subscription.status == "active",
            Subscription.mode == "each",
            Subscription.id > after_id,
        )
        .options(selectinload(Subscription.participant))
        .order_by(Subscription.id)
        .execution_options(yield_per=1000)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    progress = {"count": 0, "last": after_id}

    def subscribers() -> Iterator[Subscription]:
        for sub in db.session.scalars(stmt):
            progress["count"] += 1
            progress["last"] = sub.id
            yield sub

    from .links import post_url

    link = permalink(post)
    author_name = post.author_display
    if post.is_panelist:
        author_name = f"{author_name} [{post.role_label}]"
    references = " ".join([*post.references.split(), *([post.in_reply_to] if post.in_reply_to else [])])
    refs = " ".join(dict.fromkeys(references.split())) or None

    copies = list_messages(
        event=event,
        subscriptions=subscribers(),
        subject=post.subject,
        template="post",
        context={"post": post, "permalink": link},
        links=lambda sub: {"compose_url": post_url(sub)},
        author_name=author_name,
        author_email=post.author_email,
        message_id=post.message_id,
        in_reply_to=post.in_reply_to,
        references=refs,
        archived_at=link,
    )
    count = outbox.enqueue_copies(copies, kind="post", key=f"post:{post.id}", event_id=event.id)
    more = limit is not None and progress["count"] >= limit
    return count, (progress["last"] if more else None)


def _hold_notices(event: Event, post: Post) -> None:
    from .tokens import make_token
    from .web.urls import external_url

    domain = current_app.config["LIST_DOMAIN"]
    reply_to = Address(display_name=f"Approve post {post.id}", addr_spec=approve_address(post))
    for email, name, panelist in moderator_recipients(event):
        if panelist is not None:
            token = make_token("moderate", [event.id, panelist.id])
            queue = external_url("discussion.moderation", slug=event.slug, t=token)
        else:
            queue = external_url("discussion.moderation", slug=event.slug)
        msg = build_message(
            to=address(email, name),
            subject=f"Held for moderation: {post.subject}",
            template="hold_notice",
            context={"event": event, "post": post, "queue_url": queue, "approve_address": reply_to.addr_spec},
            sender=address(f"{event.slug}-owner@{domain}", f"{event.title} moderation"),
            reply_to=reply_to,
            headers={"Auto-Submitted": "auto-generated", "X-Loop": event.list_address(domain)},
        )
        outbox.enqueue(msg, kind="hold_notice", key=f"hold:{post.id}:{email.lower()}", event_id=event.id)


def _held_mail(event: Event, post: Post) -> None:
    """Tell the author their post waits for a moderator, so silence is not mistaken for loss."""
    msg = build_message(
        to=address(post.author_email, post.author_name),
        subject=f"Your post to {event.title} is waiting for a moderator",
        template="held",
        context={"event": event, "post": post},
        headers=_auto_headers(event),
    )
    outbox.enqueue(msg, kind="held", key=f"held:{post.id}", event_id=event.id)


def _gets_each_post(subscription: Subscription | None) -> bool:
    """Whether the fan-out already mails this subscriber the post itself."""
    return subscription is not None and subscription.status == "active" and subscription.mode == "each"


def _approved_mail(post: Post, subscription: Subscription | None) -> None:
    """A held post was approved but its author gets no copy (digest or web only): say so once.

    The link carries the author's signed reader token when the archive is for subscribers.
    """
    event = post.event
    link = permalink(post)
    if subscription is not None and subscription.status == "active" and not event.archive_public:
        from .tokens import make_token
        from .web.urls import external_url

        token = make_token("post", subscription.id)
        link = external_url("discussion.post", slug=event.slug, post_id=post.id, t=token)
    msg = build_message(
        to=address(post.author_email, post.author_name),
        subject=f"Your post to {event.title} was approved",
        template="approved",
        context={"event": event, "post": post, "permalink": link},
        headers=_auto_headers(event),
    )
    outbox.enqueue(msg, kind="approved", key=f"approved:{post.id}", event_id=event.id)


def _refusal_mail(event: Event, parsed: ParsedMessage, message_id: str, reason: str, known: bool) -> None:
    """Explain a refusal to someone we know; strangers only get the SMTP reply (no backscatter)."""
    if not known:
        return
    msg = build_message(
        to=address(parsed.from_email, parsed.from_name),
        subject=f"Your message to {event.title} was not posted",
        template="refusal",
        context={"event": event, "subject": parsed.subject, "reason": reason},
        headers=_auto_headers(event),
    )
    key = "refusal:" + hashlib.sha256(f"{event.id}:{message_id}".encode()).hexdigest()[:40]
    outbox.enqueue(msg, kind="refusal", key=key, event_id=event.id)


def _not_open_mail(event: Event, author: Author, subject: str, closed: str, now: datetime) -> None:
    """The polite auto-reply with the forum's dates in the sender's zone (one a day per sender)."""
    zone = author_zone(event, author)
    start, end = event.starts_at, event.ends_at
    msg = build_message(
        to=address(author.email, author.name),
        subject=f"{event.title} is not open for posts",
        template="not_open",
        context={
            "event": event,
            "name": author.name,
            "subject": subject,
            "closed": closed,
            "before": bool(start and now < start),
            "opens": format_instant(start, zone) if start else None,
            "closes": format_instant(end, zone) if end else None,
            "zone": zone,
        },
        headers=_auto_headers(event),
    )
    day = now.date().isoformat()
    key = f"not_open:{event.id}:{author.email.lower()}:{day}"
    outbox.enqueue(msg, kind="not_open", key=key, event_id=event.id)


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
    return list(
        db.session.scalars(
            select(Post)
            .where(Post.event_id == event.id, Post.status == "held")
            .order_by(Post.created_at, Post.id)
        )
    )


def search(event: Event, query: str, limit: int = 100) -> list[Post]:
    """Accepted posts whose subject, author or text contain every word of the query."""
    words = [w for w in query.split() if w][:8]
    if not words:
        return []
    stmt = select(Post).where(Post.event_id == event.id, Post.status == "accepted")
    for word in words:
        pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(
            Post.subject.ilike(pattern, escape="\\")
            | Post.body_text.ilike(pattern, escape="\\")
            | Post.author_name.ilike(pattern, escape="\\")
        )
    return list(db.session.scalars(stmt.order_by(Post.accepted_at.desc(), Post.id.desc()).limit(limit)))


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


__all__ = [
    "Outcome",
    "accept",
    "check_recipient",
    "fan_out",
    "post_from_web",
    "receive",
    "reject",
    "search",
    "subject_key",
]
