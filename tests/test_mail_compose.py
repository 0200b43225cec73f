"""List mail headers (RFC 2369/2919/8058), DMARC-safe From, Reply-To policy, and
header-injection attempts, checked on the bytes a real SMTP server receives."""

from __future__ import annotations

from email import message_from_bytes
from email.header import decode_header, make_header
from email.policy import compat32
from email.utils import parsedate_to_datetime
from typing import Any

import pytest

from forum.core.extensions import db
from forum.mail.compose import ListOptions, build_message, list_message
from forum.mail.outbox import enqueue
from forum.mail.sender import send_due
from tests.support.smtp import make_subscribers, running_smtp_server


@pytest.fixture
def smtp_server():  # type: ignore[no-untyped-def]
    with running_smtp_server() as server:
        yield server


def _note(subject: str, **options: Any) -> ListOptions:
    """A list message of the test template: each test states only the options it checks."""
    return ListOptions(subject=subject, template="test_note", context={"body": "b"}, **options)


def _deliver(msg, smtp_server, key="k1", **kw):  # type: ignore[no-untyped-def]
    enqueue(msg, kind="test", key=key, **kw)
    db.session.commit()
    report = send_due()
    assert report.sent == 1, report
    return smtp_server.received[-1]


def test_list_message_headers_arrive_correct(mail_app, smtp_server):  # type: ignore[no-untyped-def]
    event, (sub,) = make_subscribers(1)
    note = _note("Mentoring at small libraries", author_name="Jeannette Ho", author_email="jho@tamu.example")
    msg = list_message(event, sub, note)
    got = _deliver(msg, smtp_server)
    assert got.rcpt_tos == ("p0@example.org",)
    assert got.mail_from == "mentoring@lists.forum.test"
    m = got.message
    assert m["List-Id"] == "Mentoring in Technical Services <mentoring.lists.forum.test>"
    unsub = [u.strip().strip("<>") for u in str(m["List-Unsubscribe"]).split(",")]
    assert unsub[0].startswith("http://forum.test/unsubscribe/")
    assert unsub[1].startswith("mailto:mentoring+leave-") and unsub[1].endswith(
        "@lists.forum.test?subject=unsubscribe"
    )
    assert m["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert m["List-Post"] == "<mailto:mentoring@lists.forum.test>"
    assert m["List-Archive"] == "<http://forum.test/events/mentoring/archive>"
    assert m["List-Help"].startswith("<http://forum.test/preferences/")
    assert m["Precedence"] == "list"
    assert "Auto-Submitted" not in m  # a human post relayed, not automated
    assert m["Message-ID"].endswith("@lists.forum.test>")
    assert parsedate_to_datetime(m["Date"]).tzinfo is not None
    # DMARC-safe: From is the list's own address, the author only in the display name.
    assert m["From"].addresses[0].addr_spec == "mentoring@lists.forum.test"
    assert m["From"].addresses[0].display_name == "Jeannette Ho via Mentoring in Technical Services"
    assert m["Reply-To"].addresses[0].addr_spec == "mentoring@lists.forum.test"
    # The raw header lines: URLs are never RFC 2047-encoded, no line is over 998 octets.
    raw_headers = got.data.split(b"\r\n\r\n", 1)[0]
    assert b"=?" not in b"".join(line for line in raw_headers.split(b"\r\n") if line.startswith(b"List-"))
    assert all(len(line) <= 998 for line in raw_headers.split(b"\r\n"))
    assert m.get_body(("plain",)).get_content().startswith("Hello Person 0,")


def test_list_message_reply_policy_and_closed_list(mail_app, smtp_server):  # type: ignore[no-untyped-def]
    event, (sub,) = make_subscribers(1)
    event.reply_to_list = False
    event.status = "draft"
    db.session.commit()
    note = _note("Reminder", author_name="Nicole Smeltekop", author_email="nicole@msu.example", automated=True)
    msg = list_message(event, sub, note)
    m = _deliver(msg, smtp_server).message
    assert m["Reply-To"].addresses[0].addr_spec == "nicole@msu.example"
    assert m["List-Post"] == "NO"
    assert m["Auto-Submitted"] == "auto-generated"


def test_webinar_series_mail_has_no_list_archive_and_no_posting(mail_app, smtp_server):  # type: ignore[no-untyped-def]
    """A series has no discussion: its mail must not point readers at an archive page that 404s."""
    event, (sub,) = make_subscribers(1)
    event.kind = "series"
    db.session.commit()
    msg = list_message(event, sub, _note("Reminder"))
    m = _deliver(msg, smtp_server).message
    assert m["List-Archive"] is None
    assert m["List-Post"] == "NO"
    assert m["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_message_ids_are_unique(mail_app):  # type: ignore[no-untyped-def]
    ids = {
        build_message(to="a@example.org", subject="s", template="test_plain", context={"body": ""})[
            "Message-ID"
        ]
        for _ in range(50)
    }
    assert len(ids) == 50


def test_non_ascii_names_and_titles_are_rfc2047_encoded(mail_app, smtp_server):  # type: ignore[no-untyped-def]
    event, (sub,) = make_subscribers(1, title='Catalogación, "metadatos" y más')
    sub.participant.name = "Zoë Ångström"
    db.session.commit()
    msg = list_message(event, sub, _note("Réunion: ¿qué tal?", author_name="Euemduan Ösmera, PhD"))
    got = _deliver(msg, smtp_server)
    raw_headers = got.data.split(b"\r\n\r\n", 1)[0]
    assert raw_headers.isascii()
    m = got.message
    assert m["Subject"] == "Réunion: ¿qué tal?"
    assert m["To"].addresses[0].display_name == "Zoë Ångström"
    # Decoded as RFC 2047 section 6.2 says (adjacent encoded-words join without a space);
    # the stdlib's own header parser inserts one where a word was folded.
    assert _decoded(got, "From") == (
        'Euemduan Ösmera, PhD via Catalogación, "metadatos" y más <mentoring@lists.forum.test>'
    )
    assert _decoded(got, "List-Id") == 'Catalogación, "metadatos" y más <mentoring.lists.forum.test>'


def _decoded(got, name: str) -> str:  # type: ignore[no-untyped-def]
    raw = message_from_bytes(got.data, policy=compat32)[name]
    return str(make_header(decode_header(raw)))


INJECTION = "Hi\r\nBcc: victim@example.com"


@pytest.mark.parametrize("where", ["subject", "author", "participant", "title"])
def test_header_injection_yields_one_clean_header(mail_app, smtp_server, where):  # type: ignore[no-untyped-def]
    event, (sub,) = make_subscribers(1, title=INJECTION if where == "title" else "Mentoring")
    if where == "participant":
        sub.participant.name = INJECTION
    db.session.commit()
    msg = list_message(
        event,
        sub,
        _note(
            INJECTION if where == "subject" else "Plain",
            author_name=INJECTION if where == "author" else "Ann",
            author_email="ann@example.org",
            in_reply_to="<a@b>\r\nBcc: victim@example.com",
        ),
    )
    got = _deliver(msg, smtp_server)
    assert got.rcpt_tos == ("p0@example.org",)  # the server got exactly one recipient
    m = got.message
    assert "Bcc" not in m
    assert all(name.lower() != "bcc" for name in m)
    for name in ("From", "To", "Subject", "List-Id", "In-Reply-To"):
        assert len(m.get_all(name)) == 1, name
    assert b"\r\nBcc:" not in got.data.split(b"\r\n\r\n", 1)[0]
    if where == "subject":
        assert m["Subject"] == "Hi Bcc: victim@example.com"
    if where == "author":
        assert m["From"].addresses[0].display_name == "Hi Bcc: victim@example.com via Mentoring"
        assert m["From"].addresses[0].addr_spec == "mentoring@lists.forum.test"
    if where == "participant":
        assert m["To"].addresses[0].display_name == "Hi Bcc: victim@example.com"
        assert m["To"].addresses[0].addr_spec == "p0@example.org"


def test_build_message_refuses_bad_addresses_and_header_names(mail_app):  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError):
        build_message(to="not an address", subject="s", template="test_plain", context={"body": ""})
    with pytest.raises(ValueError):
        build_message(
            to="a@example.org",
            subject="s",
            template="test_note",
            context={"body": ""},
            headers={"X-Bad\r\nBcc": "x"},
        )
    msg = build_message(
        to='"Eve\r\nBcc: v@example.com" <a@example.org>',
        subject="s",
        template="test_plain",
        context={"body": ""},
    )
    assert msg["To"].addresses[0].addr_spec == "a@example.org"
    assert "Bcc" not in msg
