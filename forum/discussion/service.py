"""The e-forum's rules: who may post, when, what is held, how threads form, who gets what.

Mail reaches these rules through the one inbound pipeline (`forum.mail.inbound.receive`,
re-exported here), which routes posts and moderators' replies to the handlers registered
at the end of this module; the web form calls `post_from_web`. Both return an `Outcome`
that each door turns into its own answer (an LMTP reply, a sysexits code, a page). Mail caused by a decision is enqueued in the
same transaction as the decision, with a key that makes a retry send nothing twice.
"""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import datetime
from html import escape
from typing import cast

from flask import current_app
from sqlalchemy import select

from forum.calendars import rsvp
from forum.common import audience, fanout
from forum.core import clock
from forum.core.extensions import db
from forum.core.text import html_within_limits, markdown, sanitize_html, text_to_html
from forum.discussion import authors, notices, senders, thread_choices
from forum.discussion.authors import Author, author_zone, find_author, is_moderator
from forum.discussion.notices import permalink
from forum.discussion.threads import place_in_thread, reply_subject
from forum.mail import outbox
from forum.mail.compose import ListOptions, list_id
from forum.mail.headers import new_message_id
from forum.mail.inbound import Inbound, Outcome, register_handler
from forum.mail.inbound import receive as receive  # the doors' entry point, re-exported
from forum.mail.links import post_url, threads_url
from forum.mail.list_copies import list_messages
from forum.mail.parse import ParsedMessage
from forum.models import Event, FanOut, Participant, Post, Subscription, Thread

log = logging.getLogger(__name__)

# --- when the forum takes posts ------------------------------------------------------------


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


def _screen(message: Inbound) -> Outcome | None:
    """Loops, automatic mail and mail with no usable From: dropped or refused before any rule."""
    parsed = message.parsed
    drop = _drop_reason(parsed, message.event, message.envelope_from)
    if drop:
        log.info("dropped message %s to %s: %s", parsed.message_id, message.recipient, drop)
        return Outcome("dropped", f"Dropped without reply: {drop}")
    if not parsed.from_email:
        return Outcome("unparseable", "The message has no usable From address")
    return None


def _moderator_command(message: Inbound) -> Outcome:
    """A reply to a hold notice (the signed approve address): approve or reject the post."""
    screened = _screen(message)
    if screened is not None:
        return screened
    assert message.target.approve_post_id is not None
    return _moderate_by_reply(message.event, message.target.approve_post_id, message.parsed)


def _series_reply(message: Inbound) -> Outcome:
    """Someone pressed Reply on a webinar series' mail (From `<slug>@LIST_DOMAIN`): a series
    has no list, so the sender is told whom to write to, once a day, and only when they
    are registered for it (never a stranger or a forged address of someone unknown: no
    backscatter). Calendar answers sent there are recorded (kind `calendar-reply`)."""
    screened = _screen(message)
    if screened is not None:
        return screened
    event, parsed = message.event, message.parsed
    registration = rsvp.registration_of(event, parsed.from_email)
    if registration is None:
        return Outcome("dropped", f"Dropped without reply: {parsed.from_email} is not registered for {event.title}")
    notices.series_reply_mail(event, registration, parsed.subject, clock.now())
    return Outcome("series_reply", f"{event.title} has no list; the sender was told whom to write to.")


def _post_by_mail(message: Inbound) -> Outcome:
    """A message to the list address: a post, held, refused or dropped by the forum's rules."""
    screened = _screen(message)
    if screened is not None:
        return screened
    raw, parsed, event = message.raw, message.parsed, message.event
    message_id = parsed.message_id or _derived_message_id(raw)
    if db.session.scalar(select(Post.id).where(Post.event_id == event.id, Post.message_id == message_id)):
        return Outcome("duplicate", "Already received")
    limit = int(current_app.config["MAX_POST_BYTES"])
    author = find_author(event, parsed.from_email, parsed.from_name)
    if len(raw) > limit:
        reason = f"The message is {len(raw)} bytes; posts to {event.title} may be at most {limit} bytes."
        if author is not None:
            notices.refusal_mail(
                event, parsed.from_email, parsed.from_name, parsed.subject, message_id, reason
            )
        return Outcome("too_big", reason)
    verified = message.from_authenticated
    if author is None:
        return _from_non_member(event, parsed, message_id, verified)
    now = clock.now()
    closed = closed_reason(event, now)
    if closed:
        zone = author_zone(event, author)
        notices.not_open_mail(event, author.email, author.name, zone, parsed.subject, closed, now)
        return Outcome("not_open", f"{closed} A reply with the forum's dates was sent.")
    post = _post_from_mail(event, author, parsed, message_id)
    return submit(post, author, notify_author=verified)  # a forged From hears nothing


