"""Inbound mail parsing: whatever arrives becomes a `ParsedMessage` (no Flask, no database).

Anything on the internet can arrive here, so parsing never raises: broken charsets,
8-bit headers, multipart without boundaries and missing headers all turn into
something usable or into an empty field the acceptance rules then refuse with a
reason. `forum.mail.inbound` routes the result to the area that decides what happens to it.
"""

from __future__ import annotations

import email
import logging
import re
from dataclasses import dataclass, field
from email import policy
from email.header import decode_header
from email.message import Message
from email.utils import getaddresses

from forum.core.text import html_to_text
from forum.mail.dsn import RecipientStatus, read_report

log = logging.getLogger(__name__)

_CR_RE = re.compile(r"\r+\n?")
MSGID_RE = re.compile(r"<[^<>\s]{1,250}>")
#: An addr-spec usable as an identity: an unquoted local part, an `@`, a domain (1-320 chars).
ADDR_SPEC_RE = re.compile(r"^(?=.{3,320}$)[^@\s\"<>(),;:\\\[\]]+@[^@\s\"<>(),;:\\\[\]]+\.[^@\s\"<>(),;:\\\[\]]+$")
VACATION_SUBJECT_RE = re.compile(
    r"^\s*(auto(matic)?[\s_-]*(reply|response|antwort)|out of (the )?office|"
    r"vacation|away from (the |my )?(office|desk)|abwesenheit|absence|"
    r"r[ée]ponse automatique|respuesta autom[aá]tica)\b",
    re.IGNORECASE,
)
AUTOREPLY_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-Vacation")


@dataclass
class ParsedMessage:
    """The parts of a message the forum uses, all as clean `str`."""

    raw_size: int
    from_name: str = ""
    from_email: str = ""
    subject: str = ""
    message_id: str | None = None
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    text: str = ""
    html: str | None = None  # unsanitised; discussion sanitises it
    attachments: list[str] = field(default_factory=list)  # "name (type, size)" notes
    auto_reason: str | None = None  # why this is an automatic message (RFC 3834 & co)
    list_ids: list[str] = field(default_factory=list)
    x_loops: list[str] = field(default_factory=list)
    #: (iTIP method, text) of each text/calendar or .ics part, e.g. ("REPLY", "BEGIN:VCALENDAR...")
    calendars: list[tuple[str, str]] = field(default_factory=list)
    #: A delivery report's per-recipient results (forum.mail.dsn), None when it is not one.
    delivery: list[RecipientStatus] | None = None
    #: What the receiving MTA's spam filter said: `X-Spam-Flag: YES`, and the highest score
    #: of `X-Spam-Score` (SpamAssassin) / `X-Rspamd-Score` (rspamd), None when neither came.
    spam_flag: bool = False
    spam_score: float | None = None

    @property
    def is_calendar_reply(self) -> bool:
        """An iTIP message meant for the organizer: REPLY ("Accepted: ..."), COUNTER (a new
        time proposed) or REFRESH (asking for the invite again). An answer, never a post."""
        return any(method in ("REPLY", "COUNTER", "REFRESH") for method, _ in self.calendars)


# --- header decoding --------------------------------------------------------------------


def _unsurrogate(value: str) -> str:
    """8-bit bytes in headers come in as surrogate escapes; read them as UTF-8 (or Latin-1)."""
    if not any("\udc80" <= ch <= "\udcff" for ch in value):
        return value
    data = value.encode("utf-8", "surrogateescape")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _clean(value: str) -> str:
    """One line, printable characters only: safe to store and to put back into a header."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in value).split())


def _raw_values(msg: Message, name: str) -> list[str]:
    """A header's values as received (8-bit bytes as surrogate escapes), not as Header objects."""
    lowered = name.lower()
    try:
        return [str(v) for k, v in msg.raw_items() if k.lower() == lowered]
    except Exception:  # noqa: BLE001 - never let one odd header stop the parse
        return []


