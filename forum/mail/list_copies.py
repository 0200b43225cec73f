"""List mail to many subscribers at once: the body rendered and encoded once per group,
each recipient's own links and header block put in per copy (see forum/mail/bulk.py).

`list_messages(event, subscriptions, options)` yields, for every subscriber, the bytes
`compose.list_message(event, subscription, options)` would build on its own.
"""

from __future__ import annotations

import secrets
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from forum.core import i18n
from forum.mail.bulk import BodyTemplate
from forum.mail.compose import PERSONAL_HEADERS, ListOptions, list_envelope, render_bodies
from forum.mail.headers import SIMPLE_ADDR, HeaderTemplate, header_message, recipient_of
from forum.models import Event, Subscription


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
    event: Event, subscriptions: Iterable[Subscription], options: ListOptions
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
    for name in options.shared:
        owner, _, attr = name.partition(".")
        allowed[owner].add(attr)
    personal = tuple(options.personal)
    for name in personal:
        if name.partition(".")[0] not in allowed:
            raise ValueError(f"personal attributes are subscription.* or participant.*, not {name!r}")
    bodies: dict[Hashable, tuple[BodyTemplate, list[str]]] = {}
    # Header lines shared by every copy are encoded once (per language: the subject); per copy
    # only the recipient's own: To, the List-* lines with their links, a Message-ID if made here.
    head = HeaderTemplate(PERSONAL_HEADERS | (set() if options.message_id else {"Message-ID"}))
    subject_in: dict[str, str] = {}  # the subject, read once per language
    memo: dict[str, Any] = {}  # the envelope's values shared by every copy
    for sub in subscriptions:
        env = list_envelope(event, sub, options, memo)
        own = {"unsubscribe_url": env.unsubscribe_url, "preferences_url": env.preferences_url}
        if options.links is not None:
            own.update(options.links(sub))
        values = {name: _attribute(sub, name) for name in personal}
        own.update({name: str(value) for name, value in values.items() if value})
        key = options.group_key(sub) if options.group_key is not None else None
        # One body per variant and language, never per reader: each language is a variant.
        language = i18n.recipient_locale(sub.participant.language)
        key = (language, key)
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
            with i18n.in_locale(language):  # group values (times, labels) and body alike
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
                    **options.context,
                    **(options.group_context(sub) if options.group_context is not None else {}),
                    **{name: mark for name, mark in marks.items() if name not in _OWN_LINKS and name not in values},
                }
                text, html = render_bodies(options.template, ctx)
            entry = bodies[key] = (BodyTemplate(text, html, nonce), names)
        body, names = entry
        if list(own) != names:
            raise ValueError(f"links() must return the same names for everyone: {list(own)} != {names}")
        variant, statics, owns = body.render_shared(
            [own[name] for name in names],
            options.attachments(sub) if options.attachments is not None else (),
            options.inline(sub) if options.inline is not None else (),
        )
        subject = subject_in.get(language)
        if subject is None:
            with i18n.in_locale(language):
                subject = subject_in[language] = str(options.subject)
        header_bytes = head.block(language, **env.header(subject, options.message_id))
        # A plain mailbox is its own envelope address; only an unusual one needs the parser.
        # (The envelope sender is the subscriber's VERP bounce address: the outbox sets it.)
        recipient = env.to.addr_spec
        if not SIMPLE_ADDR.match(recipient):
            recipient = recipient_of(header_message(to=env.to, subject=subject, sender=env.sender))
        yield ListCopy(sub, header_bytes, recipient, (key, variant), statics, owns)