def _from_non_member(event: Event, parsed: ParsedMessage, message_id: str, verified: bool = False) -> Outcome:
    """Mail from someone who is not a member: taken (250) and held or discarded, never refused.

    A refusal after DATA makes the MTA bounce to the envelope sender, which spam forges
    (backscatter). So, as list servers do, the post waits for a moderator (or is dropped,
    by the event's `non_member_posts`), and only a participant we know hears about it.
    """
    spam = senders.spam_reason(event, parsed)
    closed = closed_reason(event, clock.now())
    if spam is not None:
        discard = event.non_member_posts == "discard" or bool(closed)
        return _spam(event, parsed, message_id, spam, discard=discard)
    known = authors.is_known(parsed.from_email)
    reason = f"{parsed.from_email} is not a subscriber of {event.title}."
    if event.non_member_posts == "discard" or closed:
        if known:
            notices.refusal_mail(
                event,
                parsed.from_email,
                parsed.from_name,
                parsed.subject,
                message_id,
                f"{reason} Subscribe on the e-forum's page, confirm, then post again.",
            )
        return Outcome("discarded", f"Discarded: {reason}")
    participant = Participant.by_email(parsed.from_email)
    name = parsed.from_name or (participant.name if participant else "")
    author = Author(email=parsed.from_email, name=name, role="participant", participant=participant)
    post = _post_from_mail(event, author, parsed, message_id)
    trusted = senders.is_accepted(event, parsed.from_email)
    return submit(post, author, notify_author=known and verified, trusted=trusted)


def _spam(event: Event, parsed: ParsedMessage, message_id: str, spam: str, discard: bool) -> Outcome:
    """Non-member mail the MTA marked as spam: discarded, or held, without a word to anyone."""
    log.info("spam from non-member %s to %s (%s)", parsed.from_email, event.slug, spam)
    if discard:
        return Outcome("discarded", f"Discarded as spam: {spam}")
    author = Author(email=parsed.from_email, name=parsed.from_name, role="participant", participant=None)
    post = _post_from_mail(event, author, parsed, message_id)
    return submit(post, author, notify_author=False, quiet_hold=senders.SPAM_HOLD_REASON)


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


def _post_from_mail(event: Event, author: Author, parsed: ParsedMessage, message_id: str) -> Post:
    """The post a message makes: its text, and its HTML sanitised once.

    HTML beyond `text.html_within_limits` (too big or too deeply nested to sanitise
    quickly) is not sanitised at all: the post is shown from its text part, or from the
    text read out of the HTML, so a tag bomb costs a linear scan, not minutes.
    """
    text = parsed.text.strip("\n")
    usable_html = parsed.html if parsed.html and html_within_limits(parsed.html) else None
    if parsed.html and usable_html is None:
        log.info("HTML of %s too large or deep to sanitise; using its text", message_id)
    html = usable_html if usable_html is not None else text_to_html(text)
    if parsed.attachments:
        note = "\n".join(f"[Attachment removed: {a}]" for a in parsed.attachments)
        text = f"{text}\n\n{note}" if text else note
        html += "".join(
            f'<p class="attachment-note"><em>[Attachment removed: {escape(a)}]</em></p>'
            for a in parsed.attachments
        )
    safe_html = str(sanitize_html(html))  # the text was read out of the HTML already (parse)
    return Post(
        event_id=event.id,
        message_id=message_id[:255],
        in_reply_to=parsed.in_reply_to[:255] if parsed.in_reply_to else None,
        references=" ".join(parsed.references),
        subject=(parsed.subject or "(no subject)")[:300],
        author_name=(author.name or parsed.from_name)[:200],
        author_email=parsed.from_email[:320],
        body_text=text,
        body_html=safe_html,
        had_html=parsed.html is not None,
        stripped_attachments="\n".join(parsed.attachments),
        source="email",
        size=parsed.raw_size,
    )


# --- posting from the web ----------------------------------------------------------------------


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
    if author.subscription is None:
        return "The sender is not a subscriber of this e-forum."
    if event.moderation == "all":
        return "Every post to this e-forum is read by a moderator first."
    if event.moderation == "new" and (author.subscription is None or not author.subscription.posts_approved):
        return "First posts from new members are read by a moderator first."
    return None


