"""A second process of the app under test, for tests that kill it at a chosen moment.

`spawn(app, "expand")` starts ``python -m tests.support.child expand`` on the same
database as `app` (SQLite file or the test's PostgreSQL schema); the child prints one
line per step (flushed) so the test can wait for a step and then SIGKILL it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from flask import Flask

CONFIG_KEYS = (
    "TESTING",
    "FORUM_ENV",
    "SECRET_KEY",
    "SQLALCHEMY_DATABASE_URI",
    "SQLALCHEMY_ENGINE_OPTIONS",
    "BASE_URL",
    "LIST_DOMAIN",
    "MAIL_FROM",
    "MAIL_URL",
    "DEV_MAILBOX_DIR",
    "RATELIMIT_ENABLED",
    "MAIL_LEASE_SECONDS",
    "MAIL_CONNECTIONS",
)
ROOT = Path(__file__).resolve().parents[2]


def child_env(database_url: str, instance: Path, **extra: str) -> dict[str, str]:
    """The environment of a `flask forum ...` child process on `database_url`, with its own
    instance folder; `extra` adds or overrides variables."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        SECRET_KEY="test-secret",
        BASE_URL="http://forum.test",
        LIST_DOMAIN="lists.forum.test",
        MAIL_URL="dev://",
        FORUM_INSTANCE_PATH=str(instance),
        FORUM_ENV="development",
        **extra,
    )
    return env


def spawn(app: Flask, *args: str, **config: object) -> subprocess.Popen[str]:
    """Start a child process running `args` against `app`'s database (config overrides in `config`)."""
    settings = {key: app.config[key] for key in CONFIG_KEYS if key in app.config}
    settings.update(config)
    env = {**os.environ, "FORUM_CHILD_CONFIG": json.dumps(settings)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.support.child", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_line(proc: subprocess.Popen[str], expected: str) -> None:
    """Read the child's output until `expected` (a whole line); fail if it ends first."""
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.strip() == expected:
            return
    raise AssertionError(f"child ended before {expected!r}: {proc.stderr.read() if proc.stderr else ''}")


def main(argv: list[str]) -> None:
    from forum import create_app
    from forum.core.extensions import db

    app = create_app(json.loads(os.environ["FORUM_CHILD_CONFIG"]))
    command, *rest = argv
    with app.app_context():
        if command == "accept":  # accept a held post (the change + its fan-out record), then expand
            from forum.common.fanout import expand_pending
            from forum.discussion import service as discussion
            from forum.models import Post

            post = db.session.get(Post, int(rest[0]))
            assert post is not None
            discussion.accept(post, "moderator@example.org")
            db.session.commit()
            print("accepted", flush=True)
            expand_pending()
            print("expanded", flush=True)
        elif command == "expand":
            from forum.common.fanout import expand_pending

            print("expanding", flush=True)
            print(f"expanded {expand_pending().messages}", flush=True)
        elif command == "send":  # drain the outbox as the scheduler's job does, until empty
            import time

            from forum.mail.sender import send_due

            if len(rest) > 1:  # a wall-clock instant to start at, so several children start together
                time.sleep(max(float(rest[1]) - time.time(), 0))
            print("sending", flush=True)
            while True:
                report = send_due(worker_id=f"child:{os.getpid()}", batch_size=int(rest[0]) if rest else 200)
                print(f"sent {report.sent}", flush=True)
                if not report.processed:
                    break
        else:
            raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
