"""`forum-inject`, the MTA pipe entry point, as a real process: it posts like `flask forum
inject` does, with the same exit codes, and starts without the parts of the web app
inbound mail never uses."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import select

from forum.core.extensions import db
from forum.models import Event, OutboundMessage, Participant, Post, Session, Subscription
from tests.conftest import PG_URL
from tests.support.child import child_env
from tests.support.fanouts import write_fan_outs

ROOT = Path(__file__).resolve().parent.parent
LIST = "mentoring@lists.forum.test"


def _env(app, tmp_path: Path) -> dict[str, str]:  # type: ignore[no-untyped-def]
    schema = app.config["FORUM_TEST_SCHEMA"]
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if schema:
        url = f"{PG_URL}?options={quote(f'-csearch_path={schema}')}"
    return child_env(url, tmp_path / "instance")


def _open_forum() -> None:
    """An e-forum open now (the child process runs on the real clock), two members."""
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    event = Event(slug="mentoring", kind="eforum", title="Mentoring", status="published", timezone="UTC")
    session = Session(event=event)
    session.set_times(now - timedelta(days=1), now + timedelta(days=1), "UTC")
    db.session.add_all([event, session])
    for email, approved in (("ann@example.org", 1), ("bob@example.org", 0)):
        person = Participant(email=email, email_key=email, name=email.split("@")[0].title())
        db.session.add(
            Subscription(participant=person, event=event, status="active", posts_approved=approved)
        )
    db.session.commit()


def _message(sender: str = "ann@example.org", msgid: str = "light-start") -> bytes:
    return (
        f"From: <{sender}>\r\nTo: {LIST}\r\nSubject: Light start\r\n"
        f"Message-ID: <{msgid}@example.org>\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\n"
        "Posted through the pipe.\r\n"
    ).encode()


def _inject(env: dict[str, str], data: bytes, *args: str) -> subprocess.CompletedProcess[bytes]:
    command = [sys.executable, "-m", "forum.inject", *args]
    return subprocess.run(command, input=data, env=env, cwd=ROOT, capture_output=True, timeout=120)


def test_forum_inject_posts_and_fans_out_with_sysexits_codes(app, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _open_forum()
    env = _env(app, tmp_path)
    db.session.close()  # SQLite: let the child write
    done = _inject(env, _message(), "--to", LIST)
    assert done.returncode == 0, done.stderr
    assert b"accepted" in done.stderr + done.stdout
    db.session.expire_all()
    [post] = db.session.scalars(select(Post)).all()
    assert "Posted through the pipe." in post.body_text
    # Accepting commits one fan-out record; the copies are the scheduler's work (forum/fanout.py).
    assert db.session.scalars(select(OutboundMessage.recipient).where(OutboundMessage.kind == "post")).all() == []
    write_fan_outs()
    rows = db.session.scalars(select(OutboundMessage).where(OutboundMessage.kind == "post")).all()
    assert sorted(row.recipient for row in rows) == ["ann@example.org", "bob@example.org"]
    body = b"".join(row.full_message for row in rows)
    assert b"http://forum.test/" in body  # links in the copies are built from the registered pages

    # A non-member's post: the same outcome and exit code as `flask forum inject` gives.
    stranger = _inject(env, _message("x@example.net", "stranger-1"), "--to", LIST)
    full = app.test_cli_runner().invoke(
        args=["forum", "inject", "--to", LIST], input=_message("x@example.net", "stranger-2")
    )
    assert stranger.returncode == full.exit_code
    said = (stranger.stdout + stranger.stderr).decode()
    assert said.split(": ")[1] == full.output.split(": ")[1]  # the same status word
    unknown = _inject(env, _message(), "--to", "nope@lists.forum.test")
    assert unknown.returncode == 67
    empty = _inject(env, b"\r\n")
    assert empty.returncode == 65 and b"empty" in empty.stderr


def test_forum_inject_starts_without_the_web_app(app, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """None of the officer pages, the JSON API (and its OpenAPI spec) or sign-in is loaded."""
    probe = (
        "import sys, forum.inject as i; app = i.create_inbound_app(); "
        "heavy = ['flask_smorest', 'forum.web.events.api', 'forum.web.events.manage', 'forum.web.site.auth', "
        "'forum.web.subscriptions.officer', 'forum.web.events.announcements', 'forum.cli']; "
        "print(sorted(m for m in heavy if m in sys.modules)); print(len(app.url_map._rules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env=_env(app, tmp_path),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    loaded, rules = done.stdout.splitlines()
    assert loaded == "[]"
    assert int(rules) > 10
