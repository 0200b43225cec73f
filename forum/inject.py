"""`forum-inject`: one inbound message from an MTA pipe, started light.

Postfix (or any MTA) runs the pipe command once per message, so its start-up is paid
per message: `flask --app wsgi forum inject` builds the whole web app first (every
blueprint, the JSON API and its OpenAPI spec, migrations, login, CSRF, rate limits).
This entry point builds only what inbound mail needs: settings, the database, the
template filters, and the URL rules of the pages that mails link to (public event
pages, subscriptions, the discussion archive, feeds), which `core.urls.external_url`
builds links from, and the areas whose handlers `forum.mail.inbound` routes to.
Like `forum/__init__.py` and `forum/cli.py` it is an entry point, above every layer.  Busy lists should use the LMTP server (`flask forum lmtp`), which
pays the start-up once; see the README.

Exit codes follow sysexits: 0 accepted, held or dropped by policy; 65 unparseable;
67 unknown list; 77 refused (not a member, too large).
"""

from __future__ import annotations

import os
import sys
from typing import BinaryIO

import click
from flask import Flask

# The inbound handlers, registered with forum.mail.inbound when imported: every kind is here.
from forum.calendars import rsvp  # noqa: F401 - "calendar-reply"
from forum.core import config as settings
from forum.core.extensions import db
from forum.discussion import service as _discussion  # noqa: F401 - "post", "moderator-command"
from forum.mail import bounces  # noqa: F401 - "bounce"
from forum.mail.inbound import receive
from forum.mail.parse import recipients_in
from forum.subscriptions import service as _subscriptions  # noqa: F401 - "leave"
from forum.web.calendars import feeds
from forum.web.discussion import pages as discussion_pages
from forum.web.events import public
from forum.web.helpers import register_template_helpers
from forum.web.subscriptions import pages as subscription_pages

EX_DATAERR, EX_NOUSER = 65, 67


def create_inbound_app() -> Flask:
    """A Flask app with exactly what `inbound.receive` needs, from the same settings."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    app = Flask(
        "forum",
        template_folder=os.path.join(root, "templates"),
        static_folder=os.path.join(root, "static"),
        instance_path=os.environ.get("FORUM_INSTANCE_PATH") or os.path.join(root, "instance"),
    )
    app.config.update(settings.load(app.instance_path))
    db.init_app(app)
    for module in (public, subscription_pages, discussion_pages, feeds):  # the pages mails link to
        app.register_blueprint(module.bp)
    register_template_helpers(app)
    return app


def inject(stream: BinaryIO, recipient: str | None, sender: str, *, limit: int, list_domain: str) -> int:
    """Read one message from `stream` and hand it to each list it is for; the exit code.

    Shared by `forum-inject` and `flask forum inject` (inside an app context).
    """
    raw = stream.read(limit + 65537)
    while stream.read(65536):  # drain an oversized message so the MTA sees no broken pipe
        pass
    if not raw.strip():
        click.echo("refused: the message is empty", err=True)
        return EX_DATAERR
    targets = [recipient] if recipient else recipients_in(raw, list_domain)
    if not targets:
        click.echo(f"refused: no recipient at {list_domain}; pass --to", err=True)
        return EX_NOUSER
    code = 0
    for target in targets:
        outcome = receive(raw, target, envelope_from=sender)
        click.echo(f"{target}: {outcome.status}: {outcome.reason}", err=outcome.exit_code != 0)
        code = code or outcome.exit_code
    return code


@click.command()
@click.option("--to", "recipient", help="List address (default: the Delivered-To/To address at LIST_DOMAIN).")
@click.option("--sender", default="", help="Envelope sender, as the MTA passes it (empty for bounces).")
def main(recipient: str | None, sender: str) -> None:
    """Read one message on stdin and post it (for an MTA pipe transport)."""
    app = create_inbound_app()
    with app.app_context():
        code = inject(
            sys.stdin.buffer,
            recipient,
            sender,
            limit=int(app.config["MAX_POST_BYTES"]),
            list_domain=app.config["LIST_DOMAIN"],
        )
    sys.exit(code)


if __name__ == "__main__":
    main()
