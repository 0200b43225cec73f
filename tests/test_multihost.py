"""The README's "Several hosts" topology, run: two web processes, two senders, the scheduler
and a standby, each in a network namespace of its own, sharing one PostgreSQL; a sender and
the active scheduler are SIGKILLed in the middle of a 2,000-member fan-out.

What it shows (README, "Several hosts" and "What a message is promised"):
- every member gets the post, and the copies sent twice are at most the stated bound,
  `2 x 25 + 2 x MAIL_CONNECTIONS` per crash (two crashes here);
- the copies are written exactly once although several hosts race to write them;
- the standby scheduler takes over within seconds of the active one's death;
- all within a time bound: the kills cost a lease (`MAIL_LEASE_SECONDS`) and a standby
  poll, never a stuck outbox.

The processes are the real entry points in production mode: `gunicorn wsgi:app`,
`flask --app wsgi forum send` in a shell loop, `flask --app wsgi forum scheduler
[--standby]`. Hosts reach PostgreSQL through a relay on the bridge, and the mail relay is an
aiosmtpd sink on a host of its own that records each delivery with the address of the host
that made it (tests/support/netns.py).
"""

from __future__ import annotations

import http.client
import os
import re
import resource
import secrets
import signal
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from subprocess import Popen
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import func, select

from forum.core import clock
from forum.core.extensions import db
from forum.core.tokens import make_token
from forum.models import FanOut, JobRun, OutboundMessage, Post, Session
from tests.conftest import BACKENDS, PG_URL
from tests.support.netns import (
    Host,
    NetnsUnavailable,
    Network,
    helper_command,
    kill,
    wait_for_port,
    wait_for_text,
)
from tests.support.production import database_url
from tests.support.smtp import make_subscribers

MEMBERS = 2000
CONNECTIONS = 4
#: Short, so that a killed sender's rows come back within the test (the default is 300 s),
#: and longer than a 200-message batch takes at the slow relay's pace.
LEASE_SECONDS = 10
#: The README's bound on messages sent again per crash: two groups of 25 being committed or
#: filled, and two messages per connection in hand.
BOUND_PER_CRASH = 2 * 25 + 2 * CONNECTIONS
CRASHES = 2
#: The relay answers each message this late until both kills are done and both survivors have
#: sent (4 connections x 6.7 messages/s per sending host, so the fan-out is still going when
#: the slowest host, restarting its `send` loop on a loaded machine, gets its first rows),
#: then this late.
SLOW_RELAY, FAST_RELAY = 0.15, 0.002
#: A host is killed once it has delivered this many copies (so it dies while sending).
KILL_AFTER = 25
#: Everything is delivered this soon after the relay is back at full speed: a lease, a
#: standby poll, a sender's restart, and room for a loaded machine.
RECOVERY_SECONDS = LEASE_SECONDS + 40
WEB_PORT, SMTP_PORT = 8000, 2525
ROLES = ("web1", "web2", "sender1", "sender2", "scheduler", "standby", "mail")
SUBJECT = "Cataloguing backlogs after a migration"
FLASK = [sys.executable, "-m", "flask", "--app", "wsgi", "forum"]
GUNICORN = [sys.executable, "-m", "gunicorn", "--workers", "1", "--threads", "4", "wsgi:app", "--bind"]
SEND_LOOP = 'while :; do "$0" -m flask --app wsgi forum send; sleep 1; done'  # the README's "in a loop"


@pytest.fixture
def network() -> Iterator[Network]:
    """The namespaces and the bridge of this run, removed afterwards whatever happened."""
    net = Network()
    try:
        net.open(ROLES)
    except NetnsUnavailable as exc:
        pytest.skip(f"the multi-host test needs network namespaces (root, iproute2): {exc}")
    try:
        yield net
    finally:
        net.close()


@dataclass
class Site:
    """The running hosts: their processes and logs, and the file the mail sink writes."""

    net: Network
    logs: dict[str, Path]
    procs: dict[str, Popen[Any]]
    record: Path

    def host(self, role: str) -> Host:
        return self.net.hosts[role]

    def log_has(self, role: str, text: str) -> bool:
        return text in self.logs[role].read_text(errors="replace")

    def deliveries(self, message_id: str) -> list[tuple[str, str]]:
        """(sending host's role, recipient) per delivery of `message_id`, in order."""
        text = self.record.read_text() if self.record.exists() else ""
        roles = {host.address: role for role, host in self.net.hosts.items()}
        rows = [line.split("\t") for line in text.splitlines() if line.count("\t") == 3]
        return [(roles.get(peer, peer), rcpt) for _, peer, mid, rcpt in rows if mid == message_id]


def _open_forum() -> tuple[str, list[str], int]:
    """A published e-forum open now, with MEMBERS "each message" members; its opening notice
    counts as sent already (the run is about the post). Returns (slug, the members'
    addresses, the poster's subscription id)."""
    event, subs = make_subscribers(MEMBERS)
    event.moderation = "none"
    now = clock.now().astimezone(ZoneInfo(event.timezone)).replace(tzinfo=None, second=0, microsecond=0)
    session = db.session.scalars(select(Session).where(Session.event_id == event.id)).one()
    session.set_times(now - timedelta(hours=1), now + timedelta(days=1), event.timezone)
    db.session.add(JobRun(kind="forum-open", target=f"event:{event.id}", period="open", note="earlier"))
    db.session.commit()
    return event.slug, [s.participant.email for s in subs], subs[0].id


