"""Build `EmailMessage`s from Jinja2 templates: text and HTML from the same data.

`build_message` renders one message; `list_message` one subscriber's copy of list mail,
with the list headers (RFC 2369 / 2919 / 8058) and the From / Reply-To policy. What a
list mail says apart from who gets it is a `ListOptions`; `forum.mail.list_copies` builds
a fan-out of the same mail from the same options, the body encoded once per group.
Headers themselves are written by `forum.mail.headers`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from typing import Any

from flask import current_app, render_template
from jinja2 import TemplateNotFound

from forum.common import subjects
from forum.core import i18n
from forum.core.urls import external_url
from forum.mail.bulk import Attachment, InlinePart
from forum.mail.headers import (
    HeaderFields,
    address,
    clean_header_text,
    fold_list,
    fold_words,
    header_message,
    phrase,
)
from forum.mail.links import preferences_url, unsubscribe_mailto, unsubscribe_url
from forum.models import Event, Subscription


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
    language: str | None = None,
) -> EmailMessage:
    """Render `templates/mail/<template>.txt` (required) and `.html` (optional) into one message,
    subject and bodies in the recipient's `language` (their locale, e.g. `fr_CA`; None: English),
    whatever language the officer who caused it uses. `subject` may be a lazy string
    (`subjects.subject`, `lazy_gettext`): it is read in that language."""
    with i18n.in_locale(language):
        msg = header_message(
            to=to, subject=str(subject), sender=sender, reply_to=reply_to, headers=headers, message_id=message_id
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


#: The list headers that differ per subscriber (their own links); `list_messages` writes only
#: these (and To) per copy. `list_headers` puts nothing else of the subscriber's in a header.
PERSONAL_HEADERS = frozenset({"To", "List-Unsubscribe", "List-Help"})


def list_headers(
    event: Event,
    subscription: Subscription,
    *,
    unsubscribe: str,
    preferences: str,
    posting_open: bool,
    automated: bool = False,
    memo: dict[str, Any] | None = None,
) -> dict[str, str]:
    """The RFC 2369 / 2919 / 8058 headers of one subscriber's copy of list mail.

    `List-Unsubscribe` carries the subscriber's own https link first (the one-click
    POST target of `List-Unsubscribe-Post`) and the mailto form second. `memo` (one dict
    per fan-out, same event and flags) keeps the values that are the same for every copy.
    """
    fixed = memo.get("list_headers") if memo is not None else None
    if fixed is None:
        list_addr = list_address(event).addr_spec
        fixed = {
            "List-Id": list_id(event),
            "List-Post": f"<mailto:{list_addr}>" if posting_open else "NO",
            "Precedence": "list",
            "X-Loop": list_addr,
        }
        if event.is_eforum:  # a webinar series has no discussion, so no archive to point at
            fixed["List-Archive"] = f"<{external_url('discussion.archive', slug=event.slug)}>"
        if automated:
            fixed["Auto-Submitted"] = "auto-generated"
        if memo is not None:
            memo["list_headers"] = fixed
    links = [f"<{unsubscribe}>", f"<{unsubscribe_mailto(subscription, event)}>"]
    headers = {
        "List-Id": fixed["List-Id"],
        "List-Unsubscribe": fold_list(links),
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "List-Post": fixed["List-Post"],
        "List-Help": f"<{preferences}>",
        "Precedence": fixed["Precedence"],
        "X-Loop": fixed["X-Loop"],
    }
    for name in ("List-Archive", "Auto-Submitted"):
        if name in fixed:
            headers[name] = fixed[name]
    return headers


@dataclass(frozen=True)
class ListOptions:
    """What one list mail says, apart from the event and who gets it.

    The header fields (`author_name` ... `posting_open`) shape every copy's envelope the
    same way for `list_message` and `list_messages`. The fan-out fields (`group_key` ...
    `inline`) only matter to `list_messages`: see there for their contract.
    """

    subject: str
    template: str
    context: Mapping[str, Any] = field(default_factory=dict)
    # The envelope: who it shows as from, where replies go, threading, marks.
    author_name: str | None = None
    author_email: str | None = None
    message_id: str | None = None
    in_reply_to: str | None = None
    references: str | None = None
    archived_at: str | None = None
    automated: bool = False
    posting_open: bool | None = None
    # A fan-out: how subscribers group into shared bodies, and what is each one's own.
    group_key: Callable[[Subscription], Hashable] | None = None
    group_context: Callable[[Subscription], Mapping[str, Any]] | None = None
    shared: Collection[str] = ()
    personal: Collection[str] = ()
    links: Callable[[Subscription], Mapping[str, str]] | None = None
    attachments: Callable[[Subscription], Sequence[Attachment]] | None = None
    inline: Callable[[Subscription], Sequence[InlinePart]] | None = None


@dataclass(frozen=True)
class ListEnvelope:
    """What one subscriber's copy of list mail says outside its body: headers and own links."""

    to: Address
    sender: Address
    reply_to: Address | None
    headers: dict[str, str]
    unsubscribe_url: str
    preferences_url: str

    def header(self, subject: str, message_id: str | None) -> HeaderFields:
        """This copy's header fields with `subject`, for `build_message` or `header_block`."""
        return HeaderFields(
            to=self.to,
            subject=subject,
            sender=self.sender,
            reply_to=self.reply_to,
            headers=self.headers,
            message_id=message_id,
        )


