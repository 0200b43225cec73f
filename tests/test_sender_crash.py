"""A sender killed at random, five times over 2,000 messages, at a real SMTP server.

What is promised (README, "What a message is promised"): every message is delivered at
least once; a sender killed at any moment re-sends at most what it had sent but not yet
marked: `(MAX_WAITING_GROUPS + 1) * GROUP_SIZE + 2 * MAIL_CONNECTIONS` messages.
"""

from __future__ import annotations

import random
import signal
import time
from collections import Counter

import pytest
from flask import Flask
from sqlalchemy import func, select

from forum.common.fanout import expand_pending
from forum.core.extensions import db
from forum.discussion import service as discussion
from forum.mail import sender
from forum.mail.sender import send_due
from forum.models import OutboundMessage, Post
from tests.conftest import BACKENDS
from tests.support.child import spawn, wait_for_line
from tests.support.smtp import make_subscribers, running_smtp_server
from tests.test_fanout import _held_post

CONNECTIONS = 4
LEASE_SECONDS = 3
KILLS = 5
MESSAGES = 2000
BOUND_PER_KILL = (sender.MAX_WAITING_GROUPS + 1) * sender.GROUP_SIZE + 2 * CONNECTIONS


def _statuses() -> dict[str, int]:
    db.session.expire_all()
    rows = db.session.execute(select(OutboundMessage.status, func.count()).group_by(OutboundMessage.status))
    return dict(rows.all())  # type: ignore[arg-type]


def test_a_sender_killed_five_times_loses_nothing_and_repeats_at_most_the_bound(app: Flask) -> None:
    event, subs = make_subscribers(MESSAGES)
    post = _held_post(event)
    discussion.accept(db.session.get(Post, post.id), "moderator@example.org")  # type: ignore[arg-type]
    db.session.commit()
    app.config.update(MAIL_LEASE_SECONDS=LEASE_SECONDS, MAIL_CONNECTIONS=CONNECTIONS)
    rng = random.Random()
    with running_smtp_server(pipelining=True) as server:
        app.config["MAIL_URL"] = server.url
        received_at_kills = []
        for _ in range(KILLS):
            child = spawn(app, "send", "100")
            wait_for_line(child, "sending")
            before = len(server.received)
            deadline = time.monotonic() + 60
            # Let it send for a while (at least a few messages), then kill it at a random moment.
            while len(server.received) < before + 5 and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(rng.uniform(0.0, 0.8))
            child.send_signal(signal.SIGKILL)
            child.wait(30)
            received_at_kills.append(len(server.received))
        assert received_at_kills[-1] < MESSAGES + KILLS * BOUND_PER_KILL
        # The rows the killed senders held come back when their leases lapse; drain them all.
        deadline = time.monotonic() + 300
        while _statuses() != {"sent": MESSAGES + 1} and time.monotonic() < deadline:
            send_due()
            time.sleep(0.2)
        received = server.received
    statuses = _statuses()
    assert statuses == {"sent": MESSAGES + 1}, statuses  # the posts and the author's "approved" note
    counts = Counter(r.rcpt_tos[0] for r in received)
    members = {s.participant.email for s in subs}
    assert members <= set(counts)  # nobody lost
    duplicates = sum(n - 1 for n in counts.values())
    print(
        f"\nkills at {received_at_kills} received; duplicates: {duplicates} (bound {KILLS * BOUND_PER_KILL})"
    )
    assert duplicates <= KILLS * BOUND_PER_KILL


