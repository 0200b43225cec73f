"""Load on the public pages under gunicorn (not a test).

    .venv/bin/python bench/load.py --database-url postgresql://127.0.0.1:5432/test \\
        [--requests 1000] [--clients 4] [--workers 2]

Loads the demo data into a private schema of the given PostgreSQL database (dropped
afterwards), starts the real `wsgi:app` under gunicorn (`--workers 2`, sync workers, the
README's production settings) on 127.0.0.1, and a minimal Flask page (bench/minimal_app.py)
served the same way, then, for each URL, sends a fixed number of GET requests from
`--clients` Python client processes (new connection per request, as gunicorn's sync workers
close them), and right after runs `wrk` on the same URL for `--wrk-seconds`: the Python
client shares the two CPUs with the servers and costs them more than wrk (C) does, so the two
are printed side by side. For each: requests/s, the ratio to the minimal page (measured just
before it with the same client: the load on a shared machine moves), the 99th
percentile latency, and the server's CPU seconds per 1,000 requests (gunicorn, its workers
and their PostgreSQL backends, read from /proc: what carries to another machine), with the
load average at the start and the end.

URLs: the event page, its revalidation with If-None-Match (a 304), the index, a pathway page,
a panelist page, the public event feed and the public calendar feed (all served from the page
cache in front of Flask once stored, `forum/web/fast_pages.py`); then the event page and its
304 with PAGE_VERSION_WATCH=1 (the pages' version kept per process, LISTEN/NOTIFY, instead
of one query per request).

wrk: `apt-get install -y wrk` (Debian/Ubuntu; or build it from github.com/wg/wrk); without
it the wrk columns are left out (`--wrk-seconds 0` leaves them out too).

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
from forum.models import Event, Panelist  # noqa: E402
from forum.models.pathways import Pathway  # noqa: E402


@dataclass(frozen=True)
class Result:
    name: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    statuses: tuple[int, ...]
    cpu_s: float = float("nan")  # the server's, for these requests

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


#: each running server's session (gunicorn and its workers), by port: their CPU is measured
SERVERS: dict[int, int] = {}
TICK = os.sysconf("SC_CLK_TCK")
PG_DSN: list[str] = []  # the database the servers use, for finding their backends


def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw.rsplit(")", 1)[1].split()


def _session_pids(sid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat(int(entry))
            if fields is not None and int(fields[3]) == sid:
                found.append(int(entry))
    return found


def _backends(pids: list[int]) -> list[int]:
    """The PostgreSQL backends serving these processes' connections (their CPU is the
    server's too: a version read costs the database a statement)."""
    if not PG_DSN:
        return []
    out = subprocess.run(["ss", "-tnpH", "state", "established", "( dport = :5432 )"],  # noqa: S607
                         capture_output=True, text=True, check=False).stdout
    wanted = set(pids)
    ports = {int(line.split()[2].rsplit(":", 1)[1]) for line in out.splitlines()
             if any(int(p) in wanted for p in re.findall(r"pid=(\d+)", line))}
    if not ports:
        return []
    import psycopg  # noqa: PLC0415 - only here: the bench's one query of its own

    with psycopg.connect(PG_DSN[0], autocommit=True) as conn:
        rows = conn.execute("SELECT pid, client_port FROM pg_stat_activity WHERE client_port IS NOT NULL").fetchall()
    return [pid for pid, port in rows if port in ports]


def server_cpu(port: int) -> float:
    """CPU seconds used so far by the server on `port`: gunicorn, its workers and their
    database backends (clients and the rest of the machine excluded)."""
    pids = _session_pids(SERVERS[port])
    total = 0
    for pid in pids + _backends(pids):
        fields = _stat(pid)
        if fields is not None:
            total += int(fields[11]) + int(fields[12])
    return total / TICK


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
    SERVERS[port] = proc.pid  # its own session (start_new_session)
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
    cpu = server_cpu(port)
    start = time.perf_counter()
    parts = list(pool.map(_client, [port] * clients, [path] * clients, [headers or {}] * clients, share))
    seconds = time.perf_counter() - start
    cpu = server_cpu(port) - cpu
    times = sorted(t for part, _ in parts for t in part)
    statuses = tuple(sorted({s for _, part in parts for s in part}))
    return Result(name, len(times), seconds, _pct(times, 50) * 1000, _pct(times, 99) * 1000, statuses, cpu)