def _envelope_constants(event: Event, options: ListOptions) -> dict[str, Any]:
    """What every subscriber's copy of one list mail shares outside its body."""
    list_addr = list_address(event)
    sender = list_addr
    author_name, author_email = options.author_name, options.author_email
    if author_name or author_email:
        sender = address(list_addr.addr_spec, f"{author_name or author_email} via {event.title}")
    reply_to: Address | None = None
    if not event.reply_to_list and author_email:
        reply_to = address(author_email, author_name or "")
    elif event.is_eforum:
        reply_to = list_addr
    posting_open = options.posting_open
    if posting_open is None:
        posting_open = event.is_eforum and event.status == "published"
    extra: dict[str, str] = {}
    if options.archived_at:
        extra["Archived-At"] = f"<{options.archived_at}>"
    if options.in_reply_to:
        extra["In-Reply-To"] = options.in_reply_to
    if options.references:
        extra["References"] = fold_list(clean_header_text(options.references).split(), sep=" ")
    return {"sender": sender, "reply_to": reply_to, "posting_open": posting_open, "extra": extra}


def list_envelope(
    event: Event, subscription: Subscription, options: ListOptions, memo: dict[str, Any] | None = None
) -> ListEnvelope:
    """The per-subscriber part of list mail (see `list_message`, which documents the policy).

    `memo`: one dict per fan-out (same event and options), where what every copy shares is
    worked out once (`list_messages` builds ten thousand envelopes).
    """
    participant = subscription.participant
    constants = memo.get("envelope") if memo is not None else None
    if constants is None:
        constants = _envelope_constants(event, options)
        if memo is not None:
            memo["envelope"] = constants
    unsubscribe, prefs = unsubscribe_url(subscription), preferences_url(participant)
    headers = list_headers(
        event,
        subscription,
        unsubscribe=unsubscribe,
        preferences=prefs,
        posting_open=constants["posting_open"],
        automated=options.automated,
        memo=memo,
    )
    headers.update(constants["extra"])
    return ListEnvelope(
        to=address(participant.email, participant.name),
        sender=constants["sender"],
        reply_to=constants["reply_to"],
        headers=headers,
        unsubscribe_url=unsubscribe,
        preferences_url=prefs,
    )


def list_message(event: Event, subscription: Subscription, options: ListOptions) -> EmailMessage:
    """A message to one subscriber of an event's list, with RFC 2369/2919/8058 headers.

    From is always the list's own address (DMARC-safe: we never claim the author's
    domain); the author shows as "<author> via <list>". Reply-To follows the event's
    reply policy: the list, or the author when replies go to the author.
    `options.automated` marks list-generated mail (digests, reminders, notices) with
    `Auto-Submitted: auto-generated`; relayed human posts are not marked.
    For a fan-out to many subscribers use `list_copies.list_messages` with the same
    options (same bytes, body encoded once); its fan-out fields are not used here.
    """
    env = list_envelope(event, subscription, options)
    ctx = {
        "event": event,
        "subscription": subscription,
        "participant": subscription.participant,
        "unsubscribe_url": env.unsubscribe_url,
        "preferences_url": env.preferences_url,
        **options.context,
    }
    return build_message(
        language=subscription.participant.language,
        template=options.template,
        context=ctx,
        **env.header(options.subject, options.message_id),
    )


def notice(
    subscription: Subscription,
    what: str,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    detail: str = "",
    posting_open: bool | None = None,
) -> EmailMessage:
    """An automated list mail to one subscriber about their own place on the list (welcome,
    waiting list, certificate ...), its subject `[Event title] What: detail`. Its template
    may link the event's public page as `event_url`."""
    event = subscription.event
    options = ListOptions(
        subject=subjects.subject(what, event, detail),
        template=template,
        context={"event_url": external_url("public.event", slug=event.slug), **(context or {})},
        automated=True,
        posting_open=posting_open,
    )
    return list_message(event, subscription, options)
