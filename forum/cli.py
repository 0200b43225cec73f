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


@forum_cli.command("create-officer")
@click.argument("email")
@click.option("--name", default="", help="Shown in the officer pages.")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="At least 10 characters; prompted for (hidden) when left out.",
)
def create_officer(email: str, name: str, password: str) -> None:
    """Create a program officer who can sign in at /manage."""
    from email_validator import EmailNotValidError, validate_email

    from .extensions import db
    from .models import Officer

    try:
        address = validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise click.ClickException(f"{email!r} is not a valid email address: {exc}") from None
    if Officer.by_email(address) is not None:
        raise click.ClickException(f"An officer with email {address} already exists.")
    if len(password) < 10:
        raise click.ClickException("The password must be at least 10 characters long.")
    officer = Officer(email=address, name=name.strip())
    officer.set_password(password)
    db.session.add(officer)
    db.session.commit()
    click.echo(f"Created officer {address}; sign in at /login.")


@forum_cli.command("create-token")
@click.argument("email")
@click.option("--name", default="", help="What the token is for, e.g. 'website sync'.")
def create_token(email: str, name: str) -> None:
    """Issue a JSON API token for an officer; the token is shown once and never stored."""
    from .extensions import db
    from .models import ApiToken, Officer

    officer = Officer.by_email(email)
    if officer is None:
        raise click.ClickException(
            f"No officer with email {email.strip()}; create one with `flask forum create-officer`."
        )
    if not officer.active:
        raise click.ClickException(f"Officer {officer.email} is deactivated; no token issued.")
    _, raw = ApiToken.issue(officer, name=name.strip())
    db.session.commit()
    click.echo(f"API token for {officer.email} (shown once; send as `Authorization: Bearer <token>`):")
    click.echo(raw)


@forum_cli.command("demo")
@click.option("--if-empty", is_flag=True, help="Do nothing if any event exists (used by `make run`).")
def demo_data(if_empty: bool) -> None:
    """Load a demo e-forum, a webinar series across a DST change, and a demo officer."""
    from . import demo

    report = demo.load(if_empty=if_empty)
    if report is None:
        click.echo("Events exist already; demo data not loaded.")
        return
    for line in report.created:
        click.echo(f"created  {line}")
    for line in report.existing:
        click.echo(f"exists   {line}")
    if report.password:
        click.echo(f"Sign in at /manage as {demo.DEMO_OFFICER_EMAIL} with password: {report.password}")


# --- subscriptions ----------------------------------------------------------------------

# --- mail pipeline ----------------------------------------------------------------------

# --- e-forum discussion -----------------------------------------------------------------

# --- scheduler --------------------------------------------------------------------------

# --- calendars --------------------------------------------------------------------------
