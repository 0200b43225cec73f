"""The small interface webhook delivery needs from an outbound HTTP client, and a guarded
stand-in until the shared one (`forum.core.outbound`, another engineer's) can POST.

`post(url, body, headers, allow_loopback)` answers a `PostAnswer` and never raises. It only
speaks http(s); it resolves the host itself and refuses the URL if any address is not a
public one (loopback, private, link-local and the metadata address, reserved, multicast),
then connects to the address it checked (a second DNS answer cannot swap one in); it follows
no redirect (a 3xx is a failed delivery, so a redirect to 10.0.0.5 reaches nothing); it has
one time limit and reads at most `MAX_RESPONSE` bytes of the answer.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

TIMEOUT_SECONDS = 10.0
MAX_RESPONSE = 4096

REFUSED = "address not allowed"
NOT_WEB = "not a web address"
NO_ANSWER = "no answer"


@dataclass(frozen=True)
class PostAnswer:
    status: int | None
    error: str = ""
    body: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def _allowed(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, allow_loopback: bool) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return allow_loopback
    return ip.is_global and not ip.is_multicast


def post(url: str, body: bytes, headers: dict[str, str], *, allow_loopback: bool = False) -> PostAnswer:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return PostAnswer(None, NOT_WEB)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return PostAnswer(None, NO_ANSWER)
    addresses = [str(info[4][0]) for info in infos]
    if not addresses or not all(
        _allowed(ipaddress.ip_address(a.split("%")[0]), allow_loopback) for a in addresses
    ):
        return PostAnswer(None, REFUSED)
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = _PinnedHTTPS(addresses[0], parts.hostname, port, TIMEOUT_SECONDS)
    else:
        connection = http.client.HTTPConnection(addresses[0], port, timeout=TIMEOUT_SECONDS)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request(
            "POST",
            path,
            body=body,
            headers={**headers, "Host": parts.netloc, "Content-Type": "application/json"},
        )
        response = connection.getresponse()
        text = response.read(MAX_RESPONSE).decode("utf-8", "replace")
        return PostAnswer(response.status, "", text)
    except (OSError, http.client.HTTPException):
        return PostAnswer(None, NO_ANSWER)
    finally:
        connection.close()


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to the checked address, with the certificate checked against the host name."""

    def __init__(self, address: str, hostname: str, port: int, timeout: float) -> None:
        super().__init__(address, port, timeout=timeout, context=ssl.create_default_context())
        self._server_name = hostname

    def connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self._server_name)  # type: ignore[attr-defined]
