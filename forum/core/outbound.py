"""The one way the app fetches a URL somebody typed in: guarded, bounded, never raising.

An officer-entered URL (a pathway resource today, a webhook next) is fetched from inside the
deployment, so without a guard it reaches what the outside cannot: the database port on
127.0.0.1, the cloud metadata service on 169.254.169.254, the office printer on 10.0.0.5. An
attack run showed every one of those fetched, redirects followed into them, and the stored
error text telling an open port from a closed one. So every fetch here

- allows only http and https;
- resolves the host itself and refuses the URL if *any* address it resolves to is not a
  public one (loopback, private, link-local and metadata, unspecified, multicast, reserved,
  IPv4 inside IPv6), then connects to the very address it checked, so a second DNS answer
  cannot swap in 127.0.0.1 between the check and the connect;
- follows redirects itself, at most `MAX_REDIRECTS`, checking each new URL the same way;
- has one wall-clock deadline for the whole URL, redirects included: a watchdog shuts the
  socket down when it passes, so a server trickling a byte every few seconds (a per-read
  timeout never fires) is cut off on time;
- reads at most `max_bytes` of a body;
- never raises: every outcome, a refused address or a `BadStatusLine` from an SMTP port, is a
  `FetchResult` whose `error` is one of a few fixed words, so nothing shown from it tells a
  closed port from an open one.

Tests run local servers on 127.0.0.1: `OUTBOUND_ALLOW_LOOPBACK` (True, or a collection of
ports) lets loopback through for them; it is off unless a test sets it.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

MAX_REDIRECTS = 5
DEFAULT_DEADLINE_SECONDS = 10.0
DEFAULT_MAX_BYTES = 1_000_000
USER_AGENT = "Mozilla/5.0 (compatible; Forum)"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

# The fixed words of `FetchResult.error`: safe to store and show, they say nothing of ports.
NOT_WEB = "not a web address"
REFUSED = "address not allowed"
NO_ANSWER = "no answer"
TIMED_OUT = "timed out"
BAD_ANSWER = "not an HTTP answer"
TOO_MANY_REDIRECTS = "too many redirects"
TOO_LARGE = "answer too large"

_NAT64 = ipaddress.ip_network("64:ff9b::/96")


@dataclass(frozen=True)
class Policy:
    """What a fetch may reach. The default reaches only public addresses."""

    #: True: any loopback port; a collection: those loopback ports only (tests); empty: none.
    allow_loopback: bool | Collection[int] = ()

    @classmethod
    def from_config(cls, config: Mapping[str, object]) -> Policy:
        allowed = config.get("OUTBOUND_ALLOW_LOOPBACK") or ()
        if allowed is True:
            return cls(allow_loopback=True)
        if isinstance(allowed, Collection) and not isinstance(allowed, str):
            return cls(allow_loopback=frozenset(int(p) for p in allowed))  # type: ignore[call-overload]
        return cls()

    def loopback_allowed(self, port: int) -> bool:
        if self.allow_loopback is True:
            return True
        return bool(self.allow_loopback) and port in self.allow_loopback  # type: ignore[operator]


@dataclass(frozen=True)
class FetchResult:
    """One URL's outcome: the final status, or a fixed word saying why there is none."""

    url: str
    status: int | None = None
    error: str = ""
    final_url: str = ""
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.error and self.status is not None and self.status < 400


class _Refused(Exception):
    """A fetch that must stop with one of the fixed words."""

    def __init__(self, word: str) -> None:
        super().__init__(word)
        self.word = word


def public_address(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True only for an address anyone on the internet could reach as well."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif ip in _NAT64:
            ip = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_link_local)


