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
from collections.abc import Mapping
from email import policy
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Any

from flask import current_app, render_template
from jinja2 import TemplateNotFound

from .. import clock
from ..models import Event, Subscription
from ..web.urls import external_url

#: SMTP line endings; header objects fold themselves, raw (pre-folded) values are kept.
POLICY = policy.SMTP.clone(refold_source="none")

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


def phrase(text: str) -> str:
    """`text` as an RFC 5322 phrase: atoms as they are, quoted when needed, RFC 2047 if not ASCII."""
    text = clean_header_text(text)
    if not text.isascii():
        return Header(text, "utf-8").encode(splitchars=" ", maxlinelen=76)
    if _ATEXT.match(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


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


def set_header(msg: EmailMessage, name: str, value: str) -> None:
    """Add one header safely: the value cleaned of line breaks, then written as-is when ASCII.

    List/URL headers may come pre-folded (items joined with newlines); their parts are
    cleaned one by one and kept on their own lines. Non-ASCII values go through the
    email package, which RFC 2047-encodes them.
    """
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
    if raw is not None and raw.isascii():
        msg.set_raw(name, raw)
    else:
        msg[name] = clean_header_text(value)


def format_address(addr: Address) -> str | None:
    """`phrase <addr>` for a plain ASCII mailbox; None when only the email package can write it."""
    spec = addr.addr_spec
    if not _SIMPLE_ADDR.match(spec) or ".." in spec:
        return None
    text = f"{phrase(addr.display_name)} <{spec}>" if addr.display_name else spec
    return text if max(len(line) for line in text.split("\n")) <= _MAX_RAW_LINE else None


def set_address(msg: EmailMessage, name: str, value: str | Address) -> None:
    """Add an address header; the display name is cleaned, quoted or RFC 2047-encoded.

    Written directly for the usual ASCII mailbox (the email package's address parser
    is most of the cost of a fan-out); anything unusual goes through `Address`.
    """
    addr = as_address(value)
    text = format_address(addr)
    if text is None:
        msg[name] = addr
    else:
        msg.set_raw(name, text)


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
    ctx = dict(context or {})
    msg = EmailMessage(policy=POLICY)
    set_address(msg, "From", sender or address(current_app.config["MAIL_FROM"], "Forum"))
    set_address(msg, "To", to)
    if reply_to:
        set_address(msg, "Reply-To", reply_to)
    set_header(msg, "Subject", subject)
    set_header(msg, "Date", format_datetime(clock.now()))
    set_header(msg, "Message-ID", message_id or new_message_id())
    for name, value in (headers or {}).items():
        set_header(msg, name, value)
    msg.set_content(render_template(f"mail/{template}.txt", **ctx))
    try:
        html = render_template(f"mail/{template}.html", **ctx)
    except TemplateNotFound:
        html = None
    if html:
        msg.add_alternative(html, subtype="html")
    return msg


def list_address(event: Event) -> Address:
    """The e-forum's own address; list mail is From it (DMARC-safe)."""
    return address(event.list_address(current_app.config["LIST_DOMAIN"]), event.title)


def list_id(event: Event) -> str:
    """RFC 2919: `phrase <slug.LIST_DOMAIN>`, the phrase quoted or encoded as needed."""
    return f"{phrase(event.title)} <{event.slug}.{current_app.config['LIST_DOMAIN']}>"


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
    from ..links import unsubscribe_mailto

    list_addr = list_address(event).addr_spec
    links = [f"<{unsubscribe}>"]
    mailto = unsubscribe_mailto(subscription)
    if mailto:
        links.append(f"<{mailto}>")
    headers = {
        "List-Id": list_id(event),
        "List-Unsubscribe": fold_list(links),
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "List-Post": f"<mailto:{list_addr}>" if posting_open else "NO",
        "List-Help": f"<{preferences}>",
        "List-Archive": f"<{external_url('discussion.archive', slug=event.slug)}>",
        "Precedence": "list",
        "X-Loop": list_addr,
    }
    if automated:
        headers["Auto-Submitted"] = "auto-generated"
    return headers


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
    """
    from ..links import preferences_url, unsubscribe_url

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
    ctx = {
        "event": event,
        "subscription": subscription,
        "participant": participant,
        "unsubscribe_url": unsubscribe,
        "preferences_url": prefs,
        **(context or {}),
    }
    return build_message(
        to=address(participant.email, participant.name),
        subject=subject,
        template=template,
        context=ctx,
        sender=sender,
        reply_to=reply_to,
        headers=headers,
        message_id=message_id,
    )
