"""The LMTP server the MTA hands list mail to (`flask forum lmtp`): aiosmtpd in a thread.

It checks each RCPT against the meaningful addresses, then gives one reply per
recipient after DATA, as LMTP requires; `forum.discussion` decides each one.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from aiosmtpd.lmtp import LMTP
from flask import Flask

from .. import addresses, discussion

log = logging.getLogger(__name__)

#: Recipients one transaction may name; the rest get 452 and come again in the next one
#: (RFC 5321 4.5.3.1.8 asks servers to take at least 100).
MAX_RECIPIENTS = 1000
_TEMPORARY = "451 4.3.0 Temporary failure, please try again later"


class ForumLMTP(LMTP):
    """aiosmtpd's LMTP with LMTP's rule kept when DATA fails as a whole.

    aiosmtpd answers an oversized message (no SIZE given) with a single 552, as SMTP
    does; an LMTP client waits for one reply per accepted recipient, so it would hang
    and drop the connection. Here that reply is repeated for each recipient. Lines of
    any length up to the size limit are taken (Postfix delivers long lines as they
    are), instead of aiosmtpd's permanent 500 for lines over 1,000 octets.
    """

    _data_failures = ("552 Error: Too much mail data", "500 Line too long")

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        limit = kwargs.get("data_size_limit")
        if limit:
            self.line_length_limit = int(limit)  # read before the base class makes its reader
        super().__init__(*args, **kwargs)

    async def push(self, status) -> None:  # type: ignore[no-untyped-def]
        text = status.decode() if isinstance(status, bytes) else str(status)
        if text.startswith(self._data_failures) and self.envelope is not None:
            count = max(1, len(self.envelope.rcpt_tos))
            reply = (
                "552 5.3.4 Message too big for this list"
                if text.startswith("552")
                else "500 5.5.2 Line too long"
            )
            for _ in range(count):
                await super().push(reply)
            return
        await super().push(status)


class LmtpHandler:
    """aiosmtpd handler: checks each RCPT, then gives one reply per recipient after DATA.

    The database work is synchronous and runs in a worker thread with its own app
    context; anything unexpected becomes a 451 (the MTA retries), never a dead server.
    """

    def __init__(self, app: Flask) -> None:
        self.app = app

    def _in_app(self, fn: Callable[[], object]) -> object:
        with self.app.app_context():
            return fn()

    async def handle_RCPT(self, server, session, envelope, address: str, rcpt_options) -> str:
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return f"452 4.5.3 Too many recipients (at most {MAX_RECIPIENTS} per message)"
        loop = asyncio.get_running_loop()
        try:
            reply = await loop.run_in_executor(
                None, self._in_app, lambda: addresses.check_recipient(address)
            )
        except Exception:  # noqa: BLE001
            log.exception("RCPT check failed for %r", address)
            return _TEMPORARY
        if reply is None:
            envelope.rcpt_tos.append(address)
            return "250 2.1.5 OK"
        return str(reply)

    async def handle_DATA(self, server, session, envelope) -> str:
        raw = envelope.original_content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        rcpts = list(envelope.rcpt_tos)
        mail_from = envelope.mail_from or ""
        loop = asyncio.get_running_loop()
        replies = []
        for rcpt in rcpts:
            try:
                outcome = await loop.run_in_executor(
                    None,
                    self._in_app,
                    lambda r=rcpt: discussion.receive(bytes(raw), r, envelope_from=mail_from),
                )
                replies.append(outcome.smtp_reply)  # type: ignore[attr-defined]
            except Exception:  # noqa: BLE001
                log.exception("delivery to %r failed", rcpt)
                replies.append(_TEMPORARY)
        return "\r\n".join(replies)


@dataclass
class RunningServer:
    host: str
    port: int
    loop: asyncio.AbstractEventLoop
    thread: threading.Thread
    server: asyncio.base_events.Server

    def stop(self) -> None:
        async def _close() -> None:
            self.server.close()
            await self.server.wait_closed()

        asyncio.run_coroutine_threadsafe(_close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def start_lmtp(app: Flask, host: str = "127.0.0.1", port: int = 0) -> RunningServer:
    """Serve LMTP on host:port in a background thread (port 0 picks a free port)."""
    handler = LmtpHandler(app)
    max_bytes = int(app.config["MAX_POST_BYTES"])
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    box: dict[str, object] = {}

    def factory() -> LMTP:
        return ForumLMTP(
            handler,
            hostname=app.config["LIST_DOMAIN"],
            ident="Forum LMTP",
            decode_data=False,
            enable_SMTPUTF8=True,
            data_size_limit=max_bytes + 65536,
            loop=loop,
        )

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            box["server"] = loop.run_until_complete(loop.create_server(factory, host, port))
        except Exception as exc:  # noqa: BLE001 - reported to the caller below
            box["error"] = exc
            ready.set()
            return
        ready.set()
        loop.run_forever()
        loop.close()

    thread = threading.Thread(target=run, name="forum-lmtp", daemon=True)
    thread.start()
    ready.wait(10)
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    server = box["server"]
    bound = server.sockets[0].getsockname()  # type: ignore[attr-defined]
    return RunningServer(host=host, port=bound[1], loop=loop, thread=thread, server=server)  # type: ignore[arg-type]
