"""Optional DKIM signing (RFC 6376) of every message, just before it leaves.

Gmail and Yahoo require DKIM from bulk senders, and RFC 8058 requires the signature to
cover List-Unsubscribe and List-Unsubscribe-Post for one-click unsubscribe to be
honoured.  Signing is on when ``DKIM_SELECTOR`` and ``DKIM_KEY_FILE`` (a PEM RSA
private key) are set; ``DKIM_DOMAIN`` defaults to LIST_DOMAIN, the domain of the
list's From address, so the signature aligns for DMARC.  The public key is published
at ``<selector>._domainkey.<domain>`` (README, "DNS records").

`sign` takes the final bytes of one message and returns them with a DKIM-Signature
header in front; the transport calls it once per message at send time
(`forum.mail.transport`), after everything that changes a header or the body.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dkim

#: Headers the signature covers (when present; a listed header that is absent is signed
#: as absent, so nobody can add one later without breaking the signature).
SIGNED_HEADERS = (
    b"From",
    b"To",
    b"Subject",
    b"Date",
    b"Message-ID",
    b"List-Unsubscribe",
    b"List-Unsubscribe-Post",
    b"List-Id",
)


class DKIMConfigError(ValueError):
    """DKIM settings that cannot be used; the message says which."""


@dataclass(frozen=True)
class Signer:
    selector: str
    domain: str
    key: bytes  # PEM

    def sign(self, data: bytes) -> bytes:
        """The message with its DKIM-Signature header prepended (relaxed/relaxed, rsa-sha256)."""
        signature = dkim.sign(
            data,
            self.selector.encode("ascii"),
            self.domain.encode("ascii"),
            self.key,
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=list(SIGNED_HEADERS),
        )
        return signature + data


def signer_from_config(cfg: Mapping[str, Any]) -> Callable[[bytes], bytes] | None:
    """The signing function the settings ask for, or None when DKIM is off.

    Raises DKIMConfigError (at start-up, not per message) for a half-set configuration
    or a key that cannot be read or used.
    """
    selector = str(cfg.get("DKIM_SELECTOR") or "").strip()
    key_file = str(cfg.get("DKIM_KEY_FILE") or "").strip()
    if not selector and not key_file:
        return None
    if not (selector and key_file):
        raise DKIMConfigError("DKIM needs both DKIM_SELECTOR and DKIM_KEY_FILE (or neither)")
    domain = str(cfg.get("DKIM_DOMAIN") or cfg.get("LIST_DOMAIN") or "").strip()
    try:
        domain = domain.encode("idna").decode("ascii")
        key = Path(key_file).read_bytes()
    except (OSError, UnicodeError) as exc:
        raise DKIMConfigError(f"DKIM: cannot use {key_file or domain}: {exc}") from exc
    signer = Signer(selector=selector, domain=domain, key=key)
    try:
        signer.sign(b"From: check@" + domain.encode() + b"\r\nSubject: key check\r\n\r\nkey check\r\n")
    except dkim.DKIMException as exc:
        raise DKIMConfigError(f"DKIM_KEY_FILE {key_file} is not a usable private key: {exc}") from exc
    return signer.sign
