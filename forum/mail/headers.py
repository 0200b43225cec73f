"""Mail headers written safely: addresses, phrases, list/URL headers, the header block.

Every value that may come from a user (names, subjects, titles, ids from inbound
mail) is cleaned of line breaks before it reaches a header, and display names go
through `email.headerregistry.Address`, which quotes or RFC 2047-encodes them: no
header can be injected through any field.

The URL-bearing list headers (RFC 2369 ``List-*``, ``Archived-At``) and message-id
lists are written pre-folded and kept as written (``refold_source="none"``): the
email package would otherwise turn a long unsubscribe URL into encoded-words that
mail clients cannot use.

Bodies and list mail are built on top of these in `forum.mail.compose` (one message)
and `forum.mail.list_copies` (a fan-out).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Hashable, Iterator, Mapping
from datetime import datetime
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid, parseaddr
from typing import Required, TypedDict, Unpack

from flask import current_app

from forum.common import branding
from forum.core import clock
from forum.core.validation import EmailError, ascii_domain, unicode_domain
from forum.mail.policy import POLICY

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
#: A plain mailbox (no quoting, no comments): written directly, and its own envelope address.
SIMPLE_ADDR = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")


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


def _stored_form(spec: str) -> str:
    """A header's addr-spec as we store addresses: an A-label domain back in U-labels (the
    transport writes it as A-labels again)."""
    return unicode_domain(spec) if "xn--" in spec.lower() else spec


def recipient_of(message: EmailMessage) -> str:
    """The single `To` address of an outbound message (one row, one recipient)."""
    recipients = [_stored_form(addr) for _, addr in getaddresses(_raw_header(message, "To")) if addr]
    if len(recipients) != 1:
        raise ValueError(f"an outbound message has exactly one recipient, got {recipients!r}")
    return recipients[0]


def sender_of(message: EmailMessage) -> str:
    """The envelope sender: the `From` address (the list's own address for list mail)."""
    return next((_stored_form(a) for _, a in getaddresses(_raw_header(message, "From")) if a), "")


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


_raw_names: dict[str, bool] = {}


def _is_raw_header(name: str) -> bool:
    """Whether `name` is one of RAW_HEADERS; ValueError if it is no header name at all.
    Remembered per name (a fan-out writes the same few names ten thousand times)."""
    raw = _raw_names.get(name)
    if raw is None:
        if not _HEADER_NAME.match(name):
            raise ValueError(f"invalid header name {name!r}")
        raw = name.lower() in RAW_HEADERS
        if len(_raw_names) < 256:  # names come from code; a bound all the same
            _raw_names[name] = raw
    return raw


#: POLICY writes a str value as it is, its lines joined with CRLF (no refolding, 8-bit):
#: `_fold_raw` does just that, without the policy's generic checks on every line of a fan-out.
_RAW_AS_IS = POLICY.refold_source == "none" and POLICY.cte_type != "7bit" and POLICY.linesep == "\r\n"


def _fold_raw(name: str, text: str) -> bytes:
    """`POLICY.fold_binary(name, text)` for ASCII `text`, byte for byte."""
    if _RAW_AS_IS:
        return (name + ": " + "\r\n".join(text.splitlines()) + "\r\n").encode("ascii")
    return POLICY.fold_binary(name, text)


def _raw_value(name: str, value: str) -> str | None:
    """The value as written raw (ASCII, cleaned, pre-folded), or None: the email package writes it."""
    if _is_raw_header(name):
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
        return _fold_raw(name, raw)
    if name.lower() not in RAW_HEADERS:  # unstructured text: encoded words, 66 a line
        return POLICY.fold_binary(name, phrase_words(clean_header_text(value)))
    return POLICY.fold_binary(*POLICY.header_store_parse(name, clean_header_text(value)))


#: A dot-atom local part in UTF-8 (RFC 6532 `atext` plus non-ASCII): no specials, no spaces.
_UTF8_LOCAL = re.compile(r"^[^\x00-\x20\x7f-\x9f()<>\[\]:;@\\,\".]+(?:\.[^\x00-\x20\x7f-\x9f()<>\[\]:;@\\,\".]+)*$")
#: Written with it: the same as POLICY, but 8-bit headers (RFC 6532) stay as they are.
UTF8_POLICY = POLICY.clone(utf8=True)


def header_spec(spec: str) -> str | None:
    """An addr-spec as a header carries it (RFC 2047 5 forbids encoded words in one): an IDN
    domain as its A-labels (`anna@xn--bcher-kva.example`), a non-ASCII local part as UTF-8
    (RFC 6532). Such a message only goes out with SMTPUTF8 (the transport refuses it for
    good otherwise, and sign-up refuses the address unless the relay offers it). None: no
    dot-atom of that kind (the email package writes it)."""
    if spec.isascii():
        return spec
    try:
        spec = ascii_domain(spec)
    except EmailError:
        return None
    local = spec.rpartition("@")[0]
    return spec if local.isascii() or _UTF8_LOCAL.match(local) else None


def format_address(addr: Address, indent: int = 0) -> str | None:
    """`phrase <addr>` for a plain mailbox, folded at spaces into lines of 78 or less
    after a header name `indent` long; None when only the email package can write it (an
    unusual address). A non-ASCII name becomes RFC 2047 encoded words (`phrase`): the email
    package's own folding can exceed 75 characters a word and break words apart. The
    addr-spec is `header_spec`'s: A-label domains, a UTF-8 local part raw (RFC 6532)."""
    spec = header_spec(addr.addr_spec)
    if spec is None or ".." in spec or not (SIMPLE_ADDR.match(spec) or not spec.isascii()):
        return None
    if not addr.display_name:
        return spec
    text = f"{phrase(addr.display_name)} <{spec}>"
    return fold_words(text, indent=indent) if indent + len(text) > 78 else text


def set_address(msg: EmailMessage, name: str, value: str | Address) -> None:
    """Add an address header; the display name is cleaned, quoted or RFC 2047-encoded.

    Written directly for the usual ASCII mailbox (the email package's address parser
    is most of the cost of a fan-out); anything unusual goes through `Address`. A header
    with a UTF-8 local part makes the message one written with UTF8_POLICY.
    """
    addr = as_address(value)
    text = format_address(addr, indent=len(name) + 2)
    if text is None:
        msg[name] = addr
    else:
        if not text.isascii():
            msg.policy = UTF8_POLICY
        msg.set_raw(name, text)


def address_line(name: str, value: str | Address) -> bytes:
    """`set_address(msg, name, value)`'s line(s) as `msg.as_bytes()` writes them."""
    addr = as_address(value)
    text = format_address(addr, indent=len(name) + 2)
    if text is None:
        return POLICY.fold_binary(*POLICY.header_store_parse(name, addr))
    return _fold_raw(name, text) if text.isascii() else UTF8_POLICY.fold_binary(name, text)


class HeaderFields(TypedDict, total=False):
    """What a message's header is made of, declared once for `header_message` (a message)
    and `header_block` (the same lines as bytes, for a fan-out)."""

    to: Required[str | Address]
    subject: Required[str]
    sender: str | Address | None
    reply_to: str | Address | None
    headers: Mapping[str, str] | None
    message_id: str | None


_dates: dict[datetime, str] = {}


def _date_value() -> str:
    """The Date header's value now; the same string all second long (a fan-out's copies)."""
    now = clock.now().replace(microsecond=0)
    value = _dates.get(now)
    if value is None:
        _dates.clear()
        value = _dates[now] = format_datetime(now)
    return value


def _header_fields(fields: HeaderFields, date: str | None = None) -> Iterator[tuple[str, str | Address, bool]]:
    """(name, value, is an address) of a message's header fields in the order they are
    written: From, To, Reply-To, Subject, Date (`date`, or now), Message-ID, then `headers`."""
    to, subject, sender, reply_to = fields["to"], fields["subject"], fields.get("sender"), fields.get("reply_to")
    headers, message_id = fields.get("headers"), fields.get("message_id")
    yield "From", sender or address(current_app.config["MAIL_FROM"], branding.current().sender_name), True
    yield "To", to, True
    if reply_to:
        yield "Reply-To", reply_to, True
    yield "Subject", subject, False
    yield "Date", date or _date_value(), False
    yield "Message-ID", message_id or new_message_id(), False
    for name, value in (headers or {}).items():
        yield name, value, False


def header_block(*, lines: dict[tuple[str, str], bytes] | None = None, **fields: Unpack[HeaderFields]) -> bytes:
    """`header_message(...)`'s header lines as bytes (no blank line), built without a message.

    A fan-out writes ten thousand of these; the generator and message objects were a
    fifth of its time. `lines` caches the lines of headers that are the same for every
    recipient (pass one dict per fan-out): all but the addresses and the Message-ID.
    """
    return b"".join(line for _, line in _named_lines(fields, lines if lines is not None else {}))


def _named_lines(
    fields: HeaderFields, cache: dict[tuple[str, str], bytes], date: str | None = None
) -> Iterator[tuple[str, bytes]]:
    """(name, line bytes) of `header_block`, lines shared by every copy taken from `cache`."""
    for name, value, is_address in _header_fields(fields, date):
        if name == "To" or (name == "Message-ID" and not fields.get("message_id")):  # this copy's own
            yield name, (address_line(name, value) if is_address else header_line(name, str(value)))
            continue
        # The same for every copy: From and Reply-To (the list's or the author's address), a
        # given Message-ID, the Date (within a second), the list headers but the personal ones.
        key = (
            name,
            str(value) if not isinstance(value, Address) else f"{value.display_name}\0{value.addr_spec}",
        )
        line = cache.get(key)
        if line is None:
            line = address_line(name, value) if is_address else header_line(name, str(value))
            cache[key] = line
        yield name, line


class HeaderTemplate:
    """`header_block` for the copies of one fan-out, which differ only in a few headers.

    The first block of each `shared` key (and Date second) is built whole and cut into
    runs of lines shared by every copy, pre-encoded bytes, around the `personal` headers
    (To, the List-* headers with the recipient's links, a Message-ID made per copy); each
    later block writes only its personal lines and joins. The caller's promise: every
    field outside `personal` is the same for all blocks with the same `shared` key (e.g.
    the subject's language), and the headers are named in the same order.
    """

    def __init__(self, personal: Collection[str]) -> None:
        self.personal = frozenset(personal)
        self.lines: dict[tuple[str, str], bytes] = {}
        self._runs: dict[Hashable, list[bytes | str]] = {}

    def block(self, shared: Hashable, **fields: Unpack[HeaderFields]) -> bytes:
        """`header_block(**fields)`, byte for byte."""
        date = _date_value()
        runs = self._runs.get((shared, date))
        if runs is None:
            named = list(_named_lines(fields, self.lines, date))
            runs = []
            for name, line in named:
                if name in self.personal:
                    runs.append(name)
                elif runs and isinstance(runs[-1], bytes):
                    runs[-1] += line
                else:
                    runs.append(line)
            if len(self._runs) > 16:  # a new second: the old Date's runs are done with
                self._runs.clear()
            self._runs[(shared, date)] = runs
            return b"".join(line for _, line in named)
        return b"".join(run if isinstance(run, bytes) else self._personal_line(run, fields) for run in runs)

    @staticmethod
    def _personal_line(name: str, fields: HeaderFields) -> bytes:
        if name == "To":
            return address_line(name, fields["to"])
        if name == "Message-ID":
            return header_line(name, fields.get("message_id") or new_message_id())
        headers = fields.get("headers") or {}
        return header_line(name, str(headers[name]))


def header_message(**fields: Unpack[HeaderFields]) -> EmailMessage:
    """A message with the envelope headers only (From ... the extra headers), no body yet."""
    msg = EmailMessage(policy=POLICY)
    for name, value, is_address in _header_fields(fields):
        if is_address:
            set_address(msg, name, value)
        else:
            set_header(msg, name, str(value))
    return msg