def _environment(app: Flask, net: Network, secret: str, instance: Path) -> dict[str, str]:
    """A production host's environment: the shared settings, the database through the relay."""
    url = urlsplit(database_url(app))
    userinfo = url.netloc.rpartition("@")[0]
    netloc = (userinfo + "@" if userinfo else "") + f"{net.gateway}:{url.port or 5432}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "FORUM_"))}
    env.update(
        FORUM_ENV="production",
        SECRET_KEY=secret,
        DATABASE_URL=urlunsplit(url._replace(netloc=netloc)),
        BASE_URL="https://forum.test",
        LIST_DOMAIN="lists.forum.test",
        MAIL_URL=f"smtp://{net.hosts['mail'].address}:{SMTP_PORT}?starttls=off&timeout=10",
        MAIL_CONNECTIONS=str(CONNECTIONS),
        MAIL_LEASE_SECONDS=str(LEASE_SECONDS),
        FORUM_INSTANCE_PATH=str(instance),
        PYTHONUNBUFFERED="1",
    )
    return env


def _start_site(app: Flask, net: Network, secret: str, tmp_path: Path) -> Site:
    """The relay and the mail sink, then every host; returns once each one serves or waits."""
    logs = {role: tmp_path / f"{role}.log" for role in (*ROLES, "relay")}
    site = Site(net, logs, {}, tmp_path / "mail.tsv")
    hosts, procs = net.hosts, site.procs
    pg = urlsplit(database_url(app))
    pg_port = str(pg.port or 5432)
    relay = helper_command("relay", net.gateway, pg_port, pg.hostname or "127.0.0.1", pg_port)
    procs["relay"] = net.start(None, relay, os.environ, logs["relay"])
    sink = helper_command(
        "sink", hosts["mail"].address, str(SMTP_PORT), str(site.record), str(SLOW_RELAY), str(FAST_RELAY)
    )
    procs["mail"] = net.start(hosts["mail"], sink, os.environ, logs["mail"])
    for role in ("relay", "mail"):
        wait_for_text(logs[role], "ready", 30, procs[role])

    def start(role: str, command: list[str]) -> None:
        env = _environment(app, net, secret, tmp_path / f"instance-{role}")
        procs[role] = net.start(hosts[role], command, env, logs[role])

    start("scheduler", [*FLASK, "scheduler"])
    for role in ("web1", "web2"):
        start(role, [*GUNICORN, f"{hosts[role].address}:{WEB_PORT}"])
    for role in ("sender1", "sender2"):
        start(role, ["sh", "-c", SEND_LOOP, sys.executable])
    wait_for_text(logs["scheduler"], "Scheduler running", 120, procs["scheduler"])
    start("standby", [*FLASK, "scheduler", "--standby"])  # only now: the lock must be taken
    for role in ("web1", "web2"):
        wait_for_port(hosts[role].address, WEB_PORT, 120, procs[role], logs[role])
    wait_for_text(logs["standby"], "Standby: another scheduler is already running", 120, procs["standby"])
    return site


