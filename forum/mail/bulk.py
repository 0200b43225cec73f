"""A mail body encoded once and personalised per recipient in its encoded bytes.

A fan-out sends the same text and HTML to thousands of people; only a few links (the
subscriber's own unsubscribe/preferences/posting URLs) differ.  Encoding a 300 KB
digest with the email package costs ~30 ms a copy, so `BodyTemplate` renders each
body once with short ASCII placeholders where those links go, and then builds each
recipient's body from cached encoded bytes:

* lines without a placeholder are encoded once (they are the bulk of the body);
* lines with one are substituted and encoded per recipient (a few footer lines);
* the Content-Transfer-Encoding is chosen per recipient exactly as the email package
  would choose it for that recipient's text (7bit/8bit when every line fits in 78
  octets, else quoted-printable or base64 by the package's own sniff), so a recipient
  gets the same encoding, headers and decoded content as a message built one by one.

Quoted-printable lines are wrapped at 76 characters (RFC 2045); the email package
itself wraps at the policy's 78, so bulk copies are, if anything, stricter.  Base64
parts (rare: mostly non-Latin text) are encoded whole per recipient.  QP is line-local
(`quoprimime.body_encode` encodes each line on its own), which is what makes caching
encoded lines exact.

The MIME skeleton (boundaries, part headers) comes from a real `EmailMessage` built the
way `compose.build_message` builds it, with a marker as each part's payload, so the
structure is the email package's own.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from email import quoprimime
from email.generator import Generator
from email.message import EmailMessage, MIMEPart

from markupsafe import escape

from forum.mail.policy import POLICY
from forum.mail.qp import (
    LINESEP,
    MAX_LINE,
    QP_ESCAPE,
    QP_LINE,
    qp_apply,
    qp_escape,
    qp_lines,
    qp_plan,
    qp_wrap,
    sniff_length,
)


@dataclass(frozen=True)
class Attachment:
    """A per-recipient attachment (e.g. a calendar file naming the attendee)."""

    data: bytes
    maintype: str
    subtype: str
    filename: str

    @property
    def shape(self) -> tuple[str, str, str]:
        return (self.maintype, self.subtype, self.filename)


@dataclass(frozen=True)
class InlinePart:
    """A per-recipient text part inside the multipart/alternative, after the HTML: the
    `text/calendar; method=...` part of an iTIP mail (RFC 6047), which names its attendee.

    Encoded as ``MIMEPart.set_content(text, subtype=, charset=, cte=, params=)`` encodes
    it: 7bit when ASCII, else quoted-printable (not every relay takes 8-bit bodies).
    """

    text: str
    subtype: str
    params: tuple[tuple[str, str], ...] = ()
    charset: str = "utf-8"
    #: `text` cut at line ends into shared and own runs, alternating from a shared one
    #: (shared, own, shared, ..., shared): the shared runs are stored once per body (the same
    #: objects for every recipient), the own ones with each row. Empty: all of it is own.
    pieces: tuple[str, ...] = ()

    @property
    def cte(self) -> str:
        return "7bit" if self.text.isascii() else "quoted-printable"

    @property
    def shape(self) -> tuple[object, ...]:
        return (self.subtype, self.params, self.charset, self.cte)

    def encoded(self) -> bytes:
        """The payload as the email package writes it (lines joined with CRLF), except that
        quoted-printable lines wrap at RFC 2045's 76 like the text parts (the package: 78)."""
        return self._encode(self.text)

    def encoded_pieces(self) -> list[tuple[bool, bytes]]:
        """`encoded()` as [(own, bytes), ...] along `pieces` (both encodings are line-local)."""
        if not self.pieces:
            return [(True, self.encoded())]
        return [(n % 2 == 1, self._encode(piece)) for n, piece in enumerate(self.pieces) if piece]

    def _encode(self, text: str) -> bytes:
        lines = text.encode(self.charset).splitlines()
        if not lines:
            return b""
        if self.cte == "7bit":
            return LINESEP.join(lines) + LINESEP
        data = (b"\n".join(lines) + b"\n").decode("latin-1")
        return quoprimime.body_encode(data, QP_LINE, eol="\r\n").encode("ascii")


