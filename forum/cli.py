"""`flask forum ...` commands. Each area keeps its commands in its own section below.

Errors exit non-zero with a one-line reason (click.ClickException / SystemExit).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import click
from flask import current_app
from flask.cli import AppGroup

forum_cli = AppGroup("forum", help="Forum administration.")


# --- development runner (make run) -----------------------------------------------------


@forum_cli.command("dev")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--lmtp-port", default=8024, show_default=True, type=int)
def dev(host: str, port: int, lmtp_port: int) -> None:
    """Web server, scheduler and inbound LMTP in one terminal (development only)."""
    env = dict(os.environ)
    env.setdefault("BASE_URL", f"http://{host}:{port}")
    flask = [sys.executable, "-m", "flask", "--app", "wsgi", "forum"]
    known = set(forum_cli.commands)
    children: list[subprocess.Popen[bytes]] = []
    if "scheduler" in known:
        children.append(subprocess.Popen([*flask, "scheduler"], env=env))
    if "lmtp" in known:
        children.append(subprocess.Popen([*flask, "lmtp", "--host", host, "--port", str(lmtp_port)], env=env))
    click.echo(f" * Forum on http://{host}:{port}/  (dev mailbox: http://{host}:{port}/dev/mail)")
    try:
        current_app.run(host=host, port=port, debug=False, use_reloader=False)
    finally:
        for child in children:
            child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 5
        for child in children:
            try:
                child.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()


# --- officers, tokens, demo data (foundation) ------------------------------------------

# --- subscriptions ----------------------------------------------------------------------

# --- mail pipeline ----------------------------------------------------------------------

# --- e-forum discussion -----------------------------------------------------------------

# --- scheduler --------------------------------------------------------------------------

# --- calendars --------------------------------------------------------------------------
