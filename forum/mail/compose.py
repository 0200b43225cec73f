"""Build `EmailMessage`s from Jinja2 templates: text and HTML from the same data.

Every value that may come from a user (names, subjects, titles, ids from inbound
mail) is cleaned of line breaks before it reaches a header, and display names go
through `email.headerregistry.Address`, which quotes or RFC 2047-encodes them: no
header can be injected through any field.

The URL-bearing list headers (RFC 2369 ``List-*``, ``Archived-At``) and message-id
lists are written pre-folded and kept as written (``refold_source="none"``): the
email package would otherwise turn a long unsubscribe URL into encoded-words that
mail clients cannot use.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid, parseaddr
from typing import Any

from flask import current_app, render_template
from jinja2 import TemplateNotFound

from forum.common import branding
from forum.core import clock
from forum.core.urls import external_url
from forum.mail.bulk import Attachment, BodyTemplate, InlinePart
from forum.mail.links import preferences_url, unsubscribe_mailto, unsubscribe_url
from forum.mail.policy import POLICY
from forum.models import Event, Subscription

#: Headers whose values are URL or msg-id lists: written as given (ASCII, pre-folded).
RAW_HEADERS = frozenset(
    {
        "list-id",
        "list-unsubscribe",
        "list-unsubscribe-post",
        "list-post",
        "list-help",
        "list-archive",
        "list-subscribe",
        "list-owner",
        "archived-at",
        "in-reply-to",
        "references",
        "message-id",
    }
)
_HEADER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")
_ATEXT = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]*$")
_MAX_RAW_LINE = 900  # RFC 5322 allows 998 octets a line; stay well below
_SIMPLE_ADDR = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")


def clean_header_text(value: str) -> str:
    """Collapse any line breaks or control characters a user put into a header value."""
    value = str(value)
    if value.isprintable():  # the usual case, without a per-character pass
        return " ".join(value.split())
    return " ".join("".join(ch if ch.isprintable() else " " for ch in str(value)).split())


def address(email: str, name: str = "") -> Address:
    """A header address; the display name is cleaned and encoded by the email package."""
    email = clean_header_text(email)
    local, at, domain = email.rpartition("@")
    if not at or not local or not domain:
        raise ValueError(f"not an email address: {email!r}")
    return Address(display_name=clean_header_text(name), username=local, domain=domain)


def as_address(value: str | Address) -> Address:
    """An Address from an Address or a `Name <addr>` / bare address string, cleaned."""
    if isinstance(value, Address):
        return address(value.addr_spec, value.display_name)
    name, addr = parseaddr(clean_header_text(value))
    if not addr:
        raise ValueError(f"not an email address: {value!r}")
    return address(addr, name)


def new_message_id() -> str:
    """A unique Message-ID on the list domain (never the host name, which may be private)."""
    return make_msgid(domain=current_app.config["LIST_DOMAIN"])


def _raw_header(message: EmailMessage, name: str) -> list[str]:
    """Header values as stored (raw_items), skipping the email package's slow re-parse."""
    return [str(value) for key, value in message.raw_items() if key.lower() == name.lower()]


def recipient_of(message: EmailMessage) -> str:
    """The single `To` address of an outbound message (one row, one recipient)."""
    recipients = [addr for _, addr in getaddresses(_raw_header(message, "To")) if addr]
    if len(recipients) != 1:
        raise ValueError(f"an outbound message has exactly one recipient, got {recipients!r}")
    return recipients[0]


def sender_of(message: EmailMessage) -> str:
    """The envelope sender: the `From` address (the list's own address for list mail)."""
    return next((a for _, a in getaddresses(_raw_header(message, "From")) if a), "")


#: Characters RFC 2047 (5.3) lets stand for themselves in an encoded word inside a phrase.
_Q_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*+-/")
_WORD_PAYLOAD = 66 - len("=?utf-8?q??=")  # encoded words of at most 66 characters


