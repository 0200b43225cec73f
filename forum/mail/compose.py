"""Build `EmailMessage`s from Jinja2 templates: text and HTML from the same data.

Header values go through `email.headerregistry` (Address objects, policy-folded
subjects), so a name or subject with CR/LF cannot add a header.
"""

from __future__ import annotations

from collections.abc import Mapping
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from flask import current_app, render_template
from jinja2 import TemplateNotFound

from .. import clock
from ..models import Event, Subscription
from ..web.urls import external_url


def clean_header_text(value: str) -> str:
    """Collapse any line breaks or control characters a user put into a header value."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in value).split())


def address(email: str, name: str = "") -> Address:
    """A header address; the display name is cleaned and encoded by the email package."""
    local, _, domain = email.strip().rpartition("@")
    return Address(display_name=clean_header_text(name), username=local, domain=domain)


def new_message_id() -> str:
    return make_msgid(domain=current_app.config["LIST_DOMAIN"])


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
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = sender or address(current_app.config["MAIL_FROM"], "Forum")
    msg["To"] = to if isinstance(to, Address) else address(to)
    if reply_to:
        msg["Reply-To"] = reply_to
    msg["Subject"] = clean_header_text(subject)
    msg["Date"] = format_datetime(clock.now())
    msg["Message-ID"] = message_id or new_message_id()
    for name, value in (headers or {}).items():
        msg[name] = clean_header_text(value)
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
    return f"{clean_header_text(event.title)} <{event.slug}.{current_app.config['LIST_DOMAIN']}>"


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

    `automated` marks list-generated mail (digests, reminders, notices) with
    `Auto-Submitted: auto-generated`; relayed human posts are not marked.
    """
    from ..links import preferences_url, unsubscribe_mailto, unsubscribe_url

    participant = subscription.participant
    list_addr = list_address(event)
    sender = list_addr
    if author_name:
        sender = address(list_addr.addr_spec, f"{author_name} via {event.title}")
    reply_to: Address | None = None
    if not event.reply_to_list and author_email:
        reply_to = address(author_email, author_name or "")
    elif event.is_eforum:
        reply_to = list_addr
    unsubscribe = unsubscribe_url(subscription)
    prefs = preferences_url(participant)
    if posting_open is None:
        posting_open = event.is_eforum and event.status == "published"
    mailto = unsubscribe_mailto(subscription)
    headers = {
        "List-Id": list_id(event),
        "List-Unsubscribe": f"<{unsubscribe}>" + (f", <{mailto}>" if mailto else ""),
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "List-Post": f"<mailto:{list_addr.addr_spec}>" if posting_open else "NO",
        "List-Help": f"<{prefs}>",
        "List-Archive": f"<{external_url('discussion.archive', slug=event.slug)}>",
        "Precedence": "list",
        "X-Loop": list_addr.addr_spec,
    }
    if automated:
        headers["Auto-Submitted"] = "auto-generated"
    if archived_at:
        headers["Archived-At"] = f"<{archived_at}>"
    if in_reply_to:
        headers["In-Reply-To"] = in_reply_to
    if references:
        headers["References"] = references
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