def _encode_base64(data: bytes) -> bytes:
    """As `email.contentmanager._encode_base64` does, with CRLF line ends."""
    step = MAX_LINE // 4 * 3
    return b"".join(
        binascii.b2a_base64(data[i : i + step]).replace(b"\n", LINESEP) for i in range(0, len(data), step)
    )


#: A value that reads the same HTML-escaped, needs no quoted-printable escape and ends no line
#: in a blank: printable ASCII but space, `"`, `&`, `'`, `<`, `=`, `>` (a signed link: base64url,
#: dots and a URL's own characters). Its bytes go in as they are, in both parts.
_PLAIN = re.compile(rb"[!#-%(-;?-~]*")


def _plain(values: Sequence[str]) -> list[bytes] | None:
    """The values' UTF-8 bytes if every one is `_PLAIN` (as signed links are), else None."""
    raw = [value.encode("utf-8") for value in values]
    return raw if all(_PLAIN.fullmatch(value) for value in raw) else None


class TextPart:
    """One text part (plain or HTML) with placeholders, encoded line by line with caching."""

    def __init__(self, text: str, subtype: str, pattern: re.Pattern[bytes]) -> None:
        self.subtype = subtype
        self.pattern = pattern
        self.lines = text.encode("utf-8").splitlines()  # as the email package splits them
        self.dynamic = [i for i, line in enumerate(self.lines) if pattern.search(line)]
        dynamic = set(self.dynamic)
        static = [line for i, line in enumerate(self.lines) if i not in dynamic]
        self.static_max = max((len(line) for line in static), default=0)
        self.static_ascii = all(line.isascii() for line in static)
        # Runs of static lines between dynamic ones: pieces are (start, end) or a line index.
        self.pieces: list[tuple[int, int] | int] = []
        start = 0
        for i in self.dynamic:
            if i > start:
                self.pieces.append((start, i))
            self.pieces.append(i)
            start = i + 1
        if start < len(self.lines):
            self.pieces.append((start, len(self.lines)))
        self._runs: dict[str, dict[tuple[int, int], bytes]] = {}
        # Each line with placeholders cut around them (fixed bytes at even places, the
        # index of a value at odd ones), once: a recipient's line is then a join, not a
        # regular-expression substitution; the fixed bytes' quoted-printable escapes too
        # (escaping is byte by byte, so the escape of a join is the join of the escapes).
        self._cuts: dict[int, tuple[list[bytes], list[bytes], list[int]]] = {}
        for i in self.dynamic:
            split = pattern.split(self.lines[i])
            fixed = split[0::2]
            self._cuts[i] = (fixed, [QP_ESCAPE.sub(qp_escape, f) for f in fixed], [int(n) for n in split[1::2]])
        # The sniff's quoted-printable length of each of the first ten lines (the email
        # package's own encoder, line by line: it is line-local), for those without a value.
        self.sniff_lengths = [
            None if i in dynamic else sniff_length(line) for i, line in enumerate(self.lines[:10])
        ]
        # The encoding chosen for plain values (`_PLAIN`), by their lengths: with nothing to
        # escape in them, line lengths and where quoted-printable breaks fall depend on those alone.
        self._plain_ctes: dict[tuple[int, ...], str] = {}
        #: Quoted-printable cuts of each line with plain values, by value lengths (see `qp_plan`).
        self._plain_plans: dict[tuple[int, ...], dict[int, list[tuple[int, int, bytes]]]] = {}

    def contains(self, needle: bytes) -> bool:
        return any(needle in line for line in self.lines)

    def _raw(self, values: Sequence[str]) -> list[bytes]:
        """The values' bytes as they go into this part (HTML-escaped in the HTML part)."""
        if self.subtype == "html":
            return [str(escape(v)).encode("utf-8") for v in values]
        return [v.encode("utf-8") for v in values]

    def _substitute(self, values: Sequence[str]) -> dict[int, bytes]:
        return self._lines(self._raw(values))

    def _lines(self, raw: Sequence[bytes]) -> dict[int, bytes]:
        """This recipient's lines with placeholders, values put in (`raw`: see `_raw`)."""
        return {i: self._line(i, raw) for i in self._cuts}

    def _line(self, i: int, raw: Sequence[bytes]) -> bytes:
        """Line `i` (one with placeholders) with the values `raw` put in."""
        fixed, _, slots = self._cuts[i]
        out = [fixed[0]]
        for n, slot in enumerate(slots, 1):
            out += [raw[slot], fixed[n]]
        return b"".join(out)

    def _escaped(self, i: int, raw: Sequence[bytes], escaped: list[bytes | None]) -> bytes:
        """`QP_ESCAPE.sub(...)` of line `i` with `raw` put in, from its escaped fixed bytes."""
        _, fixed, slots = self._cuts[i]
        out = [fixed[0]]
        for n, slot in enumerate(slots, 1):
            value = escaped[slot]
            if value is None:
                value = raw[slot]
                if QP_ESCAPE.search(value):
                    value = QP_ESCAPE.sub(qp_escape, value)
                escaped[slot] = value
            out += [value, fixed[n]]
        return b"".join(out)

    def _choose_cte(self, own: dict[int, bytes], raw: Sequence[bytes] = (), escaped: list[bytes | None] | None = None) -> str:
        """The email package's choice (contentmanager._encode_text) for this recipient's text
        (`raw` and `escaped`, as `_escaped` takes them, spare re-escaping the lines)."""
        longest = max([self.static_max, *(len(line) for line in own.values())])
        if longest <= MAX_LINE:
            if self.static_ascii and all(line.isascii() for line in own.values()):
                return "7bit"
            return "8bit"  # the SMTP policy allows 8bit bodies
        # The package sniffs the first ten lines: quoted-printable if not longer than base64.
        # Its encoder is line-local, so the quoted-printable length is the sum of each line's
        # (the lines without a value: counted once, in __init__).
        qp = size = 0
        for i, known in enumerate(self.sniff_lengths):
            if known is None:
                line = own[i]
                if escaped is None:
                    qp += sniff_length(line)
                else:
                    qp += len(qp_wrap(self._escaped(i, raw, escaped), MAX_LINE, b"\n"))
            else:
                line = self.lines[i]
                qp += known
            size += len(line) + len(LINESEP)
        return "base64" if qp > 4 * -(-size // 3) + 1 else "quoted-printable"

    def _run(self, cte: str, run: tuple[int, int]) -> bytes:
        cache = self._runs.setdefault(cte, {})
        encoded = cache.get(run)
        if encoded is None:
            lines = self.lines[run[0] : run[1]]
            encoded = qp_lines(lines) if cte == "quoted-printable" else LINESEP.join(lines) + LINESEP
            cache[run] = encoded
        return encoded

    def plain_owns(self, plain: Sequence[bytes]) -> tuple[str, list[bytes]] | None:
        """(Content-Transfer-Encoding, the encoded lines with placeholders, in order) for
        `_PLAIN` values (`plain`: their bytes); None when the part goes out in base64 (whole,
        per recipient). The encoding and where quoted-printable cuts fall are worked out once
        per set of value lengths: values with nothing to escape change nothing else."""
        key = tuple(map(len, plain))
        cte = self._plain_ctes.get(key)
        if cte is None:
            cte = self._plain_ctes[key] = self._choose_cte(self._lines(plain), plain, list(plain))
        if cte == "base64":
            return None
        if cte != "quoted-printable":
            return cte, [self._line(i, plain) + LINESEP for i in self.dynamic]
        plans = self._plain_plans.get(key)
        if plans is None:
            if len(self._plain_plans) > 64:  # lengths vary little (ids' digits): a bound all the same
                self._plain_plans.clear()
            plans = self._plain_plans[key] = {}
        out = []
        for i in self.dynamic:
            _, fixed, slots = self._cuts[i]
            parts = [fixed[0]]
            for n, slot in enumerate(slots, 1):
                parts += [plain[slot], fixed[n]]
            line = b"".join(parts)
            plan = plans.get(i)
            if plan is None:
                plan = plans[i] = qp_plan(line)
            out.append(qp_apply(line, plan))
        return cte, out

    def encode_pieces(
        self, values: Sequence[str], plain: Sequence[bytes] | None = None
    ) -> tuple[str, list[tuple[bool, bytes]]]:
        """(Content-Transfer-Encoding, [(own, encoded bytes), ...]) for one recipient's values.

        `own` is False for runs of lines without a placeholder: their bytes are the same
        for every recipient who gets this encoding, so a fan-out stores them once.
        `plain`: the values' UTF-8 bytes when every one is `_PLAIN` (the caller checked):
        they go in unescaped, and the encoding is chosen once per set of value lengths.
        """
        if plain is not None and (found := self.plain_owns(plain)) is not None:
            cte, owns = found
            mine = iter(owns)
            return cte, [(False, self._run(cte, p)) if isinstance(p, tuple) else (True, next(mine)) for p in self.pieces]
        raw = self._raw(values)
        own = self._lines(raw)
        escaped: list[bytes | None] = [None] * len(raw)
        cte = self._choose_cte(own, raw, escaped)
        if cte == "base64":
            lines = [own.get(i, line) for i, line in enumerate(self.lines)]
            return cte, [(True, _encode_base64(LINESEP.join(lines) + LINESEP))]
        out: list[tuple[bool, bytes]] = []
        for piece in self.pieces:
            if isinstance(piece, tuple):
                out.append((False, self._run(cte, piece)))
            elif cte == "quoted-printable":
                out.append((True, qp_wrap(self._escaped(piece, raw, escaped))))
            else:
                out.append((True, own[piece] + LINESEP))
        return cte, out

    def encode(self, values: Sequence[str]) -> tuple[str, bytes]:
        """(Content-Transfer-Encoding, encoded payload with CRLF) for one recipient's values."""
        cte, pieces = self.encode_pieces(values)
        return cte, b"".join(data for _, data in pieces)


class BodyTemplate:
    """The MIME body of one group's mail: text (+ HTML) (+ attachments), placeholders inside.

    `render(values, attachments)` returns (MIME header lines, body bytes) to append to
    a recipient's own header block; `values[i]` replaces placeholder `i` (see
    `placeholder`).
    """

    def __init__(self, text: str, html: str | None, nonce: str) -> None:
        self.nonce = nonce
        self.pattern = re.compile(rb"zz" + nonce.encode() + rb"v(\d+)z")
        self.parts = [TextPart(text, "plain", self.pattern)]
        if html:
            self.parts.append(TextPart(html, "html", self.pattern))
        self._skeletons: dict[tuple[object, ...], tuple[bytes, list[bytes]]] = {}
        self._statics: dict[Hashable, tuple[bytes, ...]] = {}

    @staticmethod
    def placeholder(nonce: str, index: int) -> str:
        """Short, ASCII, alphanumeric: unchanged by HTML escaping and by QP encoding."""
        return f"zz{nonce}v{index}z"

    def _skeleton(
        self,
        ctes: tuple[str, ...],
        shapes: tuple[tuple[str, str, str], ...],
        inline: Sequence[InlinePart] = (),
    ) -> tuple[bytes, list[bytes]]:
        """(MIME headers, body segments between part payloads) for one choice of encodings.

        With `inline` parts the message is built as `calendar.attach_calendar` builds an
        iTIP mail: the parts join the multipart/alternative, which then goes inside a
        multipart/mixed with the attachments.
        """
        key = (ctes, shapes, tuple(part.shape for part in inline))
        cached = self._skeletons.get(key)
        if cached is not None:
            return cached
        proto = EmailMessage(policy=POLICY)
        proto.set_content("x", cte=ctes[0])
        if len(self.parts) > 1:
            proto.add_alternative("x", subtype="html", cte=ctes[1])
        if inline:
            if not proto.is_multipart():
                proto.make_alternative()
            for extra in inline:
                part = MIMEPart(policy=POLICY)
                part.set_content(
                    "x",
                    subtype=extra.subtype,
                    charset=extra.charset,
                    cte=extra.cte,
                    params=dict(extra.params),
                )
                proto.attach(part)  # type: ignore[arg-type]
            proto.make_mixed()
        for maintype, subtype, filename in shapes:
            proto.add_attachment(b"x", maintype=maintype, subtype=subtype, filename=filename)
        marker = f"zz{self.nonce}p{{}}z"
        leaves = [part for part in proto.walk() if not part.is_multipart()]
        for n, part in enumerate(leaves):
            part.set_payload(marker.format(n) + "\n")
        for part in proto.walk():
            if part.is_multipart():
                part.set_boundary(self._boundary())
        head, _, body = proto.as_bytes().partition(LINESEP + LINESEP)
        segments = re.split(rb"zz" + self.nonce.encode() + rb"p\d+z\r\n", body)
        if len(segments) != len(leaves) + 1:
            raise RuntimeError("bulk mail skeleton: part markers not found")
        cached = self._skeletons[key] = (head + LINESEP, segments)
        return cached

    def _boundary(self) -> str:
        while True:
            boundary = Generator._make_boundary()  # type: ignore[attr-defined]
            if not any(part.contains(boundary.encode()) for part in self.parts):
                return boundary

    def render(
        self, values: Sequence[str], attachments: Sequence[Attachment] = (), inline: Sequence[InlinePart] = ()
    ) -> tuple[bytes, bytes]:
        encoded = [part.encode(values) for part in self.parts]
        ctes = tuple(cte for cte, _ in encoded)
        head, segments = self._skeleton(ctes, tuple(a.shape for a in attachments), inline)
        payloads = [data for _, data in encoded] + [part.encoded() for part in inline]
        payloads += [_encode_base64(a.data) for a in attachments]
        out = [segments[0]]
        for payload, segment in zip(payloads, segments[1:], strict=True):
            out += [payload, segment]
        return head, b"".join(out)

    def render_shared(
        self, values: Sequence[str], attachments: Sequence[Attachment] = (), inline: Sequence[InlinePart] = ()
    ) -> tuple[Hashable, tuple[bytes, ...], tuple[bytes, ...]]:
        """One recipient's body split into what they share with others and what is their own.

        Returns (variant, statics, owns): the MIME headers, a blank line and the body are
        ``statics[0] + owns[0] + statics[1] + ... + owns[-1] + statics[-1]``, byte for byte
        what `render` gives (head, CRLF, body). Every recipient of this body with the same
        `variant` (the encodings chosen, the attachments' shapes) has the same `statics`
        (the same objects, built once), so a fan-out stores them once per variant and
        only the `owns` (lines with the recipient's links, their inline parts and
        attachments) per recipient.
        """
        plain = _plain(values)
        if plain is not None and not attachments and not inline:
            # A known variant: only this recipient's own lines are encoded, the rest is `statics`.
            found = [part.plain_owns(plain) for part in self.parts]
            if all(found):
                known: Hashable = (tuple(f[0] for f in found if f), (), ())
                statics = self._statics.get(known)
                if statics is not None:
                    return known, statics, tuple(own for f in found if f for own in f[1])
        encoded = [part.encode_pieces(values, plain) for part in self.parts]
        ctes = tuple(cte for cte, _ in encoded)
        shapes = tuple(a.shape for a in attachments)
        variant = (ctes, shapes, tuple(part.shape for part in inline))
        head, segments = self._skeleton(ctes, shapes, inline)
        own_payloads = [part.encoded_pieces() for part in inline]
        own_payloads += [[(True, _encode_base64(a.data))] for a in attachments]
        pieces: list[tuple[bool, bytes]] = [(False, head + LINESEP + segments[0])]
        for n, segment in enumerate(segments[1:]):
            if n < len(encoded):
                pieces.extend(encoded[n][1])
            else:
                pieces.extend(own_payloads[n - len(encoded)])
            pieces.append((False, segment))
        owns = tuple(data for own, data in pieces if own)
        statics = self._statics.get(variant)
        if statics is None:
            runs: list[bytes] = []
            current: list[bytes] = []
            for own, data in pieces:
                if own:
                    runs.append(b"".join(current))
                    current = []
                else:
                    current.append(data)
            runs.append(b"".join(current))
            statics = self._statics[variant] = tuple(runs)
        return variant, statics, owns
