"""Webhooks benchmark: import N registrations at once through the officer's CSV upload (the
real POST /manage/events/<slug>/subscribers/import request, in process) with and without a
webhook endpoint listening, then deliver notices to a local receiver.

Shows what the import request pays for webhooks (writing N delivery rows in its batches;
nothing is sent from it: N rows written, none delivered when it answers), and what the
sender side takes to sign and POST them. Prints wall and CPU seconds, CPU seconds per 1,000
rows, and the machine's load average before and after (2 shared cores here: read the CPU
figures, which the load affects less than the wall ones).

    .venv/bin/python bench/webhooks_import.py [--rows 10000] [--deliver 2000]
        [--database-url postgresql://...]
"""

from __future__ import annotations

import argparse
import io
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _support import bench_app  # noqa: E402
from flask import Flask  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from forum.common import fanout  # noqa: E402
from forum.core.extensions import db  # noqa: E402
from forum.models import (  # noqa: E402
    Event,
    FanOut,
    Officer,
    Subscription,
    WebhookDelivery,
    WebhookEndpoint,
)
from forum.team import webhook_send, webhooks  # noqa: E402


class _Quiet(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def _import(app: Flask, rows: int, slug: str, url: str | None) -> tuple[float, float, int, int]:
    """(wall s, CPU s, deliveries written by it, fan-out records it left) of one import request."""
    with app.app_context():
        event = Event(slug=slug, title="Webhook benchmark", status="published", kind="series")
        officer = Officer.by_email("bench@forum.example.org") or Officer(
            email="bench@forum.example.org", name="Bench", is_admin=True
        )
        db.session.add_all([event, officer])
        db.session.commit()
        if url:
            webhooks.add_endpoint(event, url, ["registration.confirmed"], by_id=None)
            db.session.commit()
        officer_id = officer.id
    body = "\n".join(["email,name"] + [f"p{i}@{slug}.example.org,Person {i}" for i in range(rows)])
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = str(officer_id)
        sess["_fresh"] = True
    page = client.get(f"/manage/events/{slug}/subscribers").get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    data = {
        "csrf_token": match.group(1) if match else "",
        "mode": "each",
        "confirmed": "y",
        "file": (io.BytesIO(body.encode()), "people.csv"),
    }
    wall, cpu = time.perf_counter(), time.process_time()
    answer = client.post(
        f"/manage/events/{slug}/subscribers/import", data=data, content_type="multipart/form-data"
    )
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if answer.status_code != 200:
        raise SystemExit(f"the import request answered {answer.status_code}")
    with app.app_context():
        event_id = db.session.scalar(select(Event.id).where(Event.slug == slug))
        registered = db.session.scalar(
            select(func.count(Subscription.id)).where(Subscription.event_id == event_id)
        )
        if registered != rows:
            raise SystemExit(f"{registered} registrations imported, not {rows}")
        written = select(func.count(WebhookDelivery.id)).join(WebhookDelivery.endpoint)
        written = written.where(WebhookEndpoint.event_id == event_id)
        count = db.session.scalar(written) or 0
        fans = db.session.scalar(
            select(func.count(FanOut.id)).where(FanOut.event_id == event_id, FanOut.done_at.is_(None))
        )
        return wall, cpu, count, fans or 0


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.1f} {five:.1f} {fifteen:.1f} (1, 5, 15 min)"


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
        print(f"load average before: {_load()} on {os.cpu_count()} cores")
        plain = _import(app, args.rows, "plain", None)
        hooked = _import(app, args.rows, "hooked", url)
        per = 1000 / args.rows
        print(
            f"import request, {args.rows} rows, no endpoint:  {plain[0]:.2f} s wall, {plain[1]:.2f} s CPU "
            f"({plain[1] * per:.3f} s CPU per 1,000)"
        )
        print(
            f"import request, {args.rows} rows, an endpoint:  {hooked[0]:.2f} s wall, {hooked[1]:.2f} s CPU "
            f"({hooked[1] * per:.3f} s CPU per 1,000); {hooked[2]} deliveries written and none sent "
            f"by the request, {hooked[3]} fan-out records left for the sender side"
        )
        print(f"the endpoint's cost to the request: {(hooked[1] / plain[1] - 1) * 100:+.0f} % CPU")
        with app.app_context():
            wall, cpu = time.perf_counter(), time.process_time()
            fanout.expand_pending()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            written = db.session.scalar(select(func.count(WebhookDelivery.id))) or 0
            print(
                f"sender side: {written} deliveries written from the fan-outs in {wall:.2f} s wall, "
                f"{cpu:.2f} s CPU ({cpu * 1000 / max(written, 1):.3f} s CPU per 1,000)"
            )
            if written != args.rows:
                raise SystemExit(f"{written} deliveries for {args.rows} registrations")
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
            print(
                f"sender side: {sent} signed POSTs delivered in {wall:.2f} s wall, {cpu:.2f} s CPU "
                f"({cpu * 1000 / max(sent, 1):.3f} s CPU per 1,000; {sent / wall:.0f}/s)"
            )
        print(f"load average after: {_load()}")
    server.shutdown()


if __name__ == "__main__":
    main()
