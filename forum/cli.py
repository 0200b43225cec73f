"""`flask forum ...` commands. Each area keeps its commands in its own section below.

Errors exit non-zero with a one-line reason (click.ClickException / SystemExit).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import click
from flask import current_app
from flask.cli import AppGroup
from werkzeug.serving import run_simple

forum_cli = AppGroup("forum", help="Forum administration.")


# --- development runner (make run) -----------------------------------------------------


def port_in_use(host: str, port: int) -> bool:
    """Whether something already listens on host:port (a second copy of `make run`)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


def _stop_when_a_child_dies(
    children: list[subprocess.Popen[bytes]], status: list[int], stopping: threading.Event
) -> None:
    """If the scheduler or the LMTP server exits (its port was taken meanwhile, a crash),
    stop the web server too, with exit status 1, rather than serve pages with mail dead."""
    def watch() -> None:
        while not stopping.is_set():
            for child in children:
                code = child.poll()
                if code is not None and not stopping.is_set():
                    click.echo(
                        f"Error: {' '.join(map(str, child.args[-4:]))} stopped (exit {code}); stopping Forum.",  # type: ignore[index]
                        err=True,
                    )
                    status[0] = 1
                    os.kill(os.getpid(), signal.SIGTERM)
                    return
            time.sleep(0.5)

    threading.Thread(target=watch, daemon=True, name="dev-children").start()


@forum_cli.command("dev")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int, envvar="PORT")
@click.option("--lmtp-port", default=8024, show_default=True, type=int, envvar="LMTP_PORT")
def dev(host: str, port: int, lmtp_port: int) -> None:
    """Web server, scheduler and inbound LMTP in one terminal (development only).

    Stops before starting anything when either port is taken: a copy serving web pages
    while its mail side is dead would look like it works and lose every post.
    """
    for name, number, setting in (("web", port, "PORT"), ("LMTP", lmtp_port, "LMTP_PORT")):
        if port_in_use(host, number):
            raise click.ClickException(
                f"{host}:{number} ({name}) is already in use, perhaps by another copy of Forum. "
                f"Stop it, or choose another port: {setting}={number + 1} make run"
            )
    if current_app.config["FORUM_ENV"] != "development":
        raise click.ClickException("forum dev is for development: run it with FORUM_ENV=development (make run does)")
    env = dict(os.environ)
    env.setdefault("BASE_URL", f"http://{host}:{port}")
    flask = [sys.executable, "-m", "flask", "--app", "wsgi", "forum"]
    children = [
        subprocess.Popen([*flask, "scheduler"], env=env),
        subprocess.Popen([*flask, "lmtp", "--host", host, "--port", str(lmtp_port)], env=env),
    ]
    # SIGTERM (not only Ctrl+C) must reach the `finally` below, or the children are orphaned.
    status, stopping = [0], threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(status[0]))
    _stop_when_a_child_dies(children, status, stopping)
    click.echo(
        f" * Forum on http://{host}:{port}/  (dev mailbox: http://{host}:{port}/dev/mail; "
        f"list mail by LMTP on {host}:{lmtp_port})"
    )
    try:
        # app.run() is a no-op inside the flask CLI, so serve with Werkzeug directly. Flask types
        # the current_app proxy as Flask itself, hence the ignore on the proxy's own method.
        run_simple(host, port, current_app._get_current_object(), threaded=True)  # type: ignore[attr-defined]
    finally:
        stopping.set()
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
@click.option(
    "--admin/--no-admin",
    default=True,
    help="Site administrator (every event, officers, settings); --no-admin holds only roles granted per event.",
)
def create_officer(email: str, name: str, password: str, admin: bool) -> None:
    """Create a program officer who can sign in at /manage."""
    from email_validator import EmailNotValidError, validate_email

    from forum.core.extensions import db
    from forum.models import Officer

    try:
        address = validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise click.ClickException(f"{email!r} is not a valid email address: {exc}") from None
    if Officer.by_email(address) is not None:
        raise click.ClickException(f"An officer with email {address} already exists.")
    if len(password) < 10:
        raise click.ClickException("The password must be at least 10 characters long.")
    officer = Officer(email=address, name=name.strip(), is_admin=admin)
    officer.set_password(password)
    db.session.add(officer)
    db.session.commit()
    click.echo(f"Created officer {address}; sign in at /login.")


