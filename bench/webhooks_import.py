"""Webhooks benchmark: import N registrations at once (the officer's CSV upload) with and
without a webhook endpoint listening, then deliver every notice to a local receiver.

Shows what the import request pays for webhooks (writing N delivery rows in its batches;
nothing is sent from it), and what the sender side takes to sign and POST them.

    .venv/bin/python bench/webhooks_import.py [--rows 10000] [--deliver 2000]
        [--database-url postgresql://...]
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _support import bench_app  # noqa: E402
from flask import Flask  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from forum.core.extensions import db  # noqa: E402
from forum.models import Event, WebhookDelivery  # noqa: E402
from forum.subscriptions.csv_import import import_rows  # noqa: E402
from forum.team import webhook_send, webhooks  # noqa: E402


class _Quiet(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def _import(app: Flask, rows: int, slug: str, url: str | None) -> tuple[float, float, int]:
    with app.app_context():
        event = Event(slug=slug, title="Webhook benchmark", status="published", kind="series")
        db.session.add(event)
        db.session.commit()
        if url:
            webhooks.add_endpoint(event, url, ["registration.confirmed"], by_id=None)
            db.session.commit()
        lines = ["email,name"] + [f"p{i}@{slug}.example.org,Person {i}" for i in range(rows)]
        wall, cpu = time.perf_counter(), time.process_time()
        import_rows(event, lines, confirmed=True, batch_size=1000)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        count = db.session.scalar(select(func.count(WebhookDelivery.id))) or 0
        return wall, cpu, count


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--deliver", type=int, default=2_000, help="how many of them to send (timed)")
    parser.add_argument("--database-url")
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    with bench_app(args.database_url, "webhooks", OUTBOUND_ALLOW_LOOPBACK=True) as app:
        print(f"load average {os.getloadavg()[0]:.1f}")
        plain = _import(app, args.rows, "plain", None)
        hooked = _import(app, args.rows, "hooked", url)
        print(f"import {args.rows} without an endpoint: {plain[0]:.2f} s wall, {plain[1]:.2f} s CPU")
        print(
            f"import {args.rows} with an endpoint:    {hooked[0]:.2f} s wall, {hooked[1]:.2f} s CPU, "
            f"{hooked[2]} deliveries written"
        )
        with app.app_context():
            wall, cpu = time.perf_counter(), time.process_time()
            sent = 0
            while sent < args.deliver:
                before = db.session.scalar(
                    select(func.count(WebhookDelivery.id)).where(WebhookDelivery.status == "delivered")
                )
                webhook_send.deliver_due(limit=min(200, args.deliver - sent))
                after = db.session.scalar(
                    select(func.count(WebhookDelivery.id)).where(WebhookDelivery.status == "delivered")
                )
                sent += (after or 0) - (before or 0)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            print(f"delivered {sent} signed POSTs: {wall:.2f} s wall, {cpu:.2f} s CPU ({sent / wall:.0f}/s)")
    server.shutdown()


if __name__ == "__main__":
    main()
