"""What a transport is given and answers: the `Envelope` of one outbox row, the
`Transport` protocol the sender drives, `DeliveryError`, and the address rules every
transport shares (IDNA domains, SMTPUTF8 local parts) and `finalize`, the one place a
message's bytes change at send time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

import idna


class DeliveryError(Exception):
    """One message was not accepted.

    `permanent` (a 5xx reply) means never retry and count a bounce; otherwise (4xx,
    dropped connection, timeout) the message is retried later.
    """

    def __init__(
        self, message: str, *, code: int | None = None, permanent: bool = False, unavailable: bool = False
    ):
        super().__init__(message)
        self.code = code
        self.permanent = permanent
        self.unavailable = unavailable  # no session could be opened: stop trying this run


@dataclass(frozen=True)
class Envelope:
    """What a transport needs to deliver one outbox row."""

    id: int
    sender: str
    recipient: str
    data: bytes  # RFC 5322 bytes with CRLF line ends
    kind: str = ""


#: One settled message: its envelope and None (accepted) or why not.
Outcome = tuple[Envelope, "DeliveryError | None"]


class Transport(Protocol):
    def send(self, envelope: Envelope) -> None:
        """Deliver one message or raise DeliveryError."""

    def send_many(self, envelopes: Iterable[Envelope]) -> Iterator[Outcome]:
        """Deliver in order, yielding each outcome as soon as it is known."""

    def close(self) -> None:
        """Release the connection (if any); the transport may be used again after."""


def smtp_address(address: str, *, smtputf8: bool) -> str:
    """An address as it goes in MAIL FROM / RCPT TO.

    The domain becomes its IDNA (punycode) form, which any relay takes; a non-ASCII
    local part is kept only when the session uses SMTPUTF8, otherwise this raises a
    permanent DeliveryError (it cannot be written in ASCII).
    """
    local, at, domain = address.rpartition("@")
    if not at:
        local, domain = address, ""
    if domain and not domain.isascii():
        try:
            domain = idna.encode(domain, uts46=True).decode("ascii")
        except idna.IDNAError as exc:
            raise DeliveryError(f"address has an invalid domain: {address!r} ({exc})", permanent=True) from exc
    if not local.isascii() and not smtputf8:
        raise DeliveryError(
            f"address is not ASCII before the @ and the relay does not offer SMTPUTF8: {address!r}",
            permanent=True,
        )
    return f"{local}@{domain}" if at else local


def needs_smtputf8(env: Envelope) -> bool:
    """An address of the envelope, or a header (RFC 6532: a UTF-8 local part in To, From or
    Reply-To), is not ASCII: the message can only go out with SMTPUTF8."""
    if not (env.sender.rpartition("@")[0].isascii() and env.recipient.rpartition("@")[0].isascii()):
        return True
    end = env.data.find(b"\r\n\r\n")
    return not env.data[: end if end >= 0 else len(env.data)].isascii()


def finalize(data: bytes, sign: Callable[[bytes], bytes] | None) -> bytes:
    """The bytes that go on the wire: THE one place a message is changed at send time
    (DKIM signing, when configured), after everything else has been applied."""
    return sign(data) if sign is not None else data
