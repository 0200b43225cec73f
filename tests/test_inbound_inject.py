"""`flask forum inject`: one message on stdin, sysexits exit codes for the MTA's pipe transport."""

from __future__ import annotations

from forum.core import clock
from tests.support.discussion import (
    AFTER,
    DOMAIN,
    LIST,
    OPEN_AT,
    make_forum,
    message,
    posts,
    queued,
    subscribe,
    text_of,
)


def inject(app, raw: bytes, *args: str):  # type: ignore[no-untyped-def]
    return app.test_cli_runner().invoke(args=["forum", "inject", *args], input=raw)


def test_member_post_is_accepted_with_exit_0(app):
    event = make_forum()
    subscribe(event, "ann@example.org", "Ann", posts_approved=1)
    subscribe(event, "bob@example.org", "Bob")
    subscribe(event, "dora@example.org", "Dora", mode="digest")
    with clock.frozen(OPEN_AT):
        result = inject(app, message(), "--to", LIST)
    assert result.exit_code == 0, result.output
    assert [p.status for p in posts()] == ["accepted"]
    assert sorted(r.recipient for r in queued("post")) == ["ann@example.org", "bob@example.org"]


def test_recipient_is_found_in_the_headers_without_to(app):
    event = make_forum()
    subscribe(event, "ann@example.org", "Ann", posts_approved=1)
    raw = message(headers={"Delivered-To": LIST})
    with clock.frozen(OPEN_AT):
        result = inject(app, raw)
    assert result.exit_code == 0, result.output
    assert len(posts()) == 1


def test_unknown_list_exits_67(app):
    make_forum()
    with clock.frozen(OPEN_AT):
        result = inject(app, message(to=f"nosuch@{DOMAIN}"), "--to", f"nosuch@{DOMAIN}")
    assert result.exit_code == 67
    assert "No e-forum at nosuch@" in result.output


def test_non_member_exits_0_and_is_held_not_bounced(app):
    """Exit 77 would make the MTA bounce to a sender that may be forged (backscatter)."""
    make_forum()
    with clock.frozen(OPEN_AT):
        result = inject(app, message(sender="stranger@example.net"), "--to", LIST)
    assert result.exit_code == 0
    assert "held: Held for moderation: The sender is not a subscriber" in result.output
    assert [p.status for p in posts()] == ["held"]
    assert all(r.recipient != "stranger@example.net" for r in queued())


def test_lapsed_member_is_held_and_told_by_mail(app):
    event = make_forum()
    subscribe(event, "gone@example.org", "Gone", status="unsubscribed")
    with clock.frozen(OPEN_AT):
        result = inject(app, message(sender="gone@example.org"), "--to", LIST)
    assert result.exit_code == 0
    [held] = queued("held")  # a participant we know hears that a moderator will decide
    assert held.recipient == "gone@example.org"
    assert "The sender is not a subscriber of this e-forum." in text_of(held)


def test_lapsed_member_discarded_gets_an_explanation_by_mail(app):
    event = make_forum(non_member_posts="discard")
    subscribe(event, "gone@example.org", "Gone", status="unsubscribed")
    with clock.frozen(OPEN_AT):
        result = inject(app, message(sender="gone@example.org"), "--to", LIST)
    assert result.exit_code == 0 and "discarded" in result.output
    [refusal] = queued("refusal")
    assert refusal.recipient == "gone@example.org"
    assert "is not a subscriber" in text_of(refusal)


def test_unparseable_message_exits_65(app):
    make_forum()
    with clock.frozen(OPEN_AT):
        empty = inject(app, b"", "--to", LIST)
        garbage = inject(app, b"\x00\x01 this is not mail at all\n", "--to", LIST)
    assert empty.exit_code == 65
    assert garbage.exit_code == 65 and "no usable From" in garbage.output


def test_auto_reply_exits_0_and_sends_nothing(app):
    event = make_forum()
    subscribe(event, "ann@example.org", "Ann", posts_approved=1)
    raw = message(headers={"Auto-Submitted": "auto-replied"})
    with clock.frozen(OPEN_AT):
        result = inject(app, raw, "--to", LIST)
    assert result.exit_code == 0
    assert posts() == [] and queued() == []


def test_too_large_is_refused_with_the_limit(app):
    event = make_forum()
    subscribe(event, "ann@example.org", "Ann", posts_approved=1)
    app.config["MAX_POST_BYTES"] = 2000
    with clock.frozen(OPEN_AT):
        result = inject(app, message(body="x" * 5000), "--to", LIST)
    assert result.exit_code == 77 and "at most 2000 bytes" in result.output
    assert posts() == []
    assert "at most 2000 bytes" in text_of(queued("refusal")[0])


def test_post_after_close_says_when_it_closed_in_the_event_zone(app):
    event = make_forum()
    subscribe(event, "ann@example.org", "Ann", posts_approved=1)
    with clock.frozen(AFTER):
        result = inject(app, message(), "--to", LIST)
    assert result.exit_code == 0
    [reply] = queued("not_open")
    assert "closed on Wednesday, 9/11/2030 at 6:00 PM (Eastern)" in text_of(reply)
    # a second post the same day gets no second auto-reply
    with clock.frozen(AFTER):
        inject(app, message(), "--to", LIST)
    assert len(queued("not_open")) == 1


def test_attachments_are_stripped_with_a_note(app):
    from email.message import EmailMessage

    event = make_forum()
    subscribe(event, "ann@example.org", "Ann", posts_approved=1)
    msg = EmailMessage()
    msg["From"] = "Ann <ann@example.org>"
    msg["To"] = LIST
    msg["Subject"] = "Our mentoring handbook"
    msg.set_content("The handbook is attached.")
    msg.add_attachment(
        b"%PDF-1.4 " + b"0" * 3000, maintype="application", subtype="pdf", filename="handbook.pdf"
    )
    with clock.frozen(OPEN_AT):
        result = inject(app, msg.as_bytes(), "--to", LIST)
    assert result.exit_code == 0, result.output
    [post] = posts()
    assert "The handbook is attached." in post.body_text
    assert "[Attachment removed: handbook.pdf (application/pdf, 2 KB)]" in post.body_text
    assert "PDF-1.4" not in post.body_text
    assert "handbook.pdf" in post.body_html
    assert "Attachment removed: handbook.pdf" in text_of(queued("post")[0])


def test_html_only_post_keeps_a_text_part(app):
    event = make_forum()
    subscribe(event, "ann@example.org", "Ann", posts_approved=1)
    raw = (
        b"From: Ann <ann@example.org>\r\nTo: " + LIST.encode() + b"\r\nSubject: html only\r\n"
        b"Message-ID: <html-only@example.org>\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/html; charset=utf-8\r\n\r\n"
        b"<p>First <em>point</em></p><blockquote><p>quoted words</p></blockquote><p>Caf\xc3\xa9</p>\r\n"
    )
    with clock.frozen(OPEN_AT):
        assert inject(app, raw, "--to", LIST).exit_code == 0
    [post] = posts()
    assert "First point" in post.body_text
    assert "> quoted words" in post.body_text
    assert "Café" in post.body_text
    assert "<em>point</em>" in post.body_html