@forum_cli.command("create-token")
@click.argument("email")
@click.option("--name", default="", help="What the token is for, e.g. 'website sync'.")
@click.option("--read-only", is_flag=True, help="Reads only: the officer's roles, minus every change.")
def create_token(email: str, name: str, read_only: bool) -> None:
    """Issue a JSON API token for an officer; the token is shown once and never stored."""
    from forum.core.extensions import db
    from forum.models import ApiToken, Officer

    officer = Officer.by_email(email)
    if officer is None:
        raise click.ClickException(
            f"No officer with email {email.strip()}; create one with `flask forum create-officer`."
        )
    if not officer.active:
        raise click.ClickException(f"Officer {officer.email} is deactivated; no token issued.")
    _, raw = ApiToken.issue(officer, name=name.strip(), read_only=read_only)
    db.session.commit()
    click.echo(f"API token for {officer.email} (shown once; send as `Authorization: Bearer <token>`):")
    click.echo(raw)


def _officer(email: str):  # type: ignore[no-untyped-def]
    from forum.models import Officer

    officer = Officer.by_email(email)
    if officer is None:
        raise click.ClickException(f"No officer with email {email.strip()}.")
    return officer


def _change_officer(email: str, change, done: str) -> None:  # type: ignore[no-untyped-def]
    """Make one change to an officer's account and say what it did (`done`, formatted with
    `officer` and the change's `result`); a refused change is the command's one-line error."""
    from forum.common import officers
    from forum.core.extensions import db

    officer = _officer(email)
    try:
        result = change(officer)
    except officers.OfficerError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(done.format(officer=officer, result=result))


@forum_cli.command("list-tokens")
@click.argument("email")
def list_tokens(email: str) -> None:
    """List an officer's API tokens (id, name, created, last used); never the tokens themselves."""
    from forum.common import officers

    officer = _officer(email)
    tokens = officers.tokens_of(officer)
    if not tokens:
        click.echo(f"{officer.email} has no API tokens.")
    for token in tokens:
        used = token.last_used_at.isoformat(timespec="minutes") if token.last_used_at else "never used"
        click.echo(f"{token.id}\t{token.name or '-'}\tcreated {token.created_at:%Y-%m-%d}\t{used}")


@forum_cli.command("revoke-token")
@click.argument("email")
@click.option("--id", "token_id", type=int, default=None, help="The token's id (see list-tokens).")
@click.option("--name", default=None, help="Revoke the tokens with this name.")
@click.option("--all", "revoke_all", is_flag=True, help="Revoke every token of the officer.")
def revoke_token(email: str, token_id: int | None, name: str | None, revoke_all: bool) -> None:
    """Revoke API tokens of an officer: the next request with one is a 401."""
    from forum.common import officers

    if not revoke_all and token_id is None and name is None:
        raise click.ClickException("Say which token: --id N, --name NAME or --all (see list-tokens).")
    _change_officer(
        email,
        lambda officer: officers.revoke_tokens(officer, name=name, token_id=token_id),
        "Revoked {result} token(s) of {officer.email}.",
    )


@forum_cli.command("deactivate-officer")
@click.argument("email")
def deactivate_officer(email: str) -> None:
    """Deactivate an officer: no sign-in, open sessions end, every API token revoked."""
    from forum.common import officers

    _change_officer(email, officers.deactivate, "Deactivated {officer.email}; revoked {result} token(s).")


@forum_cli.command("reactivate-officer")
@click.argument("email")
def reactivate_officer(email: str) -> None:
    """Let a deactivated officer sign in again (their old tokens stay revoked)."""
    from forum.common import officers

    _change_officer(email, officers.reactivate, "Reactivated {officer.email}; issue new tokens with create-token.")


@forum_cli.command("demo")
@click.option("--if-empty", is_flag=True, help="Do nothing if any event exists (used by `make run`).")
def demo_data(if_empty: bool) -> None:
    """Load a demo e-forum, a webinar series across a DST change, and a demo officer."""
    from forum.demo import data as demo

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