def decode_words(raw: str) -> str:
    """RFC 2047 encoded words decoded one by one; an unknown charset or bad bytes cost only
    the characters they spoil, not the whole header."""
    raw = _unsurrogate(raw)
    try:
        parts = decode_header(raw)
    except Exception:  # noqa: BLE001 - malformed encoded words: keep the text as written
        return raw
    out: list[str] = []
    for value, charset in parts:
        if isinstance(value, str):
            out.append(value)
            continue
        text = None
        for candidate in (charset, "utf-8"):
            if not candidate or candidate == "unknown-8bit":
                continue
            try:
                text = value.decode(candidate)
                break
            except (LookupError, UnicodeDecodeError, ValueError):
                continue
        out.append(text if text is not None else value.decode("utf-8", "replace"))
    return "".join(out)


def header_text(msg: Message, name: str) -> str:
    """A header decoded from RFC 2047 words (bad charsets tolerated), or ''."""
    values = _raw_values(msg, name)
    if not values:
        return ""
    return _clean(decode_words(values[0]))


def header_all(msg: Message, name: str) -> list[str]:
    return [_clean(_unsurrogate(v)) for v in _raw_values(msg, name)]


def message_ids(value: str) -> list[str]:
    """Every `<id@host>` in a header such as References, in order."""
    return MSGID_RE.findall(value or "")


# --- automatic mail (RFC 3834 and friends) --------------------------------------------


def auto_reason(msg: Message, subject: str) -> str | None:
    """Why this message was sent by a program rather than a person, or None."""
    auto = header_text(msg, "Auto-Submitted").lower()
    if auto and not auto.startswith("no"):
        return f"Auto-Submitted: {auto}"
    precedence = header_text(msg, "Precedence").lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"Precedence: {precedence}"
    for name in AUTOREPLY_HEADERS:
        if msg.get(name) is not None:
            return f"{name} header"
    if header_text(msg, "X-Auto-Response-Suppress") and msg.get("X-MS-Exchange-Inbox-Rules-Loop"):
        return "Exchange inbox rule"
    if VACATION_SUBJECT_RE.search(subject):
        return "vacation/auto-reply subject"
    sender = from_address(msg)[1].lower()
    if sender.startswith(("mailer-daemon@", "postmaster@")) or "multipart/report" in (
        msg.get_content_type() or ""
    ):
        return "delivery report"
    return None


# --- bodies -------------------------------------------------------------------------------


def _decode_part(part: Message) -> str:
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001 - any broken transfer encoding: fall back to the raw text
        payload = None
    if payload is None:
        raw = part.get_payload()
        return _unsurrogate(raw) if isinstance(raw, str) else ""
    if not isinstance(payload, bytes):
        return str(payload)
    charset = "utf-8"
    try:
        charset = part.get_content_charset() or "utf-8"
    except Exception:  # noqa: BLE001 - garbage charset parameter
        charset = "utf-8"
    for candidate in (charset, "utf-8"):
        try:
            return payload.decode(candidate)
        except (LookupError, UnicodeDecodeError, ValueError):
            continue
    return payload.decode("latin-1")


def _filename(part: Message) -> str:
    try:
        name = part.get_filename()
    except Exception:  # noqa: BLE001
        name = None
    return _clean(_unsurrogate(str(name))) if name else ""


