"""The real commands an MTA runs, as separate processes: `flask forum inject` on a pipe and
`flask forum lmtp` on a socket, against one SQLite database file."""

from __future__ import annotations

import smtplib
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from forum import create_app
from forum.core.extensions import db
from forum.models import Event, OutboundMessage, Post, Rsvp, Subscription
from tests.support.child import child_env
from tests.support.discussion import LIST, RSVP, gmail_reply, make_forum, message, reply_calendar, subscribe

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def forum_db(tmp_path):  # type: ignore[no-untyped-def]
    """An app on a SQLite file, with a forum, and the environment a child process needs."""
    env = child_env(f"sqlite:///{tmp_path / 'forum.db'}", tmp_path / "instance")
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": env["DATABASE_URL"],
            "SECRET_KEY": "test-secret",
            "BASE_URL": "http://forum.test",
            "LIST_DOMAIN": "lists.forum.test",
            "TESTING": True,
            "FORUM_ENV": "development",
        }
    )
    with app.app_context():
        db.create_all()
        event = make_forum()
        subscribe(event, "ann@example.org", "Ann", posts_approved=1)
        subscribe(event, "bob@example.org", "Bob")
        yield app, env
        db.session.remove()
        db.engine.dispose()


def flask(*args: str) -> list[str]:
    return [sys.executable, "-m", "flask", "--app", "wsgi", "forum", *args]


def test_inject_over_a_pipe(forum_db):
    app, env = forum_db
    # The forum is open only in 2030: a post now (the real clock) gets the not-open reply.
    done = subprocess.run(
        flask("inject", "--to", LIST), input=message(), env=env, cwd=ROOT, capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    stranger = subprocess.run(
        flask("inject", "--to", LIST),
        input=message(sender="x@example.net"),
        env=env,
        cwd=ROOT,
        capture_output=True,
        timeout=60,
    )
    # Taken (exit 0, so the MTA bounces nothing to a possibly forged sender) and discarded:
    # the forum is closed, and a stranger gets no mail.
    assert stranger.returncode == 0 and b"discarded: Discarded: x@example.net is not a subscriber" in stranger.stdout
    too_big = subprocess.run(
        flask("inject", "--to", LIST),
        input=message(body="x" * 2_100_000),
        env=env,
        cwd=ROOT,
        capture_output=True,
        timeout=60,
    )
    assert too_big.returncode == 77 and b"may be at most" in too_big.stderr
    db.session.expire_all()
    sent = [(row.kind, row.recipient) for row in db.session.scalars(select(OutboundMessage))]
    assert sent == [("not_open", "ann@example.org"), ("refusal", "ann@example.org")]  # members only


def test_a_calendar_reply_through_the_pipe_is_recorded_not_posted(forum_db):
    app, env = forum_db
    event = Event.by_slug("mentoring")
    assert event is not None
    ann = db.session.scalars(select(Subscription).order_by(Subscription.id)).first()
    raw = gmail_reply(reply_calendar(event.sessions[0], ann.participant, "ACCEPTED"), RSVP)
    done = subprocess.run(
        flask("inject", "--to", RSVP), input=raw, env=env, cwd=ROOT, capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert b"rsvp: Calendar reply recorded (1)" in done.stdout
    db.session.expire_all()
    assert [(r.subscription_id, r.partstat) for r in db.session.scalars(select(Rsvp))] == [(ann.id, "accepted")]
    assert db.session.scalars(select(Post)).all() == []


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_lmtp_command_serves_until_stopped(forum_db):
    app, env = forum_db
    port = _free_port()
    proc = subprocess.Popen(
        flask("lmtp", "--host", "127.0.0.1", "--port", str(port)),
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                conn = smtplib.LMTP("127.0.0.1", port, timeout=10)
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.2)
        with conn:
            assert conn.docmd("LHLO", "test")[0] == 250
            assert conn.docmd("MAIL", "FROM:<ann@example.org>")[0] == 250
            assert conn.docmd("RCPT", "TO:<nosuch@lists.forum.test>")[0] == 550
            conn.rset()
            # the forum opens in 2030, so a post now is answered with its dates
            assert conn.sendmail("ann@example.org", [LIST], message()) == {}
    finally:
        proc.terminate()
        proc.wait(15)
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
    db.session.expire_all()
    assert db.session.scalars(select(Post)).all() == []
    assert [row.kind for row in db.session.scalars(select(OutboundMessage))] == ["not_open"]
