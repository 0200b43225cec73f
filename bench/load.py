"""Load on the public pages under gunicorn (not a test).

    .venv/bin/python bench/load.py --database-url postgresql://127.0.0.1:5432/test \\
        [--requests 1000] [--clients 4] [--workers 2]

Loads the demo data into a private schema of the given PostgreSQL database (dropped
afterwards), starts the real `wsgi:app` under gunicorn (`--workers 2`, sync workers, the
README's production settings) on 127.0.0.1, and a minimal Flask page (bench/minimal_app.py)
served the same way, then sends a fixed number of GET requests to each URL from `--clients`
client processes (new connection per request, as gunicorn's sync workers close them) and
reports requests/s, median and 99th-percentile latency, and the ratio to the minimal page.
Also measured: the event page revalidated with If-None-Match (a 304, no rendering), and the
event page, its 304 and the index again with PAGE_VERSION_WATCH=1 (the pages' version kept
per process, LISTEN/NOTIFY, instead of one query per request).

Loopback only; every server it starts is stopped at the end, and nothing else is touched.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import resource
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _support import bench_app  # noqa: E402
from sqlalchemy import select  # noqa: E402

from forum.core.extensions import db  # noqa: E402
from forum.demo import data as demo  # noqa: E402
from forum.models import Event  # noqa: E402


@dataclass(frozen=True)
class Result:
    name: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    statuses: tuple[int, ...]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


@contextmanager
def gunicorn(app_spec: str, workers: int, env: dict[str, str], chdir: Path) -> Iterator[int]:
    """gunicorn on a socket we bound to 127.0.0.1:0 (no port race); yields the port."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(256)
    port = sock.getsockname()[1]
    fd = sock.fileno()
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in the finally below
    proc = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"fd://{fd}",
         "--chdir", str(chdir), "--log-level", "warning", app_spec],
        env=env, pass_fds=(fd,), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    sock.close()
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, _ = _get(port, "/", {})
                if status < 500:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise SystemExit(f"gunicorn {app_spec} did not start:\n{log.read().decode()[-2000:]}")
            time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _get(port: int, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status, dict(response.getheaders())
    finally:
        conn.close()


def _returning(port: int, page: str) -> dict[str, str]:
    """A returning browser's headers: its session cookie (the form's CSRF secret, as the last
    answer set it) and the page's ETag (which changes each minute: keep runs short)."""
    _, first = _get(port, page, {})
    cookie = first["Set-Cookie"].split(";", 1)[0]
    _, again = _get(port, page, {"Cookie": cookie})
    cookie = again.get("Set-Cookie", cookie).split(";", 1)[0]
    _, again = _get(port, page, {"Cookie": cookie})
    return {"Cookie": cookie, "If-None-Match": again["ETag"]}


def _client(port: int, path: str, headers: dict[str, str], count: int) -> tuple[list[float], list[int]]:
    """One client process: `count` requests, one after another; latencies in seconds."""
    times: list[float] = []
    statuses: list[int] = []
    for _ in range(count):
        start = time.perf_counter()
        status, _ = _get(port, path, headers)
        times.append(time.perf_counter() - start)
        statuses.append(status)
    return times, statuses


def measure(pool: ProcessPoolExecutor, name: str, port: int, path: str, requests: int, clients: int,
            headers: dict[str, str] | None = None) -> Result:
    _client(port, path, headers or {}, 20)  # warm up every worker a little
    share = [requests // clients + (1 if i < requests % clients else 0) for i in range(clients)]
    start = time.perf_counter()
    parts = list(pool.map(_client, [port] * clients, [path] * clients, [headers or {}] * clients, share))
    seconds = time.perf_counter() - start
    times = sorted(t for part, _ in parts for t in part)
    statuses = tuple(sorted({s for _, part in parts for s in part}))
    return Result(name, len(times), seconds, _pct(times, 50) * 1000, _pct(times, 99) * 1000, statuses)


@dataclass(frozen=True)
class WrkResult:
    name: str
    rps: float
    p99_ms: float


def wrk(name: str, port: int, path: str, seconds: int, headers: dict[str, str] | None = None) -> WrkResult | None:
    """The same URL with `wrk` (C, one thread, 4 connections, keep-alive as gunicorn's sync
    workers allow: they close each), for a client that costs the two CPUs less than Python's;
    None where wrk is not installed (apt-get install wrk). Bounded by `seconds`, loopback only."""
    binary = shutil.which("wrk")
    if binary is None or seconds <= 0:
        return None
    args = [binary, "-t1", "-c4", f"-d{seconds}s", "--latency"]
    for key, value in (headers or {}).items():
        args += ["-H", f"{key}: {value}"]
    out = subprocess.run(  # noqa: S603 - wrk from PATH, our own arguments
        [*args, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, timeout=seconds + 30, check=True
    ).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    if rps is None:
        raise SystemExit(f"could not read wrk's output:\n{out}")
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    return WrkResult(name, float(rps.group(1)), float(p99.group(1)) * scale[p99.group(2)] if p99 else float("nan"))


def _pct(ordered: list[float], pct: int) -> float:
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True, help="postgresql://... (a private schema is used)")
    parser.add_argument("--requests", type=int, default=1000, help="per URL (bounded run)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent client processes")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--wrk-seconds", type=int, default=5, help="wrk run per URL beside ours (0: none)")
    args = parser.parse_args()

    with bench_app(args.database_url, "load") as app, tempfile.TemporaryDirectory() as instance:
        with app.app_context():
            demo.load()
            slug = db.session.scalar(select(Event.slug).where(Event.status == "published").order_by(Event.id))
            url = str(app.config["SQLALCHEMY_DATABASE_URI"])
            schema = app.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"]["options"].split("=", 1)[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "FORUM_"))}
        env.update(
            FORUM_ENV="production",
            SECRET_KEY=secrets.token_hex(32),
            DATABASE_URL=f"{url}?options={quote(f'-csearch_path={schema}')}",
            MAIL_URL="smtp://127.0.0.1:25",  # never used: these requests send no mail
            BASE_URL="https://forum.example.org",
            FORUM_INSTANCE_PATH=instance,
        )
        results: list[Result] = []
        wrks: list[WrkResult | None] = []
        with ProcessPoolExecutor(args.clients) as pool:
            with gunicorn("minimal_app:app", args.workers, env, ROOT / "bench") as port:
                results.append(measure(pool, "minimal Flask page", port, "/", args.requests, args.clients))
                wrks.append(wrk("minimal Flask page", port, "/", args.wrk_seconds))
            with gunicorn("wsgi:app", args.workers, env, ROOT) as port:
                page = f"/events/{slug}"
                results.append(measure(pool, f"event page {page}", port, page, args.requests, args.clients))
                wrks.append(wrk("event page", port, page, args.wrk_seconds))
                revalidate = _returning(port, page)
                results.append(
                    measure(pool, "event page, If-None-Match (304)", port, page, args.requests, args.clients,
                            revalidate)
                )
                wrks.append(wrk("event page, If-None-Match (304)", port, page, args.wrk_seconds, revalidate))
                feed = f"/feeds/events/{slug}.ics"
                results.append(measure(pool, f"public feed {feed}", port, feed, args.requests, args.clients))
                wrks.append(wrk("public feed", port, feed, args.wrk_seconds))
                results.append(measure(pool, "index /", port, "/", args.requests, args.clients))
                wrks.append(wrk("index /", port, "/", args.wrk_seconds))
            # the same app with PAGE_VERSION_WATCH=1: the version kept per process (LISTEN/NOTIFY)
            with gunicorn("wsgi:app", args.workers, env | {"PAGE_VERSION_WATCH": "1"}, ROOT) as port:
                for name, path, headers in (
                    ("event page, watched version", page, {}),
                    ("event page, If-None-Match (304), watched", page, _returning(port, page)),
                    ("index /, watched version", "/", {}),
                ):
                    results.append(measure(pool, name, port, path, args.requests, args.clients, headers))
                    wrks.append(wrk(name, port, path, args.wrk_seconds, headers))

    base = results[0].rps
    used = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = sum(u.ru_utime + u.ru_stime for u in used)
    print(f"CPU seconds (this run, servers and clients included): {cpu:.1f}; "
          f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"gunicorn --workers {args.workers} (sync) on 127.0.0.1, PostgreSQL, {args.clients} client processes, "
          f"{args.requests} requests per URL, os.cpu_count()={os.cpu_count()}")
    print(f"{'page':<52} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'x minimal':>10}  statuses")
    for r in results:
        print(f"{r.name:<52} {r.rps:8.1f} {r.p50_ms:8.1f} {r.p99_ms:8.1f} {r.rps / base:10.3f}  {r.statuses}")
    done = [w for w in wrks if w is not None]
    if done:
        print(f"wrk -t1 -c4 -d{args.wrk_seconds}s on the same servers (the client in C):")
        print(f"{'page':<52} {'req/s':>8} {'p99 ms':>8} {'x minimal':>10}")
        for w in done:
            print(f"{w.name:<52} {w.rps:8.1f} {w.p99_ms:8.1f} {w.rps / done[0].rps:10.3f}")


if __name__ == "__main__":
    main()