@forum_cli.command("import-subscribers")
@click.argument("slug")
@click.argument("path", metavar="FILE", type=click.Path(exists=True, dir_okay=False, allow_dash=False))
@click.option("--confirmed", is_flag=True, help="The people agreed already: active at once, no mail.")
@click.option(
    "--mode",
    type=click.Choice(["each", "digest", "none"]),
    default="each",
    show_default=True,
    help="Delivery for rows without a mode column.",
)
def import_subscribers(slug: str, path: str, confirmed: bool, mode: str) -> None:
    """Import registrants from a CSV (email[,name][,mode]); bad rows are listed, not stored."""
    from forum.models import Event
    from forum.subscriptions.csv_import import import_rows

    event = Event.by_slug(slug)
    if event is None:
        raise click.ClickException(f"no event with slug {slug!r}")
    with open(path, "rb") as raw, click.progressbar(length=os.path.getsize(path), label="Importing") as bar:

        def lines():
            for number, chunk in enumerate(raw):
                bar.update(len(chunk))
                yield chunk.decode("utf-8-sig" if number == 0 else "utf-8", errors="replace")

        report = import_rows(event, lines(), confirmed=confirmed, mode=mode)
    for line, reason in report.bad:
        click.echo(f"line {line}: {reason}", err=True)
    click.echo(report.summary)


@forum_cli.command("import-attendance")
@click.argument("slug")
@click.argument("session_number", metavar="SESSION", type=click.IntRange(min=1))
@click.argument("path", metavar="FILE", type=click.Path(exists=True, dir_okay=False, allow_dash=False))
def import_attendance(slug: str, session_number: int, path: str) -> None:
    """Record SESSION's (1 = first) attendance from a Zoom/Teams report or an email,minutes CSV."""
    from forum.ce.attendance_import import MAX_BYTES, ReportError, import_report
    from forum.core.extensions import db
    from forum.models import Event

    event = Event.by_slug(slug)
    if event is None:
        raise click.ClickException(f"no event with slug {slug!r}")
    sessions = event.active_sessions
    if session_number > len(sessions):
        raise click.ClickException(
            f"{slug} has {len(sessions)} session(s); there is no session {session_number}"
        )
    with open(path, "rb") as handle:
        data = handle.read(MAX_BYTES + 1)  # enough to tell it is too large, no more
    try:
        report = import_report(sessions[session_number - 1], data)
    except ReportError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    for line, address, reason in report.unmatched:
        click.echo(f"line {line}: {address or '(no address)'}: {reason}", err=True)
    click.echo(
        f"{report.layout}: {report.matched} matched ({report.added} new, {report.updated} updated, "
        f"{report.unchanged} unchanged), {len(report.unmatched)} not matched"
    )


@forum_cli.command("import-resources")
@click.argument("path", metavar="FILE", type=click.Path(exists=True, dir_okay=False, allow_dash=False))
def import_resources(path: str) -> None:
    """Add external pathway resources from a CSV (title,url,kind[,minutes][,topics][,description])."""
    from forum.core.extensions import db
    from forum.pathways.csv_import import import_resources as run_import

    with open(path, encoding="utf-8-sig", errors="replace", newline="") as handle:
        report = run_import(handle)
    db.session.commit()
    for line, reason in report.bad:
        click.echo(f"line {line}: {reason}", err=True)
    click.echo(report.summary)


# --- mail pipeline ----------------------------------------------------------------------


@forum_cli.command("send")
@click.option("--limit", type=click.IntRange(min=1), help="Send at most this many messages.")
@click.option("--batch-size", default=200, show_default=True, type=click.IntRange(min=1))
def send(limit: int | None, batch_size: int) -> None:
    """Drain the outbox once: write pending fan-outs, deliver every message that is due, then exit."""
    from forum.common.fanout import expand_pending
    from forum.mail.sender import due_count, send_due
    from forum.mail.transport import MailURLError

    expanded = expand_pending()
    if expanded.fan_outs or expanded.failed:
        click.echo(f"fan-outs: {expanded}")
    due = due_count()
    total = min(due, limit) if limit else due
    try:
        with click.progressbar(length=total, label="Sending", file=sys.stderr) as bar:
            report = send_due(limit=limit, batch_size=batch_size, progress=bar.update)
    except MailURLError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"sent: {report.sent}, retry: {report.retry}, failed: {report.failed}")
    if report.unavailable:
        raise click.ClickException(f"stopped early, mail server unavailable: {report.unavailable}")


