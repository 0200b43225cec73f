"""A real HTTP receiver for webhook tests: it verifies every signature with the reference
library (standardwebhooks) and answers as told."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from flask import Flask
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from forum.core.extensions import db
from forum.models import WebhookDelivery


class Receiver:
    """A local HTTP receiver: answers from `answers` (then 200), verifies every signature."""

    def __init__(self) -> None:
        self.secret = ""
        self.answers: list[int] = []
        self.received: list[dict[str, object]] = []
        self.redirect_to = ""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = {k.lower(): v for k, v in self.headers.items()}
                payload = Webhook(receiver.secret).verify(body, headers)  # raises on a bad signature
                receiver.received.append({"id": headers["webhook-id"], "payload": payload})
                if receiver.redirect_to:
                    self.send_response(302)
                    self.send_header("Location", receiver.redirect_to)
                    self.end_headers()
                    return
                status = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"thanks" if status == 200 else b"oops")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@contextmanager
def receiving(app: Flask) -> Iterator[Receiver]:
    """A Receiver on 127.0.0.1 for the length of the block (the app may post to loopback)."""
    app.config["OUTBOUND_ALLOW_LOOPBACK"] = True
    found = Receiver()
    try:
        yield found
    finally:
        found.server.shutdown()


def deliveries() -> list[WebhookDelivery]:
    """Every delivery row, oldest first, as the database has it now."""
    db.session.expire_all()
    return list(db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))