def _http(
    host: Host, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> tuple[int, http.client.HTTPMessage, str]:
    """One request to a web host (no cookie jar: its session cookie is Secure, the hop is plain)."""
    conn = http.client.HTTPConnection(host.address, WEB_PORT, timeout=60)
    try:
        conn.request(method, path, body=body or None, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read().decode(errors="replace")
    finally:
        conn.close()


def _post_on_the_web(host: Host, token: str) -> int:
    """What a member does from the posting link in a list mail: open the form, send it."""
    path = f"/post/{token}"
    status, headers, page = _http(host, "GET", path)
    assert status == 200, page[:2000]
    cookie = headers["Set-Cookie"].split(";", 1)[0]
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert csrf, page[:2000]
    form = urlencode({"csrf_token": csrf.group(1), "subject": SUBJECT, "body": "Where did yours go first?"})
    form_headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}
    status, headers, page = _http(host, "POST", path, form.encode(), form_headers)
    assert status == 302, page[:2000]
    match = re.search(r"/archive/posts/(\d+)$", headers["Location"])
    assert match, headers["Location"]
    return int(match.group(1))


def _unsent_copies() -> int:
    db.session.expire_all()
    left = db.session.scalar(
        select(func.count())
        .select_from(OutboundMessage)
        .where(OutboundMessage.kind == "post", OutboundMessage.status != "sent")
    )
    db.session.commit()
    return int(left or 0)


@dataclass
class Outcome:
    killed: dict[str, float] = field(default_factory=dict)  # role -> when (monotonic)
    took_over: float | None = None  # when the standby said it runs
    full_speed: float | None = None  # when the relay was switched to full speed
    done: float | None = None  # when no copy was left unsent


def _kill_mid_run(site: Site, message_id: str, posted: float) -> Outcome:
    """SIGKILL the first sender and the active scheduler, each once it has delivered
    KILL_AFTER copies; once the surviving sender and the standby have delivered as many, the
    relay at full speed; then wait until every copy is marked sent."""
    victims, survivors = ("sender1", "scheduler"), ("sender2", "standby")
    out = Outcome()
    deadline = posted + 120  # for the slow part; then RECOVERY_SECONDS at full speed
    while time.monotonic() < deadline:
        sent_by = Counter(role for role, _ in site.deliveries(message_id))
        for role in victims:
            if role not in out.killed and sent_by[role] >= KILL_AFTER:
                kill(site.procs[role])  # the session (a send loop and all): that host is gone
                out.killed[role] = time.monotonic()
        if out.took_over is None and "scheduler" in out.killed:
            out.took_over = time.monotonic() if site.log_has("standby", "Scheduler running") else None
        if out.full_speed is None:
            assert sum(sent_by.values()) < MEMBERS, f"the fan-out ended at the slow pace: {dict(sent_by)}"
            if len(out.killed) == len(victims) and all(sent_by[role] >= KILL_AFTER for role in survivors):
                os.kill(site.procs["mail"].pid, signal.SIGUSR1)
                out.full_speed = time.monotonic()
                deadline = out.full_speed + RECOVERY_SECONDS
        elif out.took_over is not None and not _unsent_copies():
            out.done = time.monotonic()
            break
        time.sleep(0.2)
    assert out.full_speed is not None, f"within 120 s of the post: killed {set(out.killed)}, {dict(sent_by)}"
    return out


@pytest.mark.postgresql_only
@pytest.mark.skipif(not PG_URL, reason="several hosts share one PostgreSQL (TEST_DATABASE_URL)")
@pytest.mark.parametrize("backend", [b for b in BACKENDS if b == "postgresql"])
def test_a_sender_and_the_scheduler_killed_on_six_hosts_lose_no_copy_and_repeat_within_the_bound(
    app: Flask, backend: str, network: Network, tmp_path: Path
) -> None:
    started = time.monotonic()
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    slug, members, poster = _open_forum()
    secret = secrets.token_hex(32)
    app.config["SECRET_KEY"] = secret  # the member's posting link is signed as the hosts sign
    site = _start_site(app, network, secret, tmp_path)
    ready = time.monotonic()

    # A member posts on the first web host; the other one shows the post from the same database.
    post_id = _post_on_the_web(site.host("web1"), make_token("post", poster))
    posted = time.monotonic()
    status, _, page = _http(site.host("web2"), "GET", f"/events/{slug}/archive/posts/{post_id}")
    assert status == 200 and SUBJECT in page
    message_id = db.session.get(Post, post_id).message_id  # type: ignore[union-attr]

    outcome = _kill_mid_run(site, message_id, posted)
    time.sleep(1)  # a copy the sink accepted as the run ended would be recorded by now
    for role in ("web1", "web2", "sender2", "standby"):
        assert site.procs[role].poll() is None, f"{role} stopped: {site.logs[role].read_text()[-2000:]}"
    network.close()  # every process is gone: what they cost is in this process's children now
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_seconds = after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime
    deliveries = site.deliveries(message_id)
    counts = Counter(rcpt for _, rcpt in deliveries)
    repeats = sum(n - 1 for n in counts.values())
    kills = ", ".join(f"{role} {at - posted:.1f} s" for role, at in outcome.killed.items())
    per_host = Counter(role for role, _ in deliveries)
    takeover = (outcome.took_over or float("nan")) - outcome.killed["scheduler"]
    print(
        f"\n{MEMBERS} members; hosts up in {ready - started:.1f} s; after the post: SIGKILL {kills}; standby "
        f"running {takeover:.1f} s after the scheduler's SIGKILL; relay at full speed after "
        f"{outcome.full_speed - posted:.1f} s; all sent {(outcome.done or float('nan')) - posted:.1f} s "
        f"after the post; copies per host {dict(per_host)}; "
        f"repeats {repeats} (bound {CRASHES * BOUND_PER_CRASH}); "
        f"{cpu_seconds:.1f} CPU s in the hosts over {time.monotonic() - started:.1f} s; "
        f"load {os.getloadavg()[0]:.1f}"
    )

    assert takeover < 30  # "takes over within seconds"
    assert outcome.done is not None, f"copies unsent {RECOVERY_SECONDS} s after the relay sped up"
    db.session.expire_all()
    rows = db.session.scalars(select(OutboundMessage.recipient).where(OutboundMessage.kind == "post")).all()
    assert sorted(rows) == sorted(members)  # written exactly once, one per member
    [fan_out] = db.session.scalars(select(FanOut).where(FanOut.kind == "post")).all()
    assert fan_out.done_at is not None and fan_out.recipients == MEMBERS
    assert set(counts) == set(members)  # nobody lost
    assert repeats <= CRASHES * BOUND_PER_CRASH
    assert set(per_host) == {"sender1", "sender2", "scheduler", "standby"}  # all four sent