def submit(
    post: Post, author: Author, notify_author: bool = True, *, trusted: bool = False, quiet_hold: str = ""
) -> Outcome:
    """Store a new post, threaded; hold it or accept and send it.

    `notify_author=False` holds without telling the author (a sender we do not know, or a
    From that our MTA did not authenticate: see `forum.mail.authres`). The moderators hear
    of held posts from the scheduler, one notice each per interval (`notices.hold_notices`).
    `trusted` (a sender on the accept list) skips the hold; `quiet_hold` holds for that
    reason with no notice to anyone, not even the moderators (spam: `senders.is_quiet`).
    """
    event = db.session.get(Event, post.event_id)
    assert event is not None
    post.participant = author.participant
    post.panelist = author.panelist
    post.author_role = author.role if author.is_panelist else "participant"
    post.is_panelist = author.is_panelist
    post.created_at = clock.now()
    db.session.add(post)
    place_in_thread(post, event)
    reason = quiet_hold or (None if trusted else hold_reason(event, author))
    if reason:
        post.status = "held"
        post.hold_reason = reason[:300]
        db.session.flush()
        if quiet_hold:
            return Outcome("held", f"Held without notice: {reason}", post)
        if notify_author:
            notices.held_mail(event, post)
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
        notices.approved_mail(post, sub)
    return True


def reject(post: Post, reason: str, moderator: str = "") -> bool:
    """Reject a held post and mail the reason to its author; False if it was not held.

    An author we have no record of (a non-member's post) gets no mail: the address may be forged.
    """
    if post.status != "held":
        return False
    post.status = "rejected"
    post.reject_reason = reason.strip()
    post.rejected_at = clock.now()
    post.moderated_by = moderator[:320]
    if authors.is_known(post.author_email):
        notices.rejected_mail(post)
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
    if first.lower().startswith(("always", "accept always")):
        senders.always_accept(event, post.author_email, parsed.from_email)
        accept(post, parsed.from_email)
        return Outcome("moderated", f"Post approved; {post.author_email} will always be accepted.", post)
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


# --- the fan-out -------------------------------------------------------------------------------


def fan_out(post: Post) -> int:
    """Enqueue the accepted post for every active each-message subscriber; returns how many new."""
    return fan_out_chunk(post)[0]


def fan_out_chunk(post: Post, after_id: int = 0, limit: int | None = None) -> tuple[int, int | None]:
    """Enqueue the post for up to `limit` subscribers with ids above `after_id`.

    Returns (copies new, the last subscription id done, or None when no subscriber is
    left). The scheduler expands a post's fan-out record in such steps (`accept` only
    records one, see forum/common/fanout.py), so a huge list's copies start going out while
    the rest are written. The body is encoded once per step and each copy personalised
    (`list_copies.list_messages`); one step's subscribers are loaded, never the whole list.
    """
    event = post.event
    # Read in full before anything is written (one step's worth), and the copies built before
    # the first INSERT: on SQLite the step then holds the write lock only while it inserts,
    # and the sender's marks, committed beside it (mail.lanes.Writer), wait milliseconds.
    # Plain rows, not ORM objects: a post's body is the same for everyone, so its copies read
    # only what `audience.Addressee` carries (ids, address, name, language; no `shared`,
    # `personal` or group callbacks below), under Subscription's attribute names.
    subscribers = audience.addressees(
        event, where=[thread_choices.gets_post(post.thread_id)], after_id=after_id, limit=limit
    )
    readers = cast("list[Subscription]", subscribers)

    link = permalink(post)
    author_name = post.author_display
    if post.is_panelist:
        author_name = f"{author_name} [{post.role_label}]"
    references = " ".join([*post.references.split(), *([post.in_reply_to] if post.in_reply_to else [])])
    refs = " ".join(dict.fromkeys(references.split())) or None

    copies = list_messages(
        event,
        readers,
        ListOptions(
            subject=post.subject,
            template="post",
            context={"post": post, "permalink": link},
            links=lambda sub: {"compose_url": post_url(sub), "threads_url": threads_url(sub)},
            author_name=author_name,
            author_email=post.author_email,
            message_id=post.message_id,
            in_reply_to=post.in_reply_to,
            references=refs,
            archived_at=link,
        ),
    )
    count = outbox.enqueue_copies(list(copies), kind="post", key=f"post:{post.id}", event_id=event.id)
    more = limit is not None and len(subscribers) >= limit
    return count, (subscribers[-1].id if more else None)


def _gets_each_post(subscription: Subscription | None) -> bool:
    """Whether the fan-out already mails this subscriber the post itself."""
    return subscription is not None and subscription.is_active and subscription.mode == "each"


def _post_fan_out(fan: FanOut) -> fanout.Step:
    """The "post" fan-out kind: the post to every "each message" subscriber, in steps."""
    post = db.session.get(Post, fan.target_id)
    if post is None or post.status != "accepted":
        return 0, "the post is no longer accepted", None
    count, after = fan_out_chunk(post, int(fan.params.get("after", 0)), fanout.POST_CHUNK)
    return count, "", after


fanout.register_kind("post", _post_fan_out)


register_handler("moderator-command", _moderator_command)
register_handler("post", _post_by_mail)
register_handler("series-reply", _series_reply)

__all__ = [
    "Outcome",
    "accept",
    "closed_reason",
    "fan_out",
    "post_from_web",
    "receive",
    "reject",
]