def _q(ch: str) -> str:
    if ch in _Q_SAFE:
        return ch
    if ch == " ":
        return "_"
    return "".join(f"={b:02X}" for b in ch.encode("utf-8"))


def _encoded_words(run: str) -> list[str]:
    """`run` as RFC 2047 Q encoded words of at most 66 characters, split between characters,
    at a space where one is near (the space stays inside the earlier word)."""
    words: list[str] = []
    chunk = ""
    for ch in run:
        piece = _q(ch)
        if len(chunk) + len(piece) > _WORD_PAYLOAD:
            cut = chunk.rfind("_") + 1 if "_" in chunk[len(chunk) // 2 :] else len(chunk)
            words.append(chunk[:cut])
            chunk = chunk[cut:]
        chunk += piece
    if chunk:
        words.append(chunk)
    return [f"=?utf-8?q?{w}?=" for w in words]


def phrase(text: str) -> str:
    """`text` as an RFC 5322 phrase: atoms as they are, quoted when needed, RFC 2047 if not ASCII.

    Non-ASCII: each run of words that are not plain atoms becomes encoded words of at most
    66 characters, plain ASCII words stay as they are, all separated by single spaces so
    the caller can fold there. Decoders differ on the space between two encoded words
    (RFC 2047 drops it; Python's address parser keeps it), so a run is only split where
    the text has a space of its own.
    """
    text = clean_header_text(text)
    if text.isascii():
        if _ATEXT.match(text):
            return text
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    tokens: list[str] = []
    run: list[str] = []
    for word in text.split(" "):
        if _ATEXT.match(word) and word:
            if run:
                tokens.extend(_encoded_words(" ".join(run)))
                run = []
            tokens.append(word)
        else:
            run.append(word)
    if run:
        tokens.extend(_encoded_words(" ".join(run)))
    return " ".join(tokens)


def phrase_words(text: str) -> str:
    """Unstructured text (a Subject) as RFC 2047 encoded words when it is not ASCII, each at
    most 66 characters on its own line; ASCII text as it is."""
    return text if text.isascii() else Header(text, "utf-8").encode(splitchars=" ", maxlinelen=66)


def fold_list(items: list[str], sep: str = ",") -> str:
    """Join URL/id items, one per continuation line when long, never breaking inside one."""
    line = ", ".join(items) if sep == "," else " ".join(items)
    if len(line) <= 70:
        return line
    joiner = ",\n " if sep == "," else "\n "
    return joiner.join(items)


def fold_words(text: str, indent: int = 0) -> str | None:
    """Fold an ASCII value at spaces into lines of about 76 characters (None: a word too long)."""
    words = text.split(" ")
    if any(len(word) > _MAX_RAW_LINE for word in words):
        return None
    lines: list[str] = []
    line, width = "", indent
    for word in words:
        if line and width + 1 + len(word) > 76:
            lines.append(line)
            line, width = word, 1 + len(word)
        else:
            line = f"{line} {word}" if line else word
            width += len(word) + (1 if width > indent else 0)
    lines.append(line)
    return "\n ".join(lines)


def _raw_value(name: str, value: str) -> str | None:
    """The value as written raw (ASCII, cleaned, pre-folded), or None: the email package writes it."""
    if not _HEADER_NAME.match(name):
        raise ValueError(f"invalid header name {name!r}")
    if name.lower() in RAW_HEADERS:
        parts = [clean_header_text(part) for part in str(value).split("\n")]
        parts = [part for part in parts if part]
        raw: str | None = "\n ".join(parts)
        if not all(len(part) <= _MAX_RAW_LINE for part in parts):
            raw = None
    else:
        cleaned = clean_header_text(value)
        raw = fold_words(cleaned, indent=len(name) + 2)
    return raw if raw is not None and raw.isascii() else None


def set_header(msg: EmailMessage, name: str, value: str) -> None:
    """Add one header safely: the value cleaned of line breaks, then written as-is when ASCII.

    List/URL headers may come pre-folded (items joined with newlines); their parts are
    cleaned one by one and kept on their own lines. Non-ASCII values go through the
    email package, which RFC 2047-encodes them.
    """
    raw = _raw_value(name, value)
    if raw is not None:
        msg.set_raw(name, raw)
    elif name.lower() not in RAW_HEADERS:  # unstructured text: encoded words, 66 a line
        msg.set_raw(name, phrase_words(clean_header_text(value)))
    else:
        msg[name] = clean_header_text(value)


def header_line(name: str, value: str) -> bytes:
    """`set_header(msg, name, value)`'s line(s) as `msg.as_bytes()` writes them, without a message."""
    raw = _raw_value(name, value)
    if raw is not None:
        return POLICY.fold_binary(name, raw)
    if name.lower() not in RAW_HEADERS:  # unstructured text: encoded words, 66 a line
        return POLICY.fold_binary(name, phrase_words(clean_header_text(value)))
    return POLICY.fold_binary(*POLICY.header_store_parse(name, clean_header_text(value)))


def format_address(addr: Address, indent: int = 0) -> str | None:
    """`phrase <addr>` for a plain mailbox, folded at spaces into lines of 78 or less
    after a header name `indent` long; None when only the email package can write it (an
    unusual address). A non-ASCII name becomes RFC 2047 encoded words (`phrase`): the email
    package's own folding can exceed 75 characters a word and break words apart."""
    spec = addr.addr_spec
    if not _SIMPLE_ADDR.match(spec) or ".." in spec:
        return None
    if not addr.display_name:
        return spec
    text = f"{phrase(addr.display_name)} <{spec}>"
    return fold_words(text, indent=indent) if indent + len(text) > 78 else text


def set_address(msg: EmailMessage, name: str, value: str | Address) -> None:
    """Add an address header; the display name is cleaned, quoted or RFC 2047-encoded.

    Written directly for the usual ASCII mailbox (the email package's address parser
    is most of the cost of a fan-out); anything unusual goes through `Address`.
    """
    addr = as_address(value)
    text = format_address(addr, indent=len(name) + 2)
    if text is None:
        msg[name] = addr
    else:
        msg.set_raw(name, text)


def address_line(name: str, value: str | Address) -> bytes:
    """`set_address(msg, name, value)`'s line(s) as `msg.as_bytes()` writes them."""
    addr = as_address(value)
    text = format_address(addr, indent=len(name) + 2)
    if text is None:
        return POLICY.fold_binary(*POLICY.header_store_parse(name, addr))
    return POLICY.fold_binary(name, text)


def header_block(
    *,
    to: str | Address,
    subject: str,
    sender: str | Address | None = None,
    reply_to: str | Address | None = None,
    headers: Mapping[str, str] | None = None,
    message_id: str | None = None,
    lines: dict[tuple[str, str], bytes] | None = None,
) -> bytes:
    """`header_message(...)`'s header lines as bytes (no blank line), built without a message.

    A fan-out writes ten thousand of these; the generator and message objects were a
    fifth of its time. `lines` caches the lines of headers that are the same for every
    recipient (pass one dict per fan-out).
    """
    cache = lines if lines is not None else {}

    def shared(name: str, value: str) -> bytes:
        line = cache.get((name, value))
        if line is None:
            line = cache[(name, value)] = header_line(name, value)
        return line

    out = [address_line("From", sender or address(current_app.config["MAIL_FROM"], "Forum"))]
    out.append(address_line("To", to))
    if reply_to:
        out.append(address_line("Reply-To", reply_to))
    out.append(shared("Subject", subject))
    out.append(shared("Date", format_datetime(clock.now())))
    out.append(header_line("Message-ID", message_id or new_message_id()))
    for name, value in (headers or {}).items():
        out.append(shared(name, value))
    return b"".join(out)


def header_message(
    *,
    to: str | Address,
    subject: str,
    sender: str | Address | None = None,
    reply_to: str | Address | None = None,
    headers: Mapping[str, str] | None = None,
    message_id: str | None = None,
) -> EmailMessage:
    """A message with the envelope headers only (From ... the extra headers), no body yet."""
    msg = EmailMessage(policy=POLICY)
    set_address(msg, "From", sender or address(current_app.config["MAIL_FROM"], branding.current().sender_name))
    set_address(msg, "To", to)
    if reply_to:
        set_address(msg, "Reply-To", reply_to)
    set_header(msg, "Subject", subject)
    set_header(msg, "Date", format_datetime(clock.now()))
    set_header(msg, "Message-ID", message_id or new_message_id())
    for name, value in (headers or {}).items():
        set_header(msg, name, value)
    return msg


def render_bodies(template: str, context: Mapping[str, Any]) -> tuple[str, str | None]:
    """(text, html) of `templates/mail/<template>.txt` and the optional `.html`."""
    text = render_template(f"mail/{template}.txt", **context)
    try:
        html = render_template(f"mail/{template}.html", **context)
    except TemplateNotFound:
        html = None
    return text, html or None


def build_message(
    *,
    to: str | Address,
    subject: str,
    template: str,
    context: Mapping[str, Any] | None = None,
    sender: str | Address | None = None,
    reply_to: str | Address | None = None,
    headers: Mapping[str, str] | None = None,
    message_id: str | None = None,
) -> EmailMessage:
    """Render `templates/mail/<template>.txt` (required) and `.html` (optional) into one message."""
    msg = header_message(
        to=to, subject=subject, sender=sender, reply_to=reply_to, headers=headers, message_id=message_id
    )
    text, html = render_bodies(template, dict(context or {}))
    msg.set_content(text)
    if html:
        msg.add_alternative(html, subtype="html")
    return msg


def list_address(event: Event) -> Address:
    """The e-forum's own address; list mail is From it (DMARC-safe)."""
    return address(event.list_address(current_app.config["LIST_DOMAIN"]), event.title)


def list_id(event: Event) -> str:
    """RFC 2919: `phrase <slug.LIST_DOMAIN>`, the phrase quoted or encoded as needed."""
    text = f"{phrase(event.title)} <{event.slug}.{current_app.config['LIST_DOMAIN']}>"
    return fold_words(text, indent=len("List-Id: ")) or text


def list_headers(
    event: Event,
    subscription: Subscription,
    *,
    unsubscribe: str,
    preferences: str,
    posting_open: bool,
    automated: bool = False,
) -> dict[str, str]:
    """The RFC 2369 / 2919 / 8058 headers of one subscriber's copy of list mail.

    `List-Unsubscribe` carries the subscriber's own https link first (the one-click
    POST target of `List-Unsubscribe-Post`) and the mailto form second.
    """
    list_addr = list_address(event).addr_spec
    links = [f"<{unsubscribe}>", f"<{unsubscribe_mailto(subscription)}>"]
    headers = {
        "List-Id": list_id(event),
        "List-Unsubscribe": fold_list(links),
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "List-Post": f"<mailto:{list_addr}>" if posting_open else "NO",
        "List-Help": f"<{preferences}>",
        "Precedence": "list",
        "X-Loop": list_addr,
    }
    if event.is_eforum:  # a webinar series has no discussion, so no archive to point at
        headers["List-Archive"] = f"<{external_url('discussion.archive', slug=event.slug)}>"
    if automated:
        headers["Auto-Submitted"] = "auto-generated"
    return headers


@dataclass(frozen=True)
class ListEnvelope:
    """What one subscriber's copy of list mail says outside its body: headers and own links."""

    to: Address
    sender: Address
    reply_to: Address | None
    headers: dict[str, str]
    unsubscribe_url: str
    preferences_url: str


def list_envelope(
    *,
    event: Event,
    subscription: Subscription,
    author_name: str | None = None,
    author_email: str | None = None,
    in_reply_to: str | None = None,
    references: str | None = None,
    archived_at: str | None = None,
    automated: bool = False,
    posting_open: bool | None = None,
) -> ListEnvelope:
    """The per-subscriber part of list mail (see `list_message`, which documents the policy)."""
    participant = subscription.participant
    list_addr = list_address(event)
    sender = list_addr
    if author_name or author_email:
        sender = address(list_addr.addr_spec, f"{author_name or author_email} via {event.title}")
    reply_to: Address | None = None
    if not event.reply_to_list and author_email:
        reply_to = address(author_email, author_name or "")
    elif event.is_eforum:
        reply_to = list_addr
    if posting_open is None:
        posting_open = event.is_eforum and event.status == "published"
    unsubscribe, prefs = unsubscribe_url(subscription), preferences_url(participant)
    headers = list_headers(
        event,
        subscription,
        unsubscribe=unsubscribe,
        preferences=prefs,
        posting_open=posting_open,
        automated=automated,
    )
    if archived_at:
        headers["Archived-At"] = f"<{archived_at}>"
    if in_reply_to:
        headers["In-Reply-To"] = in_reply_to
    if references:
        headers["References"] = fold_list(clean_header_text(references).split(), sep=" ")
    return ListEnvelope(
        to=address(participant.email, participant.name),
        sender=sender,
        reply_to=reply_to,
        headers=headers,
        unsubscribe_url=unsubscribe,
        preferences_url=prefs,
    )


def list_message(
    *,
    event: Event,
    subscription: Subscription,
    subject: str,
    template: str,
    context: Mapping[str, Any] | None = None,
    author_name: str | None = None,
    author_email: str | None = None,
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: str | None = None,
    archived_at: str | None = None,
    automated: bool = False,
    posting_open: bool | None = None,
) -> EmailMessage:
    """A message to one subscriber of an event's list, with RFC 2369/2919/8058 headers.

    From is always the list's own address (DMARC-safe: we never claim the author's
    domain); the author shows as "<author> via <list>". Reply-To follows the event's
    reply policy: the list, or the author when replies go to the author.
    `automated` marks list-generated mail (digests, reminders, notices) with
    `Auto-Submitted: auto-generated`; relayed human posts are not marked.
    For a fan-out to many subscribers use `list_messages` (same bytes, body encoded once).
    """
    env = list_envelope(
        event=event,
        subscription=subscription,
        author_name=author_name,
        author_email=author_email,
        in_reply_to=in_reply_to,
        references=references,
        archived_at=archived_at,
        automated=automated,
        posting_open=posting_open,
    )
    ctx = {
        "event": event,
        "subscription": subscription,
        "participant": subscription.participant,
        "unsubscribe_url": env.unsubscribe_url,
        "preferences_url": env.preferences_url,
        **(context or {}),
    }
    return build_message(
        to=env.to,
        subject=subject,
        template=template,
        context=ctx,
        sender=env.sender,
        reply_to=env.reply_to,
        headers=env.headers,
        message_id=message_id,
    )


# --- bulk: one body per group, personalised per recipient ------------------------------------


class SharedAttributeError(RuntimeError):
    """A template read a per-recipient attribute that the fan-out's group key does not cover.

    Not an AttributeError on purpose: Jinja would turn that into an empty string and
    quietly send one subscriber's details to the whole group.
    """


class _GroupView:
    """A subscription/participant as a group template sees it: only the attributes shared."""

    def __init__(
        self, obj: object, allowed: frozenset[str], label: str, marks: Mapping[str, object] | None = None
    ) -> None:
        self._obj, self._allowed, self._label = obj, allowed, label
        self._marks = dict(marks or {})

    def __getattr__(self, name: str) -> Any:
        if name in self._marks:  # a personal attribute: its placeholder (or its empty value)
            return self._marks[name]
        if name in self._allowed:
            return getattr(self._obj, name)
        raise SharedAttributeError(
            f"template reads {self._label}.{name}, which differs per recipient; "
            f"add it to the group key and to `shared` of list_messages"
        )


#: The links every list mail has; `list_message` puts them in the context before the caller's.
_OWN_LINKS = frozenset({"unsubscribe_url", "preferences_url"})


@dataclass(frozen=True)
class ListCopy:
    """One subscriber's copy of a fan-out, in the pieces the outbox stores.

    The message is `head` (this recipient's header block: From, To, Subject, Date,
    Message-ID, List-* URLs) followed by ``statics[0] + owns[0] + statics[1] + ... +
    statics[-1]``: `statics` are shared by every copy with the same `body_key` (the
    same objects), `owns` are this recipient's own lines (their links) and attachments.
    """

    subscription: Subscription
    head: bytes
    recipient: str
    envelope_from: str
    body_key: Hashable
    statics: tuple[bytes, ...]
    owns: tuple[bytes, ...]

    @property
    def data(self) -> bytes:
        """The whole RFC 5322 message, as the sender will put it on the wire."""
        return self.head + interleave(self.statics, self.owns)


def interleave(statics: Sequence[bytes], owns: Sequence[bytes]) -> bytes:
    """``statics[0] + owns[0] + statics[1] + ... + statics[-1]``."""
    out = [statics[0]]
    for own, static in zip(owns, statics[1:], strict=True):
        out += [own, static]
    return b"".join(out)


def _attribute(subscription: Subscription, name: str) -> object:
    """`participant.name` -> subscription.participant.name (a `personal` attribute's value)."""
    owner, _, attr = name.partition(".")
    return getattr(subscription.participant if owner == "participant" else subscription, attr)


def list_messages(
    *,
    event: Event,
    subscriptions: Iterable[Subscription],
    subject: str,
    template: str,
    context: Mapping[str, Any] | None = None,
    group_key: Callable[[Subscription], Hashable] | None = None,
    group_context: Callable[[Subscription], Mapping[str, Any]] | None = None,
    shared: Iterable[str] = (),
    personal: Iterable[str] = (),
    links: Callable[[Subscription], Mapping[str, str]] | None = None,
    attachments: Callable[[Subscription], Sequence[Attachment]] | None = None,
    inline: Callable[[Subscription], Sequence[InlinePart]] | None = None,
    author_name: str | None = None,
    author_email: str | None = None,
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: str | None = None,
    archived_at: str | None = None,
    automated: bool = False,
    posting_open: bool | None = None,
) -> Iterator[ListCopy]:
    """`list_message` for many subscribers at once: the same bytes' meaning, a fraction of the cost.

    The body is rendered and MIME-encoded once per *group* (subscribers with the same
    `group_key`, e.g. the time zone the digest's times are shown in); each subscriber's
    own links (`unsubscribe_url`, `preferences_url`, and whatever `links(sub)` returns,
    e.g. ``{"compose_url": ...}``) go into the body as placeholders and are substituted
    into the encoded bytes per recipient (see forum/mail/bulk.py).  Headers are built
    per recipient exactly as `list_message` builds them.

    Contract: the rendered body may depend only on the group.  `group_context(sub)` is
    called with a group's first subscriber and adds group-specific template values; the
    templates see `subscription`/`participant` restricted to the attribute names in
    `shared` (e.g. ``{"subscription.mode", "participant.timezone"}``, which the group
    key must then cover); reading any other raises `SharedAttributeError`.
    `personal` names attributes the templates only print or test, e.g.
    ``{"participant.name"}`` for "Hello Alice,": a non-empty value reads as a placeholder
    substituted per recipient like a link (HTML-escaped in the HTML part, as Jinja would),
    an empty one as itself (the group key is extended by which are empty), so a greeting
    does not split the body into one group per name.
    `attachments(sub)` gives per-recipient attachment parts (multipart/mixed), as
    `msg.add_attachment(data, maintype=, subtype=, filename=)` would add them;
    `inline(sub)` per-recipient parts inside the multipart/alternative (an iTIP
    `text/calendar` part, as `calendar.attach_calendar` puts it there).

    Yields `ListCopy`s lazily, in order: the body's shared pieces once per group and
    encoding, each recipient's header block and own pieces (see `ListCopy`).
    """
    nonce = secrets.token_hex(4)  # placeholders no text could contain by chance
    allowed: dict[str, set[str]] = {"subscription": set(), "participant": set()}
    for name in shared:
        owner, _, attr = name.partition(".")
        allowed[owner].add(attr)
    personal = tuple(personal)
    for name in personal:
        if name.partition(".")[0] not in allowed:
            raise ValueError(f"personal attributes are subscription.* or participant.*, not {name!r}")
    bodies: dict[Hashable, tuple[BodyTemplate, list[str]]] = {}
    lines: dict[tuple[str, str], bytes] = {}  # header lines shared by every copy
    for sub in subscriptions:
        env = list_envelope(
            event=event,
            subscription=sub,
            author_name=author_name,
            author_email=author_email,
            in_reply_to=in_reply_to,
            references=references,
            archived_at=archived_at,
            automated=automated,
            posting_open=posting_open,
        )
        own = {"unsubscribe_url": env.unsubscribe_url, "preferences_url": env.preferences_url}
        if links is not None:
            own.update(links(sub))
        values = {name: _attribute(sub, name) for name in personal}
        own.update({name: str(value) for name, value in values.items() if value})
        key = group_key(sub) if group_key is not None else None
        if personal:
            key = (key, tuple(value if not value else True for value in values.values()))
        entry = bodies.get(key)
        if entry is None:
            names = list(own)
            marks = {name: BodyTemplate.placeholder(nonce, i) for i, name in enumerate(names)}
            views: dict[str, dict[str, object]] = {"subscription": {}, "participant": {}}
            for name, value in values.items():
                owner, _, attr = name.partition(".")
                views[owner][attr] = marks[name] if value else value
            ctx = {
                "event": event,
                "subscription": _GroupView(
                    sub, frozenset(allowed["subscription"]), "subscription", views["subscription"]
                ),
                "participant": _GroupView(
                    sub.participant, frozenset(allowed["participant"]), "participant", views["participant"]
                ),
                "unsubscribe_url": marks["unsubscribe_url"],
                "preferences_url": marks["preferences_url"],
                **(context or {}),
                **(group_context(sub) if group_context is not None else {}),
                **{name: mark for name, mark in marks.items() if name not in _OWN_LINKS and name not in values},
            }
            text, html = render_bodies(template, ctx)
            entry = bodies[key] = (BodyTemplate(text, html, nonce), names)
        body, names = entry
        if list(own) != names:
            raise ValueError(f"links() must return the same names for everyone: {list(own)} != {names}")
        variant, statics, owns = body.render_shared(
            [own[name] for name in names],
            attachments(sub) if attachments is not None else (),
            inline(sub) if inline is not None else (),
        )
        header_bytes = header_block(
            to=env.to,
            subject=subject,
            sender=env.sender,
            reply_to=env.reply_to,
            headers=env.headers,
            message_id=message_id,
            lines=lines,
        )
        # A plain mailbox is its own envelope address; only unusual ones need the parser.
        recipient, sender = env.to.addr_spec, env.sender.addr_spec
        if not (_SIMPLE_ADDR.match(recipient) and _SIMPLE_ADDR.match(sender)):
            head = header_message(to=env.to, subject=subject, sender=env.sender, message_id=message_id)
            recipient, sender = recipient_of(head), sender_of(head)
        yield ListCopy(sub, header_bytes, recipient, sender, (key, variant), statics, owns)