@pytest.mark.postgresql_only
@pytest.mark.parametrize("backend", [b for b in BACKENDS if b == "postgresql"])
def test_a_sender_paused_past_its_lease_sends_nothing_after_another_took_over(
    app: Flask, backend: str
) -> None:
    """PostgreSQL: on SQLite a paused process may hold the one write lock, so no second
    sender can take over there anyway (SQLite deployments run one sender: the scheduler)."""
    event, subs = make_subscribers(600)
    post = _held_post(event)
    discussion.accept(db.session.get(Post, post.id), "moderator@example.org")  # type: ignore[arg-type]
    db.session.commit()
    app.config.update(MAIL_LEASE_SECONDS=LEASE_SECONDS, MAIL_CONNECTIONS=CONNECTIONS)
    with running_smtp_server(pipelining=True) as server:
        app.config["MAIL_URL"] = server.url
        child = spawn(app, "send", "600")  # one batch: the whole list under one lease
        wait_for_line(child, "sending")
        deadline = time.monotonic() + 60
        while len(server.received) < 20 and time.monotonic() < deadline:
            time.sleep(0.005)
        child.send_signal(signal.SIGSTOP)  # e.g. a VM paused, a process swapped out
        try:
            time.sleep(LEASE_SECONDS + 0.5)
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                report = send_due()  # another sender takes the lapsed rows over
                left = _statuses()
                # What may remain: the one group whose marks the paused sender was committing
                # (its transaction holds those rows' locks until it runs again).
                if report.processed == 0 and set(left) <= {"sent", "sending"}:
                    break
                time.sleep(0.1)
            assert left.get("sending", 0) <= sender.GROUP_SIZE, left
            after_takeover = len(server.received)
        finally:
            child.send_signal(signal.SIGCONT)
        out, err = child.communicate(timeout=60)
        assert child.returncode == 0, err
        # It woke up and started nothing more. A message whose bytes it was part-way through
        # writing when it froze completes when it runs again (at most one per connection: the
        # bytes were already on their way); it is a repeat, counted against the bound below.
        assert len(server.received) - after_takeover <= CONNECTIONS
    assert _statuses() == {"sent": 601}
    counts = Counter(r.rcpt_tos[0] for r in server.received)
    assert {s.participant.email for s in subs} <= set(counts)
    assert sum(n - 1 for n in counts.values()) <= BOUND_PER_KILL
    # It counts as sent exactly the rows it marked itself, none of those it lost.
    reported = sum(int(line.split()[1]) for line in out.splitlines() if line.startswith("sent "))
    db.session.expire_all()
    marked = db.session.scalar(
        select(func.count(OutboundMessage.id)).where(
            OutboundMessage.claimed_by.startswith(f"child:{child.pid}:"), OutboundMessage.status == "sent"
        )
    )
    assert reported == marked


@pytest.mark.postgresql_only
@pytest.mark.parametrize("backend", [b for b in BACKENDS if b == "postgresql"])
def test_two_sender_processes_share_a_2000_copy_fan_out_exactly_once(app: Flask, backend: str) -> None:
    event, subs = make_subscribers(MESSAGES)
    post = _held_post(event)
    discussion.accept(db.session.get(Post, post.id), "moderator@example.org")  # type: ignore[arg-type]
    db.session.commit()
    app.config["MAIL_CONNECTIONS"] = CONNECTIONS
    assert expand_pending().messages == MESSAGES  # the copies, sharing one stored body
    with running_smtp_server(pipelining=True) as server:
        app.config["MAIL_URL"] = server.url
        start_at = str(time.time() + 8)  # both start at once, after their (slow) start-up
        children = [spawn(app, "send", "50", start_at) for _ in range(2)]
        outputs = [child.communicate(timeout=300) for child in children]
        received = server.received
    for child, (_, err) in zip(children, outputs, strict=True):
        assert child.returncode == 0, err
    counts = Counter(r.rcpt_tos[0] for r in received)
    assert set(counts) == {s.participant.email for s in subs} | {"ann@example.org"}
    assert set(counts.values()) == {1}  # none lost, none twice
    sent = [
        sum(int(line.split()[1]) for line in out.splitlines() if line.startswith("sent "))
        for out, _ in outputs
    ]
    assert sum(sent) == MESSAGES + 1 and all(n > 0 for n in sent), sent  # both really worked
    assert _statuses() == {"sent": MESSAGES + 1}