# --- e-forum discussion -----------------------------------------------------------------


@forum_cli.command("lmtp")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8024, show_default=True, type=int)
def lmtp_command(host: str, port: int) -> None:
    """Take list mail from the MTA over LMTP (one reply per recipient) until stopped."""
    import threading

    from forum.mail.lmtp import start_lmtp

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        server = start_lmtp(app, host, port)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    click.echo(f" * LMTP for list mail on {host}:{server.port}")
    stop.wait()
    server.stop()


@forum_cli.command("postfix-maps")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["regexp", "pcre", "hash"]),
    default="regexp",
    show_default=True,
    help="regexp/pcre (same lines): every address form, signed +tags included; hash: exact addresses only.",
)
def postfix_maps_command(fmt: str) -> None:
    """Print a Postfix relay recipient map of every address the forum takes mail for.

    Regenerate it when events are published (e.g. from cron) and `postmap`/`postfix reload`.
    """
    from forum.mail.addresses import relay_recipients

    for line in relay_recipients(fmt):
        click.echo(line)


@forum_cli.command("inject")
@click.option("--to", "recipient", help="List address (default: the Delivered-To/To address at LIST_DOMAIN).")
@click.option("--sender", default="", help="Envelope sender, as the MTA passes it (empty for bounces).")
def inject_command(recipient: str | None, sender: str) -> None:
    """Read one message on stdin and post it (for an MTA pipe transport).

    Exit codes follow sysexits: 0 accepted, held, discarded or dropped by policy (mail
    from non-members included: a refusal would bounce to a sender that may be forged);
    65 unparseable; 67 unknown list; 77 refused (too large, not a moderator).
    """
    from forum.inject import inject

    cfg = current_app.config
    sys.exit(
        inject(
            sys.stdin.buffer,
            recipient,
            sender,
            limit=int(cfg["MAX_POST_BYTES"]),
            list_domain=cfg["LIST_DOMAIN"],
        )
    )


# --- scheduler --------------------------------------------------------------------------


class _Instant(click.ParamType):
    """An ISO-8601 instant with its UTC offset (a naive time would be ambiguous)."""

    name = "ISO-8601"

    def convert(self, value, param, ctx):
        from datetime import datetime

        if isinstance(value, datetime):
            return value
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            self.fail(f"{value!r} is not an ISO-8601 time such as 2019-09-10T18:00:00-04:00", param, ctx)
        if parsed.tzinfo is None:
            self.fail(f"{value!r} has no UTC offset; add one, e.g. {value}-04:00 or {value}Z", param, ctx)
        return parsed


@forum_cli.command("scheduler")
@click.option(
    "--standby",
    is_flag=True,
    help="Wait while another scheduler runs; take over within seconds when it dies.",
)
def scheduler_command(standby: bool) -> None:
    """Run the scheduler: outbox, digests, reminders, announcements, notices (one per deployment)."""
    import logging
    import threading

    from forum.scheduling import scheduler

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    holder: dict[str, object] = {}

    def ready(sched) -> None:
        holder["scheduler"] = sched
        click.echo(f" * Scheduler running ({len(sched.get_jobs())} jobs); Ctrl+C or SIGTERM stops it")

    stopping = threading.Event()

    def stop(_signum, _frame) -> None:
        stopping.set()
        sched = holder.get("scheduler")
        if sched is not None:
            sched.shutdown(wait=False)  # type: ignore[attr-defined]

    def waiting(holder_text: str) -> None:
        click.echo(f" * Standby: {holder_text}; taking over when it stops", err=True)

    signal.signal(signal.SIGTERM, stop)
    try:
        scheduler.serve(app, on_ready=ready, standby=standby, stop=stopping, on_wait=waiting)
    except scheduler.SchedulerAlreadyRunning as exc:
        raise click.ClickException(str(exc)) from None
    except scheduler.SchedulerStopped:
        pass
    except KeyboardInterrupt:
        stop(None, None)


