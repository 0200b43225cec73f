"""Cold start of the MTA pipe command: `flask --app wsgi forum inject` vs `forum-inject`.

An MTA pipe transport starts one process per message, so start-up is the cost per
message.  Both commands get the same post (from a subscriber, to an open e-forum) on a
fresh SQLite database; runs are interleaved so machine load hits both alike.  Prints
the median wall and CPU (user + sys) seconds of each.

    .venv/bin/python bench/inject_start.py [--runs 10]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BIN = Path(sys.executable).parent
COMMANDS = {
    "flask --app wsgi forum inject": [sys.executable, "-m", "flask", "--app", "wsgi", "forum", "inject"],
    "forum-inject": [str(BIN / "forum-inject")],
}


def setup(folder: Path) -> dict[str, str]:
    """A database with an e-forum open now and one member; the environment for the commands."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"sqlite:///{folder / 'forum.db'}",
        SECRET_KEY="bench",
        BASE_URL="http://forum.test",
        LIST_DOMAIN="lists.forum.test",
        MAIL_URL="dev://",
        FORUM_INSTANCE_PATH=str(folder / "instance"),
        FORUM_ENV="development",
    )
    from forum import create_app
    from forum.core.extensions import db
    from forum.models import Event, Participant, Session, Subscription

    app = create_app({"SQLALCHEMY_DATABASE_URI": env["DATABASE_URL"], "SECRET_KEY": "bench"})
    with app.app_context():
        db.create_all()
        event = Event(slug="mentoring", kind="eforum", title="Mentoring", status="published", timezone="UTC")
        now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
        session = Session(event=event)
        session.set_times(now - timedelta(days=1), now + timedelta(days=1), "UTC")
        ann = Participant(email="ann@example.org", email_key="ann@example.org", name="Ann")
        db.session.add_all([event, session, ann, Subscription(participant=ann, event=event, status="active")])
        db.session.commit()
    return env


def message(n: int) -> bytes:
    return (
        "From: Ann <ann@example.org>\r\nTo: mentoring@lists.forum.test\r\n"
        f"Subject: Start-up {n}\r\nMessage-ID: <start-{n}-{time.time_ns()}@example.org>\r\n"
        f"Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\nHello, list ({n}).\r\n"
    ).encode()


def run(command: list[str], env: dict[str, str], data: bytes) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        [*command, "--to", "mentoring@lists.forum.test"], input=data, env=env, cwd=ROOT, capture_output=True
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{command}: exit {done.returncode}: {done.stderr.decode()}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = setup(Path(tmp))
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in COMMANDS}
        for i in range(args.runs):
            for name, command in COMMANDS.items():
                results[name].append(run(command, env, message(i * 10 + len(results[name]))))
    for name, rows in results.items():
        wall = statistics.median(r[0] for r in rows)
        cpu = statistics.median(r[1] for r in rows)
        print(f"{name:32s} median wall {wall:.2f} s, CPU {cpu:.2f} s ({args.runs} runs)")


if __name__ == "__main__":
    main()