def _size_label(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    if n >= 1024:
        return f"{n // 1024} KB"
    return f"{n} bytes"


def _attachment_note(part: Message) -> str:
    try:
        payload = part.get_payload(decode=True)
        size = len(payload) if isinstance(payload, bytes) else len(str(part.get_payload()))
    except Exception:  # noqa: BLE001
        size = 0
    name = _filename(part) or "unnamed"
    return f"{name} ({part.get_content_type()}, {_size_label(size)})"


def _is_attachment(part: Message) -> bool:
    disposition = (part.get("Content-Disposition") or "").split(";")[0].strip().lower()
    return disposition == "attachment" or (bool(_filename(part)) and disposition != "inline")


_CALENDAR_TYPES = ("text/calendar", "application/ics", "text/x-vcalendar")
_METHOD_RE = re.compile(r"^METHOD:([A-Za-z-]+)\s*$", re.MULTILINE)


def calendar_parts(msg: Message, limit: int = 10) -> list[tuple[str, str]]:
    """(method, text) of the iCalendar parts anywhere in the MIME tree (at most `limit`).

    The method is the part's `method=` parameter (RFC 6047) or, failing that, the
    calendar's own METHOD line; "" when neither says.
    """
    found: list[tuple[str, str]] = []
    stack: list[tuple[Message, int]] = [(msg, 0)]
    while stack and len(found) < limit:
        part, depth = stack.pop()
        if part.is_multipart():
            children = part.get_payload()
            if isinstance(children, list) and depth < 20:
                stack.extend((c, depth + 1) for c in reversed(children) if isinstance(c, Message))
            continue
        if part.get_content_type() not in _CALENDAR_TYPES and not _filename(part).lower().endswith(".ics"):
            continue
        text = _decode_part(part)
        try:
            method = str(part.get_param("method") or "")
        except Exception:  # noqa: BLE001 - a garbled Content-Type parameter
            method = ""
        if not method:
            match = _METHOD_RE.search(text[:20000])
            method = match.group(1) if match else ""
        found.append((method.strip().upper(), text))
    return found


def _collect(part: Message, texts: list[str], htmls: list[str], notes: list[str], depth: int = 0) -> None:
    """Walk the MIME tree: inline text and HTML are kept, everything else noted and dropped."""
    if depth > 20:
        return
    ctype = part.get_content_type()
    if part.is_multipart():
        children = part.get_payload()
        if not isinstance(children, list):
            return
        if ctype == "multipart/alternative":
            _collect_alternative(children, texts, htmls, notes, depth)
            return
        for child in children:
            if isinstance(child, Message):
                _collect(child, texts, htmls, notes, depth + 1)
        return
    if ctype.startswith("multipart/"):
        # A multipart whose boundary is missing or wrong: its body is all we have.
        texts.append(_decode_part(part))
        return
    if ctype == "text/plain" and not _is_attachment(part):
        texts.append(_decode_part(part))
    elif ctype == "text/html" and not _is_attachment(part):
        htmls.append(_decode_part(part))
    else:
        notes.append(_attachment_note(part))


def _collect_alternative(
    children: list, texts: list[str], htmls: list[str], notes: list[str], depth: int
) -> None:
    """One text and one HTML rendering of the same content; other renderings are dropped."""
    sub_texts: list[str] = []
    sub_htmls: list[str] = []
    for child in children:
        if isinstance(child, Message):
            _collect(child, sub_texts, sub_htmls, notes, depth + 1)
    if sub_texts:
        texts.append(sub_texts[0])
    if sub_htmls:
        htmls.append(sub_htmls[-1])


# --- the parser ---------------------------------------------------------------------------


def parse_message(raw: bytes) -> ParsedMessage:
    """Parse RFC 5322 bytes. Never raises: what cannot be read is left empty."""
    parsed = ParsedMessage(raw_size=len(raw))
    try:
        msg = email.message_from_bytes(raw, policy=policy.compat32)
    except Exception:  # noqa: BLE001 - the stdlib parser is lenient; this is belt and braces
        return parsed
    _read_headers(msg, parsed)
    try:
        parsed.delivery = read_report(msg)
    except Exception:  # noqa: BLE001 - an unreadable report is simply not a report
        parsed.delivery = None
    try:
        parsed.calendars = calendar_parts(msg)
    except Exception:  # noqa: BLE001 - an unreadable calendar part is just not a calendar
        parsed.calendars = []
    texts: list[str] = []
    htmls: list[str] = []
    try:
        _collect(msg, texts, htmls, parsed.attachments)
    except Exception:  # noqa: BLE001 - a MIME tree too broken to walk: keep what was found
        log.warning("could not walk MIME tree of %s", parsed.message_id, exc_info=True)
    parsed.text = _lines("\n\n".join(_lines(t).strip("\n") for t in texts if t.strip()))
    html = "\n".join(h for h in htmls if h.strip())
    parsed.html = html or None
    if not parsed.text.strip() and parsed.html:
        parsed.text = html_to_text(parsed.html)
    parsed.text = _lines(parsed.text).replace("\x00", "")
    return parsed


def _lines(text: str) -> str:
    """Unix line ends: CRLF, CRs doubled before LF, and a lone CR (old clients,
    quoted-printable `=0D`) each become one LF."""
    return _CR_RE.sub("\n", text) if "\r" in text else text


def _mailboxes(raw: str) -> list[tuple[str, str]]:
    """(display name, addr-spec) pairs of an address header, parsed *before* decoding.

    RFC 2047 words may only stand for display-name text, never for an address: a From of
    `=?utf-8?q?victim=40example=2Eorg?= <attacker@evil.example>` is attacker@evil.example.
    `getaddresses` reads the undecoded header; only then are the names decoded (by
    `decode_words`, which joins adjacent encoded words as RFC 2047 says; the email
    package's address parser leaves a space between them). If it finds no address, the
    `policy.default` parser, which also parses before decoding, gets a try.
    """
    value = re.sub(r"\r?\n(?=[ \t])", "", _unsurrogate(raw))
    try:
        pairs = [(decode_words(name), addr) for name, addr in getaddresses([value])]
    except Exception:  # noqa: BLE001
        pairs = []
    if any(ADDR_SPEC_RE.match(addr.strip()) for _, addr in pairs):
        return pairs
    try:
        header = policy.default.header_factory("From", value)
        return [(a.display_name, a.addr_spec) for a in header.addresses]  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001
        return []


def from_address(msg: Message) -> tuple[str, str]:
    """(display name, address) of the first usable mailbox in From; the address alone is identity.

    A display name is one clean line; one that holds an address (`"ann@example.org"
    <mallory@evil.example>`) is dropped, so nothing shown can pass for another sender.
    """
    values = _raw_values(msg, "From")
    for name, addr in _mailboxes(values[0]) if values else []:
        addr = addr.strip()
        if ADDR_SPEC_RE.match(addr):
            name = _clean(name)
            return ("" if "@" in name else name[:200]), addr
    return "", ""


def _read_headers(msg: Message, parsed: ParsedMessage) -> None:
    parsed.from_name, parsed.from_email = from_address(msg)
    parsed.subject = header_text(msg, "Subject")
    ids = message_ids(header_text(msg, "Message-ID"))
    parsed.message_id = ids[0] if ids else None
    reply = message_ids(header_text(msg, "In-Reply-To"))
    parsed.in_reply_to = reply[0] if reply else None
    parsed.references = message_ids(header_text(msg, "References"))[-50:]
    parsed.auto_reason = auto_reason(msg, parsed.subject)
    parsed.list_ids = header_all(msg, "List-Id")
    parsed.x_loops = header_all(msg, "X-Loop")
    parsed.spam_flag, parsed.spam_score = spam_marks(msg)


_SCORE_RE = re.compile(r"^\s*([+-]?\d+(?:\.\d+)?)")


def spam_marks(msg: Message) -> tuple[bool, float | None]:
    """The MTA's verdict as it wrote it into the headers; the forum decides what it means.

    Only the first number of a score header is read (`X-Spam-Score: 7.2 (+++++++)`); a
    header that holds no number counts as absent rather than as zero.
    """
    flagged = any(value.strip().lower().startswith("yes") for value in header_all(msg, "X-Spam-Flag"))
    scores: list[float] = []
    for name in ("X-Spam-Score", "X-Rspamd-Score"):
        for value in header_all(msg, name):
            match = _SCORE_RE.match(value)
            if match:
                scores.append(float(match.group(1)))
    return flagged, (max(scores) if scores else None)


def recipients_in(raw: bytes, domain: str) -> list[str]:
    """Addresses at our list domain in a message's delivery headers (for `inject` without --to)."""
    try:
        msg = email.message_from_bytes(raw, policy=policy.compat32)
    except Exception:  # noqa: BLE001
        return []
    found: list[str] = []
    for name in ("Delivered-To", "X-Original-To", "Envelope-To", "To", "Cc"):
        values = header_all(msg, name)
        try:
            pairs = getaddresses(values)
        except Exception:  # noqa: BLE001, S112 - an unreadable header names no recipient
            continue
        for _, addr in pairs:
            if addr.lower().endswith("@" + domain.lower()) and addr.lower() not in found:
                found.append(addr.lower())
        if found:
            break
    return found
