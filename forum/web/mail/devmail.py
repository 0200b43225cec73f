"""The development mailbox at /dev/mail: what the app "sent" with MAIL_URL=dev://.

Registered only when FORUM_ENV is not production (see web/__init__.py), so it is a 404
there. Messages are the .eml files transport.DevMailbox writes to DEV_MAILBOX_DIR;
HTML parts are shown sanitised (text.sanitize_html), never as sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser, BytesParser
from pathlib import Path
from urllib.parse import quote

from flask import Blueprint, abort, current_app, flash, redirect, render_template, send_file, url_for
from flask_babel import ngettext
from markupsafe import Markup

from forum.core.text import sanitize_html
from forum.web.security import SANDBOX_POLICY

bp = Blueprint("devmail", __name__, url_prefix="/dev/mail")

NAME_RE = re.compile(r"^\d{20}-\d+$")  # <time_ns>-<outbox id>, as DevMailbox names them
LIST_LIMIT = 500


@dataclass(frozen=True)
class Summary:
    name: str
    to: str
    subject: str
    date: str
    kind: str


@dataclass(frozen=True)
class Part:
    index: int
    content_type: str
    filename: str | None
    size: int
    text: str | None = None  # shown inline (text/plain, text/calendar)
    html: Markup | None = None  # shown sanitised


def _folder() -> Path:
    return Path(current_app.config["DEV_MAILBOX_DIR"])


def _path(name: str) -> Path:
    """The file for `name`, or 404: names are checked, so no path can escape the folder."""
    if not NAME_RE.match(name):
        abort(404)
    path = _folder() / f"{name}.eml"
    if not path.is_file():
        abort(404)
    return path


def _header(msg: EmailMessage, name: str) -> str:
    try:
        return str(msg.get(name, ""))
    except (ValueError, IndexError):  # a malformed header still lists
        return ""


def summaries() -> list[Summary]:
    """Newest first (names start with the delivery time in nanoseconds)."""
    folder = _folder()
    if not folder.is_dir():
        return []
    files = sorted((p for p in folder.glob("*.eml") if NAME_RE.match(p.stem)), reverse=True)[:LIST_LIMIT]
    parser = BytesHeaderParser(policy=policy.default)
    out = []
    for path in files:
        with path.open("rb") as fh:
            msg = parser.parse(fh)
        out.append(
            Summary(
                name=path.stem,
                to=_header(msg, "To") or _header(msg, "Delivered-To"),
                subject=_header(msg, "Subject"),
                date=_header(msg, "Date"),
                kind=_header(msg, "X-Forum-Kind"),
            )
        )
    return out


def parts(msg: EmailMessage) -> list[Part]:
    """Every leaf MIME part, numbered in walk order (the number downloads it)."""
    out = []
    for index, part in enumerate(msg.walk()):
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        payload = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        text = html = None
        if part.get_content_maintype() == "text" and not part.is_attachment():
            content = part.get_content()
            if ctype == "text/html":
                html = sanitize_html(content)
            else:
                text = content
        out.append(Part(index, ctype, filename, len(payload), text, html))
    return out


def _load(name: str) -> EmailMessage:
    with _path(name).open("rb") as fh:
        return BytesParser(policy=policy.default).parse(fh)


@bp.get("/")
def index() -> str:
    return render_template("devmail/index.html", messages=summaries(), limit=LIST_LIMIT)


@bp.get("/<name>")
def message(name: str) -> str:
    msg = _load(name)
    headers = [(key, str(value)) for key, value in msg.items()]
    return render_template(
        "devmail/message.html",
        name=name,
        subject=_header(msg, "Subject"),
        headers=headers,
        parts=parts(msg),
    )


@bp.get("/<name>.eml")
def download(name: str):
    return send_file(_path(name), mimetype="message/rfc822", as_attachment=True, download_name=f"{name}.eml")


@bp.get("/<name>/parts/<int:index>")
def part(name: str, index: int):
    msg = _load(name)
    for number, item in enumerate(msg.walk()):
        if number == index and not item.is_multipart():
            body = item.get_payload(decode=True) or b""
            filename = item.get_filename() or f"part-{index}"
            response = current_app.response_class(body, mimetype="application/octet-stream")
            response.headers["Content-Disposition"] = _attachment_disposition(filename)
            response.headers["X-Content-Type-Options"] = "nosniff"
            # A raw part (HTML as sent, unsanitised) must never run or load anything if opened.
            response.headers["Content-Security-Policy"] = SANDBOX_POLICY
            return response
    abort(404)


def _attachment_disposition(filename: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", filename)[:100] or "part"
    return f"attachment; filename=\"{safe}\"; filename*=UTF-8''{quote(filename)}"


@bp.post("/clear")
def clear():
    """Empty the dev mailbox (the form carries the CSRF token)."""
    folder = _folder()
    count = 0
    if folder.is_dir():
        for path in folder.glob("*.eml"):
            path.unlink(missing_ok=True)
            count += 1
    flash(ngettext("Deleted %(num)d message.", "Deleted %(num)d messages.", count), "success")
    return redirect(url_for("devmail.index"))
