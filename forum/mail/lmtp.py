"""The LMTP server the MTA hands list mail to (`flask forum lmtp`): aiosmtpd in a thread.

It checks each RCPT against the meaningful addresses, then gives one reply per
recipient after DATA, as LMTP requires; `forum.mail.inbound.receive` routes each one to the
area that decides it (registered there), so this server never imports an area.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import syntax
from flask import Flask

from forum.mail import addresses, inbound

log = logging.getLogger(__name__)

#: Recipients one transaction may name; the rest get 452 and come again in the next one
#: (RFC 5321 4.5.3.1.8 asks servers to take at least 100).
MAX_RECIPIENTS = 1000
_TEMPORARY = "451 4.3.0 Temporary failure, please try again later"


class ForumLMTP(LMTP):
    """aiosmtpd's LMTP with DATA read in blocks and LMTP's one reply per recipient kept.

    aiosmtpd reads DATA a line at a time in Python (a second and more for a 1.3 MB
    message of 200,000 short lines), refuses lines over 1,000 octets with a permanent
    500, and answers an oversized message (no SIZE given) with a single 552, as SMTP
    does: an LMTP client waits for one reply per recipient, hangs and drops the line.
    Here DATA is read in 64 KB blocks up to `data_size_limit`, lines of any length are
    taken (Postfix delivers long lines as they are), and a whole-message failure is
    answered once per recipient.
    """

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        data = await self._read_data()
        if data is None:  # the connection closed mid-message
            return
        count = len(self.envelope.rcpt_tos)
        if data is _TOO_BIG:
            self._set_post_data_state()
            for _ in range(count):
                await self.push("552 5.3.4 Message too big for this list")
            return
        self.envelope.content = data
        self.envelope.original_content = data
        status = await self._call_handler_hook("DATA")
        self._set_post_data_state()
        await self.push(status)

    async def _read_data(self) -> bytes | None:
        """The message up to the lone dot, dot-stuffing undone; `_TOO_BIG` past the limit."""
        limit = self.data_size_limit
        buf = bytearray(b"\r\n")  # so a message ending at once (".\r\n") is found too
        scanned = 0
        too_big = False
        while True:
            chunk = await self._reader.read(65536)
            if not chunk:
                return None
            buf += chunk
            end = buf.find(b"\r\n.\r\n", max(0, scanned - 4))
            if end >= 0:
                if too_big or (limit and end > limit):
                    return _TOO_BIG
                # Lines start after each CRLF (the first after ours): drop one leading dot.
                return bytes(buf[: end + 2]).replace(b"\r\n.", b"\r\n")[2:]
            scanned = len(buf)
            if limit and scanned > limit + 4:
                too_big = True  # keep reading to the end, keep only the tail for the search
                del buf[: scanned - 8]
                scanned = len(buf)


_TOO_BIG = b"\x00too big\x00"  # a sentinel compared by identity


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
                    lambda r=rcpt: inbound.receive(bytes(raw), r, envelope_from=mail_from),
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
