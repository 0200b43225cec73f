"""Quoted-printable of body lines as `email.quoprimime.body_encode` writes them, byte for
byte, in pieces a fan-out can cache (forum/mail/bulk.py): escaping is byte by byte and
wrapping is line-local, so a recipient's line is escaped from cached pieces and cut where
a line of the same shape was cut.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from email import quoprimime

LINESEP = b"\r\n"
MAX_LINE = 78  # the SMTP policy's max_line_length: the 7bit/8bit threshold of the email package
QP_LINE = 76  # RFC 2045


#: What quoted-printable escapes in a body: all but tab and printable ASCII other than "=".
QP_ESCAPE = re.compile(rb"[^\t -<>-~]")


def qp_escape(match: re.Match[bytes]) -> bytes:
    return b"=%02X" % match[0][0]


def qp_line(line: bytes) -> bytes:
    """`quoprimime.body_encode` of one line (no line break in it), with CRLF, byte for byte:
    escapes, then soft breaks every 75 characters without cutting an escape, and a blank
    at the end quoted. The email package's own spends most of a copy's encoding in
    `str.translate`; a recipient's link lines go through here a few times per copy."""
    return qp_wrap(QP_ESCAPE.sub(qp_escape, line))


def qp_wrap(text: bytes, width: int = QP_LINE, eol: bytes = LINESEP) -> bytes:
    """The rest of `qp_line`: soft breaks and a quoted blank at the end, for a line whose
    bytes are already escaped (a recipient's line, put together from escaped pieces).
    `width` and `eol` as `quoprimime.body_encode` takes them (its sniff: 78 and LF)."""
    return qp_apply(text, qp_plan(text, width, eol), eol)


def qp_apply(text: bytes, plan: Sequence[tuple[int, int, bytes]], eol: bytes = LINESEP) -> bytes:
    """`text` cut along a `qp_plan` of it (or of any text with "=" and a closing blank where it has them)."""
    return eol.join([text[start:stop] + end for start, stop, end in plan]) + eol


def qp_plan(text: bytes, width: int = QP_LINE, eol: bytes = LINESEP) -> list[tuple[int, int, bytes]]:
    """Where `qp_wrap` cuts `text`: (start, stop, bytes after) of each output line. It depends
    only on where "=" stands and on a closing blank, so lines whose values have neither (and
    the same lengths) share one plan."""
    out = []
    start, last = 0, len(text) - 1 - width
    while start <= last:
        stop = start + width - 1
        if text[stop - 2] == 0x3D:  # "=": do not cut "=XX"
            out.append((start, stop - 1, b""))
            start = stop - 2
        elif text[stop - 1] == 0x3D:
            out.append((start, stop, b""))
            start = stop - 1
        else:
            out.append((start, stop, b"="))
            start = stop
    if text and text[-1] in b" \t":
        room = start - last
        blank = text[-1:]
        if room >= 3:
            tail = b"=%02X" % blank[0]
        elif room == 2:
            tail = blank + b"=" + eol
        else:
            tail = b"=" + eol + b"=%02X" % blank[0]
        out.append((start, len(text) - 1, tail))
    else:
        out.append((start, len(text), b""))
    return out


def qp_lines(lines: Sequence[bytes]) -> bytes:
    """Quoted-printable of whole lines (each ends with CRLF), wrapped at 76 characters."""
    return b"".join(qp_line(line) for line in lines)


def sniff_length(line: bytes) -> int:
    """What one line (no line break in it) adds to the email package's quoted-printable
    sniff of a text (`quoprimime.body_encode(text, MAX_LINE)`), its line break included."""
    return len(quoprimime.body_encode(line.decode("latin-1") + "\n", MAX_LINE))
