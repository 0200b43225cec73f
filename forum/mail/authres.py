"""Is an inbound message's From authenticated? Read from our own MTA's Authentication-Results.

The app does not check DKIM, SPF or DMARC itself (that takes DNS, which has no place inside an
LMTP transaction); the receiving MTA does, with OpenDKIM/OpenDMARC or rspamd, and records the
outcome in an `Authentication-Results` header (RFC 8601). Only headers stamped with our own
authserv-id (`AUTHSERV_ID`, by default LIST_DOMAIN) count: anyone can write such a header into a
message, so the MTA must remove incoming ones that carry our id (OpenDMARC and rspamd do; with
OpenDKIM set `RemoveARFrom`), and headers from other servers are ignored.

The From counts as authenticated when one of our results passes *and is aligned* with the
From's domain (as DMARC aligns, relaxed): `dmarc=pass` for that header.from, `dkim=pass` with
a header.d (or header.i) in the same organisational domain, or `spf=pass` whose smtp.mailfrom
is. A pass for another domain proves nothing about the From: a forger signs with their own.

Why it matters: mail the list sends *because* of a message ("your post is waiting") goes to
its From; unauthenticated, that is mail to whomever a forger names, as often as they like.
"""

from __future__ import annotations

import email
import re
from dataclasses import dataclass, field
from email import policy

_PASS_METHODS = ("dmarc", "dkim", "spf")


@dataclass(frozen=True)
class Result:
    """One method's result in an Authentication-Results header, with its properties."""

    method: str
    result: str
    props: dict[str, str] = field(default_factory=dict)


def _strip_comments(value: str) -> str:
    """Drop (comments), nested or not, outside quoted strings."""
    out, depth, quoted = [], 0, False
    for ch in value:
        if ch == '"' and depth == 0:
            quoted = not quoted
        if not quoted and ch == "(":
            depth += 1
            continue
        if not quoted and ch == ")" and depth:
            depth -= 1
            continue
        if depth == 0:
            out.append(ch)
    return "".join(out)


def parse(value: str) -> tuple[str, list[Result]]:
    """(authserv-id, results) of one header value; ("", []) for what cannot be read."""
    parts = [p.strip() for p in _strip_comments(value).split(";")]
    head = parts[0].split() if parts and parts[0] else []
    if not head:
        return "", []
    results = []
    for part in parts[1:]:
        tokens = re.findall(r'[^\s=]+\s*=\s*(?:"[^"]*"|[^\s;]+)|\S+', part)
        if not tokens or "=" not in tokens[0]:
            continue
        method, _, result = (t.strip() for t in tokens[0].partition("="))
        props = {}
        for token in tokens[1:]:
            key, eq, val = token.partition("=")
            if eq:
                props[key.strip().lower()] = val.strip().strip('"')
        results.append(Result(method.split("/")[0].lower(), result.lower(), props))
    return head[0].lower(), results


def _domain(value: str) -> str:
    return value.rpartition("@")[2].strip().strip("<>").rstrip(".").lower()


def _aligned(a: str, b: str) -> bool:
    """Relaxed alignment, approximated without the public suffix list: one domain is the
    other or a subdomain of it (example.org and mail.example.org align; example.org and
    badexample.org do not)."""
    if not a or not b:
        return False
    return a == b or a.endswith("." + b) or b.endswith("." + a)


def results_for(raw: bytes, authserv_id: str) -> list[Result]:
    """Every result in the message's Authentication-Results headers stamped with our id."""
    try:
        headers = email.message_from_bytes(raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0], policy=policy.compat32)
    except Exception:  # noqa: BLE001 - unreadable headers authenticate nothing
        return []
    found: list[Result] = []
    for value in headers.get_all("Authentication-Results") or []:
        server, results = parse(str(value))
        if server and server == authserv_id.lower():
            found.extend(results)
    return found


def from_authenticated(raw: bytes, from_email: str, authserv_id: str) -> bool:
    """True when our MTA recorded a pass aligned with the From's domain."""
    from_domain = _domain(from_email)
    if not from_domain or not authserv_id:
        return False
    for r in results_for(raw, authserv_id):
        if r.result != "pass" or r.method not in _PASS_METHODS:
            continue
        if r.method == "dmarc" and _domain(r.props.get("header.from", "")) == from_domain:
            return True
        if r.method == "dkim" and _aligned(_domain(r.props.get("header.d", "") or r.props.get("header.i", "")), from_domain):
            return True
        if r.method == "spf" and _aligned(_domain(r.props.get("smtp.mailfrom", "")), from_domain):
            return True
    return False
