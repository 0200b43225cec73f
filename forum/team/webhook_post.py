"""Webhook delivery's view of the one guarded outbound client (`forum.core.outbound`).

`post(url, body, headers, policy=...)` answers a `PostAnswer` and never raises. Everything
that keeps a delivery from reaching inside the network is the shared client's: only http(s),
every resolved address public (loopback only where the policy allows it, for tests), the
connection made to the address it checked, one deadline, a capped answer. Here a delivery
also follows no redirect: a 3xx is a failed delivery, so a redirect to 10.0.0.5 reaches
nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from forum.core import outbound

TIMEOUT_SECONDS = 10.0
MAX_RESPONSE = 4096

REFUSED = outbound.REFUSED
NOT_WEB = outbound.NOT_WEB
NO_ANSWER = outbound.NO_ANSWER


@dataclass(frozen=True)
class PostAnswer:
    status: int | None
    error: str = ""
    body: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def post(
    url: str, body: bytes, headers: dict[str, str], *, policy: outbound.Policy | None = None
) -> PostAnswer:
    """POST `body` as JSON to `url` through the guarded client; the default policy reaches
    public addresses only."""
    result = outbound.fetch(
        url,
        method="POST",
        policy=policy or outbound.Policy(),
        deadline_seconds=TIMEOUT_SECONDS,
        max_bytes=MAX_RESPONSE,
        read_body=True,
        body=body,
        headers={**headers, "Content-Type": "application/json"},
        follow_redirects=False,
    )
    return PostAnswer(result.status, result.error, result.body.decode("utf-8", "replace"))