@forum_cli.command("jobs")
def jobs_command() -> None:
    """List the scheduler's stored jobs with their next run times."""
    from datetime import UTC

    from forum.core.extensions import db
    from forum.scheduling.scheduler import JOBS, KINDS, stored_jobs

    jobs = stored_jobs(db.engine)
    if not jobs:
        click.echo("No jobs stored yet; `flask forum scheduler` stores these when it starts:")
        for spec in JOBS:
            click.echo(f"  {spec.id:<14} every {spec.seconds}s  {KINDS[spec.id]}")
        return
    click.echo(f"{'id':<14} {'next run (UTC)':<26} {'trigger':<28} what")
    for job in jobs:
        nxt = job["next_run_time"]
        when = nxt.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if nxt else "paused"
        click.echo(f"{job['id']:<14} {when:<26} {job['trigger']:<28} {job['name']}")


class _JobCommand(click.Command):
    """`run-job --help` lists every job kind, read from the registry when help is asked for."""

    def format_epilog(self, ctx, formatter):
        # imported here: the job table pulls in every area, too slow for every `flask` start
        from forum.scheduling.jobs import KINDS

        with formatter.section("Job kinds"):
            formatter.write_dl(sorted(KINDS.items()))
        super().format_epilog(ctx, formatter)


@forum_cli.command("run-job", cls=_JobCommand)
@click.argument("kind")
@click.option("--target", "slug", metavar="SLUG", help="Only this event.")
@click.option("--at", "at", type=_Instant(), help="Run as if it were this instant (with offset).")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print what the job would do and the mail it would send; store nothing. "
    "The only way to try an instant in the future.",
)
def run_job_command(kind: str, slug: str | None, at, dry_run: bool) -> None:
    """Run one job now (or rehearse it with --dry-run); the kinds are listed below."""
    from datetime import UTC, timedelta

    from forum.core import clock
    from forum.models import Event
    from forum.scheduling.jobs import KINDS, run_job
    from forum.scheduling.rehearsal import NOT_REHEARSED, rehearse

    if kind not in KINDS:
        raise click.BadParameter(
            f"unknown job {kind!r}; choose one of: {', '.join(KINDS)}", param_hint="KIND"
        )
    if dry_run and kind in NOT_REHEARSED:
        raise click.BadParameter(f"no dry run: {NOT_REHEARSED[kind]}", param_hint="--dry-run")
    if at is not None and not dry_run and at > clock.now() + timedelta(minutes=1):
        raise click.BadParameter(
            "is in the future: a job run now would store results claiming it had happened; "
            "add --dry-run to see what it would do then",
            param_hint="--at",
        )
    event = None
    if slug is not None:
        if kind in ("outbox", "retention"):
            raise click.BadParameter(f"the {kind} job has no target", param_hint="--target")
        event = Event.by_slug(slug)
        if event is None:
            raise click.BadParameter(f"no event with slug {slug!r}", param_hint="--target")
    if dry_run:
        at = at or clock.now()
        with rehearse(at) as rehearsal:
            report = run_job(kind, event=Event.by_slug(slug) if slug else None, at=at)
        for line in report.lines:
            click.echo(line)
        for fanout in rehearsal.fanouts:
            click.echo(f"list-wide mail recorded: {fanout} (the outbox job writes one copy per recipient)")
        for number, mail in enumerate(rehearsal.mails, start=1):
            click.echo(f"--- mail {number} of {len(rehearsal.mails)} ({mail.kind}) to {mail.recipient}")
            click.echo(f"Subject: {mail.subject}")
            if mail.attachments:
                click.echo(f"Attached: {', '.join(mail.attachments)}")
            click.echo(mail.text.rstrip())
        click.echo(
            f"{kind}: dry run as at {at.astimezone(UTC).isoformat()}: {report.messages} message(s) "
            "would be queued; nothing was stored"
        )
        return
    if at is not None and kind != "outbox":
        with clock.frozen(at):
            report = run_job(kind, event=event, at=at)
    else:
        report = run_job(kind, event=event, at=at)
    for line in report.lines:
        click.echo(line)
    click.echo(f"{kind}: {report.messages} message(s) queued at {report.at.astimezone(UTC).isoformat()}")


# --- calendars --------------------------------------------------------------------------
