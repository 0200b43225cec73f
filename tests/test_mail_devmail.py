"""The dev mailbox (MAIL_URL=dev://) at /dev/mail, `flask forum send`, and MAIL_URL parsing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from forum import create_app
from forum.core.extensions import db
from forum.mail.compose import build_message
from forum.mail.outbox import enqueue
from forum.mail.sender import send_due
from forum.mail.smtp_client import SMTPSettings
from forum.mail.transport import DevSettings, MailURLError, parse_mail_url
from tests.conftest import csrf_from, make_config
from tests.support.smtp import running_smtp_server, use_test_templates


@pytest.fixture
def dev_app(app):  # type: ignore[no-untyped-def]
    use_test_templates(app)
    assert app.config["MAIL_URL"] == "dev://"
    return app


def queue_note(
    to: str = "Zoë <zoe@example.org>", subject: str = "Welcome to the e-Forum", key: str = "n1"
) -> None:
    msg = build_message(to=to, subject=subject, template="test_rich", context={"body": "Glad you joined."})
    msg.add_attachment(b"col1,col2\n1,2\n", maintype="text", subtype="csv", filename="roster.csv")
    enqueue(msg, kind="welcome", key=key)
    db.session.commit()


def test_dev_mailbox_lists_and_shows_a_sent_message(dev_app, client):  # type: ignore[no-untyped-def]
    queue_note()
    assert send_due().sent == 1
    files = list(Path(dev_app.config["DEV_MAILBOX_DIR"]).glob("*.eml"))
    assert len(files) == 1 and not list(Path(dev_app.config["DEV_MAILBOX_DIR"]).glob(".tmp-*"))

    page = client.get("/dev/mail/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Welcome to the e-Forum" in html and "zoe@example.org" in html and "welcome" in html
    link = re.search(r'href="(/dev/mail/\d{20}-\d+)"', html).group(1)

    view = client.get(link).get_data(as_text=True)
    assert "<h1>Welcome to the e-Forum</h1>" in view
    assert "List-Id" not in view and "Message-ID" in view  # headers are shown
    assert "Glad you joined." in view  # the text part
    assert "text/html" in view and "<script>" not in view and "onclick" not in view  # HTML, sanitised
    assert "<p>Click</p>" in view
    assert "roster.csv" in view  # the attachment is listed

    part_link = re.search(r'href="(/dev/mail/[^"]+/parts/\d+)"[^>]*>Download</a>\s*</p>\s*<pre', view)
    assert part_link
    parts = re.findall(r"Part (\d+): ([\w/]+)(?: \(([^)]*)\))?", view)
    csv_index = next(i for i, ctype, name in parts if name == "roster.csv")
    download = client.get(f"{link}/parts/{csv_index}")
    assert download.status_code == 200 and download.data == b"col1,col2\n1,2\n"
    assert download.headers["Content-Disposition"].startswith('attachment; filename="roster.csv"')

    eml = client.get(f"{link}.eml")
    assert eml.status_code == 200 and eml.mimetype == "message/rfc822"
    assert b"Subject: Welcome to the e-Forum" in eml.data and b"Delivered-To: zoe@example.org" in eml.data


def test_dev_mailbox_newest_first_and_clear(dev_app, client):  # type: ignore[no-untyped-def]
    queue_note(subject="First", key="a")
    send_due()
    queue_note(subject="Second", key="b")
    send_due()
    html = client.get("/dev/mail/").get_data(as_text=True)
    assert html.index("Second") < html.index("First")
    response = client.post("/dev/mail/clear", data={"csrf_token": csrf_from(html)}, follow_redirects=True)
    assert "Deleted 2 messages." in response.get_data(as_text=True)
    assert "No messages yet." in response.get_data(as_text=True)


def test_dev_mailbox_refuses_odd_names(dev_app, client):  # type: ignore[no-untyped-def]
    for path in ("/dev/mail/..%2f..%2fetc%2fpasswd", "/dev/mail/abc", "/dev/mail/00000000000000000001-1"):
        assert client.get(path).status_code == 404


def test_dev_mailbox_is_404_in_production(tmp_path):  # type: ignore[no-untyped-def]
    config = make_config(f"sqlite:///{tmp_path / 'p.db'}", None, tmp_path)
    config.update(FORUM_ENV="production", SECRET_KEY="3xQ9-vR2_pL7mN4wZ6yT1-production-test", MAIL_URL="smtp://relay.example.org")
    prod = create_app(config)
    assert prod.test_client().get("/dev/mail/").status_code == 404


def test_flask_forum_send_drains_the_outbox_and_prints_counts(app):  # type: ignore[no-untyped-def]
    use_test_templates(app)
    with running_smtp_server() as server:
        app.config["MAIL_URL"] = server.url
        server.script("b@example.org", "451")
        server.script("c@example.org", "550")
        for rcpt in ("a@example.org", "b@example.org", "c@example.org", "d@example.org"):
            enqueue(
                build_message(to=rcpt, subject="Hi", template="test_plain", context={"body": "x"}),
                kind="t",
                key=rcpt,
            )
        db.session.commit()
        result = app.test_cli_runner().invoke(args=["forum", "send", "--limit", "3"])
        assert result.exit_code == 0, result.output
        assert result.output.strip().endswith("sent: 1, retry: 1, failed: 1")
        result = app.test_cli_runner().invoke(args=["forum", "send"])
        assert result.output.strip().endswith("sent: 1, retry: 0, failed: 0")
    assert sorted(r.rcpt_tos[0] for r in server.received) == ["a@example.org", "d@example.org"]


def test_flask_forum_send_reports_an_unusable_mail_url_or_server(app):  # type: ignore[no-untyped-def]
    use_test_templates(app)
    app.config["MAIL_URL"] = "smtp://"
    result = app.test_cli_runner().invoke(args=["forum", "send"])
    assert result.exit_code != 0 and "MAIL_URL has no host" in result.output

    with running_smtp_server() as server:
        port = server.port
    app.config["MAIL_URL"] = f"smtp://127.0.0.1:{port}?timeout=2"  # nothing listens there now
    for rcpt in ("a@example.org", "b@example.org"):
        enqueue(
            build_message(to=rcpt, subject="Hi", template="test_plain", context={"body": "x"}),
            kind="t",
            key=rcpt,
        )
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["forum", "send"])
    assert result.exit_code == 1
    assert "sent: 0, retry: 2, failed: 0" in result.output  # both wait for the server
    assert "mail server unavailable: cannot connect to 127.0.0.1" in result.output


def test_starttls_required_refuses_a_server_without_it(app):  # type: ignore[no-untyped-def]
    use_test_templates(app)
    with running_smtp_server() as server:
        app.config["MAIL_URL"] = f"smtp://127.0.0.1:{server.port}?starttls=required"
        enqueue(
            build_message(to="a@example.org", subject="Hi", template="test_plain", context={"body": "x"}),
            kind="t",
            key="a",
        )
        db.session.commit()
        report = send_due()
    assert report.sent == 0 and "does not offer STARTTLS" in report.unavailable
    assert server.received == []


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("dev://", DevSettings("/tmp/dm")),
        ("smtp://mail.example.org", SMTPSettings("mail.example.org", 25, helo="lists.example.org")),
        (
            "smtp://u%40x:p%2Fw@mail.example.org:587?starttls=required&timeout=9",
            SMTPSettings("mail.example.org", 587, False, "required", "u@x", "p/w", 9.0, "lists.example.org"),
        ),
        (
            "smtps://u:p@mail.example.org",
            SMTPSettings("mail.example.org", 465, True, "off", "u", "p", helo="lists.example.org"),
        ),
    ],
)
def test_mail_url_parsing(url, expected):  # type: ignore[no-untyped-def]
    assert parse_mail_url(url, dev_dir="/tmp/dm", helo="lists.example.org") == expected


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://x", "must start with smtp://"),
        ("smtp://", "no host"),
        ("smtp://h?starttls=maybe", "starttls must be one of"),
        ("smtp://h?tls=1", "unknown option"),
        ("smtps://h?starttls=off", "already TLS"),
        ("smtp://h:notaport", "MAIL_URL"),
    ],
)
def test_bad_mail_urls_say_why(url, reason):  # type: ignore[no-untyped-def]
    with pytest.raises(MailURLError, match=reason):
        parse_mail_url(url, dev_dir="/tmp/dm")