@dataclass(frozen=True)
class WrkResult:
    name: str
    rps: float
    p99_ms: float
    requests: int = 0
    cpu_s: float = float("nan")


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
    cpu = server_cpu(port)
    out = subprocess.run(  # noqa: S603 - wrk from PATH, our own arguments
        [*args, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, timeout=seconds + 30, check=True
    ).stdout
    cpu = server_cpu(port) - cpu
    done = re.search(r"(\d+) requests in", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    if rps is None:
        raise SystemExit(f"could not read wrk's output:\n{out}")
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    p99_ms = float(p99.group(1)) * scale[p99.group(2)] if p99 else float("nan")
    return WrkResult(name, float(rps.group(1)), p99_ms, int(done.group(1)) if done else 0, cpu)


def _per_k(result: WrkResult) -> float:
    return 1000 * result.cpu_s / result.requests if result.requests else float("nan")


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

    load_before = os.getloadavg()
    with bench_app(args.database_url, "load") as app, tempfile.TemporaryDirectory() as instance:
        with app.app_context():
            demo.load()
            slug = db.session.scalar(select(Event.slug).where(Event.status == "published").order_by(Event.id))
            pathway = db.session.scalar(select(Pathway.slug).where(Pathway.status == "published").order_by(Pathway.id))
            person = db.session.scalar(select(Panelist.id).order_by(Panelist.id))
            url = str(app.config["SQLALCHEMY_DATABASE_URI"])
            schema = app.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"]["options"].split("=", 1)[1]
        PG_DSN.append(url.replace("postgresql+psycopg://", "postgresql://"))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "FORUM_"))}
        env.update(
            FORUM_ENV="production",
            SECRET_KEY=secrets.token_hex(32),
            DATABASE_URL=f"{url}?options={quote(f'-csearch_path={schema}')}",
            MAIL_URL="smtp://127.0.0.1:25",  # never used: these requests send no mail
            BASE_URL="https://forum.example.org",
            FORUM_INSTANCE_PATH=instance,
        )
        page = f"/events/{slug}"
        rows: list[tuple[Result, Result, WrkResult | None, WrkResult | None]] = []

        def both(pool: ProcessPoolExecutor, minimal: int, port: int, name: str, path: str,
                 headers: dict[str, str]) -> None:
            """The minimal page, then this URL, with our client and then with wrk: each ratio is
            to the minimal page measured just before it (the machine's load moves meanwhile)."""
            base = measure(pool, "minimal", minimal, "/", args.requests, args.clients, {})
            ours = measure(pool, name, port, path, args.requests, args.clients, headers)
            wbase = wrk("minimal", minimal, "/", args.wrk_seconds, {})
            rows.append((base, ours, wbase, wrk(name, port, path, args.wrk_seconds, headers)))

        with ProcessPoolExecutor(args.clients) as pool, \
                gunicorn("minimal_app:app", args.workers, env, ROOT / "bench") as minimal:
            with gunicorn("wsgi:app", args.workers, env, ROOT) as port:
                both(pool, minimal, port, "event page", page, {})
                both(pool, minimal, port, "event page, If-None-Match (304)", page, _returning(port, page))
                both(pool, minimal, port, "index /", "/", {})
                both(pool, minimal, port, "pathway page", f"/pathways/{pathway}", {})
                both(pool, minimal, port, "panelist page", f"/panelists/{person}", {})
                both(pool, minimal, port, "public event feed (.ics)", f"/feeds/events/{slug}.ics", {})
                both(pool, minimal, port, "public calendar feed (.ics)", "/feeds/calendar.ics", {})
            # the same app with PAGE_VERSION_WATCH=1: the version kept per process (LISTEN/NOTIFY)
            with gunicorn("wsgi:app", args.workers, env | {"PAGE_VERSION_WATCH": "1"}, ROOT) as port:
                both(pool, minimal, port, "event page, watched version", page, {})
                both(pool, minimal, port, "event page, 304, watched version", page, _returning(port, page))

    used = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = sum(u.ru_utime + u.ru_stime for u in used)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average (1, 5, 15 min) at the start: {' '.join(f'{x:.2f}' for x in load_before)}; at the end: {load}"
          f"; os.cpu_count()={os.cpu_count()}")
    print(f"CPU seconds (this run, servers, database backends and clients included): {cpu:.1f}")
    print(f"gunicorn --workers {args.workers} (sync) on 127.0.0.1, PostgreSQL; ours: {args.clients} client processes "
          f"x {args.requests} requests per URL (a new connection each); wrk -t1 -c4 -d{args.wrk_seconds}s (C)")
    print("CPU s/1k: the server's CPU (gunicorn, its workers, their PostgreSQL backends) per 1,000 requests;")
    print("x min: req/s over the minimal page's, measured just before with the same client; min req/s, min CPU: "
          "that page's")
    print(f"{'':<34} {'---- Python client ----':^46} {'---- wrk ----':^46}")
    head = f"{'req/s':>7} {'min req/s':>9} {'x min':>6} {'p99 ms':>7} {'CPU s/1k':>8} {'min CPU':>7}"
    print(f"{'page':<34} {head} {'status':>6} {head}")
    minimal_cpu = [1000 * b.cpu_s / b.requests for b, _, _, _ in rows]
    for base, ours, wbase, theirs in rows:
        line = f"{ours.name:<34} {ours.rps:7.1f} {base.rps:9.1f} {ours.rps / base.rps:6.3f} {ours.p99_ms:7.1f} "
        line += f"{1000 * ours.cpu_s / ours.requests:8.2f} {1000 * base.cpu_s / base.requests:7.2f}"
        line += f" {'/'.join(map(str, ours.statuses)):>6}"
        if theirs is not None and wbase is not None:
            line += f" {theirs.rps:7.1f} {wbase.rps:9.1f} {theirs.rps / wbase.rps:6.3f} {theirs.p99_ms:7.1f}"
            line += f" {_per_k(theirs):8.2f} {_per_k(wbase):7.2f}"
        print(line)
    print(f"minimal page itself: CPU s/1k {min(minimal_cpu):.2f}-{max(minimal_cpu):.2f} (Python client)")
    print("The machine is shared (2 CPUs, other sessions' tests and servers): req/s and p99 move with the load;"
          " the ratios to the minimal page and the CPU per request are what carry to another machine.")

if __name__ == "__main__":
    main()