def _is_loopback(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def resolve(host: str, port: int, policy: Policy) -> list[tuple[int, str]]:
    """(family, address) pairs to connect to; refused when any of them is not allowed."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise _Refused(NO_ANSWER) from None
    found: list[tuple[int, str]] = []
    for family, _type, _proto, _name, sockaddr in infos:
        address = str(sockaddr[0]).split("%", 1)[0]
        ip = ipaddress.ip_address(address)
        if not public_address(ip) and not (_is_loopback(ip) and policy.loopback_allowed(port)):
            raise _Refused(REFUSED)
        found.append((family, address))
    if not found:
        raise _Refused(NO_ANSWER)
    return found


class _Watchdog:
    """Shuts the socket down when the deadline passes, whatever call is waiting on it."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.sock: socket.socket | None = None
        self.fired = False
        self._timer = threading.Timer(max(0.0, deadline - time.monotonic()), self._fire)
        self._timer.daemon = True

    def _fire(self) -> None:
        self.fired = True
        if self.sock is not None:
            with contextlib.suppress(OSError):  # already closed: nothing left to stop
                self.sock.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()


def _left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise _Refused(TIMED_OUT)
    return left


def _connect(url: str, policy: Policy, deadline: float, watchdog: _Watchdog) -> http.client.HTTPConnection:
    try:
        parts = urlsplit(url)
        scheme, host = parts.scheme.lower(), parts.hostname
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:  # "http://[::1", a port over 65535
        raise _Refused(NOT_WEB) from None
    if scheme not in ("http", "https") or not host:
        raise _Refused(NOT_WEB)
    last_error: _Refused = _Refused(NO_ANSWER)
    for family, address in resolve(host, port, policy):
        sock = socket.socket(family, socket.SOCK_STREAM)
        watchdog.sock = sock
        try:
            sock.settimeout(_left(deadline))
            sock.connect((address, port))
            if scheme == "https":
                sock = ssl.create_default_context().wrap_socket(sock, server_hostname=host)
                watchdog.sock = sock
        except (OSError, ValueError):
            sock.close()
            last_error = _Refused(TIMED_OUT if watchdog.fired or time.monotonic() >= deadline else NO_ANSWER)
            continue
        conn_class = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
        conn = conn_class(host, port, timeout=_left(deadline))
        conn.sock = sock  # already connected to the address checked above; request() keeps it
        return conn
    raise last_error


def _target(url: str) -> str:
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _one(
    url: str,
    method: str,
    policy: Policy,
    deadline: float,
    max_bytes: int,
    read_body: bool,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    with _Watchdog(deadline) as watchdog:
        conn = _connect(url, policy, deadline, watchdog)
        try:
            sent = {"User-Agent": USER_AGENT, "Accept": "*/*", **(headers or {})}
            conn.request(method, _target(url), body=body, headers=sent)
            response = conn.getresponse()
            answer = b""
            if read_body and method != "HEAD":
                answer = response.read(max_bytes + 1)
                if len(answer) > max_bytes:
                    raise _Refused(TOO_LARGE)
            return response.status, {k.lower(): v for k, v in response.getheaders()}, answer
        except _Refused:
            raise
        except http.client.HTTPException:
            raise _Refused(TIMED_OUT if watchdog.fired else BAD_ANSWER) from None
        except (OSError, ValueError):
            raise _Refused(TIMED_OUT if watchdog.fired else NO_ANSWER) from None
        finally:
            conn.close()


def fetch(
    url: str,
    *,
    method: str = "GET",
    policy: Policy | None = None,
    deadline_seconds: float = DEFAULT_DEADLINE_SECONDS,
    max_bytes: int = DEFAULT_MAX_BYTES,
    read_body: bool = False,
    head_fallback: bool = False,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    follow_redirects: bool = True,
) -> FetchResult:
    """Fetch `url` within one deadline, following redirects; never raises.

    `head_fallback`: with method HEAD, ask again with GET where a server refuses HEAD
    (403, 405, 501), as some do. `body` and `headers` go with the first request only (a
    POST, such as a webhook delivery); `follow_redirects=False` answers a 3xx as it is."""
    policy = policy or Policy()
    deadline = time.monotonic() + deadline_seconds
    current, current_method = url, method
    payload, extra = body, headers
    try:
        for _hop in range(MAX_REDIRECTS + 1):
            status, answer_headers, answer = _one(
                current, current_method, policy, deadline, max_bytes, read_body, payload, extra
            )
            if head_fallback and current_method == "HEAD" and status in (403, 405, 501):
                current_method = "GET"
                status, answer_headers, answer = _one(current, current_method, policy, deadline, max_bytes, read_body)
            location = answer_headers.get("location")
            if follow_redirects and status in REDIRECT_STATUSES and location:
                current = urljoin(current, location.strip())
                if status in (301, 302, 303) and current_method not in ("GET", "HEAD"):
                    current_method, payload, extra = "GET", None, None  # as browsers do
                continue
            return FetchResult(url, status, "", current, answer, answer_headers)
        return FetchResult(url, None, TOO_MANY_REDIRECTS, current)
    except _Refused as refused:
        return FetchResult(url, None, refused.word, current)
    except Exception:  # noqa: BLE001 - the promise is that one URL never stops the others
        return FetchResult(url, None, NO_ANSWER, current)
