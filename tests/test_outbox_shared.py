"""Shared bodies: a fan-out stores each distinct body once and, per recipient, only what differs.

The sender assembles each message at send time; what reaches the SMTP server must be
byte for byte the message the one-copy-per-row path stored before (`ListCopy.data`), and
mean what `list_message` would have said to that subscriber. Retention and erasure
work on the shared bodies too.
"""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes, policy

import pytest
from flask import Flask
from sqlalchemy import func, select

from forum.core import clock
from forum.core.extensions import db
from forum.discussion import service as discussion
from forum.discussion.digests import DigestRenderer, periods, posts_in
from forum.events.announcements import send_announcement
from forum.mail.compose import ListOptions, list_message
from forum.mail.links import bounce_address, unsubscribe_url
from forum.mail.list_copies import list_messages
from forum.mail.outbox import enqueue_copies
from forum.mail.sender import send_due
from forum.models import Announcement, OutboundBody, OutboundMessage, Post
from forum.scheduling.jobs import run_job
from forum.subscriptions.erasure import erase_participant
from tests.support.scheduling import add_post, eastern, make_forum, outbox, subscribe
from tests.support.smtp import running_smtp_server, use_test_templates
from tests.test_mail_bulk import LONG, assert_same_mail

DAY = timedelta(days=1)


@pytest.fixture
def smtp(app: Flask):  # type: ignore[no-untyped-def]
    with running_smtp_server(pipelining=True) as server:
        app.config["MAIL_URL"] = server.url
        yield server


def _wire(smtp, rcpt: str) -> bytes:  # type: ignore[no-untyped-def]
    (got,) = smtp.to(rcpt)
    return got.data


def _forum_with_readers(mode: str = "digest"):  # type: ignore[no-untyped-def]
    event = make_forum(days=2)
    subs = [
        subscribe(event, "alice@example.org", mode),
        subscribe(event, "zoe.muller@example.org", mode, zone="Europe/Berlin"),  # non-ASCII name
        subscribe(event, "bob@example.org", mode, zone="America/Los_Angeles"),
        subscribe(event, "carol@example.org", mode, zone="America/Los_Angeles"),
    ]
    subs[1].participant.name = "Zoë Müller, MLIS"
    db.session.commit()
    return event, subs


def _body_count() -> int:
    return db.session.scalar(select(func.count(OutboundBody.id))) or 0


def test_a_digest_is_stored_once_per_zone_and_sent_byte_for_byte_as_before(app: Flask, smtp) -> None:  # type: ignore[no-untyped-def]
    event, subs = _forum_with_readers()
    add_post(event, eastern(2019, 9, 10, 10, 5), "Welcome", body=LONG, author="Megan D", role="moderator")
    add_post(event, eastern(2019, 9, 10, 14, 0), "Formal programs — één", body="Kort.\n\n" + LONG)
    period = periods(event)[0]
    with clock.frozen(eastern(2019, 9, 10, 18, 1)):
        renderer = DigestRenderer(event, period, posts_in(event, period))
        copies = list(renderer.copies(subs))
        assert enqueue_copies(copies, kind="digest", key="digest:test", event_id=event.id) == 4
        db.session.commit()
        # Three zones (New York, Berlin, Los Angeles): three bodies, not four copies of one.
        assert _body_count() == 3
        for copy, sub in zip(copies, subs, strict=True):
            (row,) = outbox("digest", sub.participant.email)
            assert row.body_id is not None and len(row.message) < len(copy.data) / 2
            assert row.full_message == copy.data  # the old path's bytes, exactly
            assert row.envelope_from == bounce_address(sub)  # VERP, as production sends it
            assert_same_mail(row.full_message, renderer.message_for(sub), same_id=False)
        assert send_due().sent == 4
    for copy in copies:
        assert _wire(smtp, copy.recipient) == copy.data
        (got,) = smtp.to(copy.recipient)
        assert got.mail_from == bounce_address(copy.subscription)


def test_a_post_goes_out_byte_for_byte_with_each_readers_own_links(app: Flask, smtp) -> None:  # type: ignore[no-untyped-def]
    event, subs = _forum_with_readers("each")
    post = add_post(event, eastern(2019, 9, 10, 10, 5), "Mentorat — ça marche?", body=f"{LONG}\n{'é' * 120}")
    with clock.frozen(eastern(2019, 9, 10, 10, 6)):
        count = discussion.fan_out(db.session.get(Post, post.id))  # type: ignore[arg-type]
        db.session.commit()
        assert count == 4 and _body_count() == 1
        assert send_due().sent == 4
        for sub in subs:
            (row,) = outbox("post", sub.participant.email)
            wire = _wire(smtp, sub.participant.email)
            assert wire == row.full_message
            text = message_from_bytes(wire, policy=policy.default).get_body(("plain",)).get_content()
            assert unsubscribe_url(sub) in text
            assert all(unsubscribe_url(other) not in text for other in subs if other is not sub)
        body = db.session.scalars(select(OutboundBody)).one()
        assert not any(s.participant.email.encode() in body.data for s in subs)


def test_notices_and_announcements_match_the_one_at_a_time_message(app: Flask, smtp) -> None:  # type: ignore[no-untyped-def]
    event, subs = _forum_with_readers()
    at = eastern(2019, 9, 10, 10, 1)
    with clock.frozen(at):
        run_job("notices", at=at)
        announcement = Announcement(event=event, subject="Day two", body="See you **tomorrow**.")
        announcement.set_send_time(at.replace(tzinfo=None), "UTC")
        announcement.status = "scheduled"
        db.session.add(announcement)
        db.session.commit()
        send_announcement(announcement, at)
        db.session.commit()
        assert send_due().sent == 8
        for sub in subs:
            (row,) = outbox("announcement", sub.participant.email)
            reference = list_message(
                event,
                sub,
                ListOptions(
                    subject=f"[{event.title}] Day two",
                    template="announcement",
                    context={"announcement": announcement, "event_url": f"http://forum.test/events/{event.slug}"},
                    automated=True,
                ),
            )
            assert_same_mail(row.full_message, reference, same_id=False)
            wires = {r.data for r in smtp.to(sub.participant.email)}
            assert {r.full_message for r in outbox(recipient=sub.participant.email)} == wires


def test_retention_drops_a_shared_body_only_when_no_row_needs_it(app: Flask, smtp) -> None:  # type: ignore[no-untyped-def]
    use_test_templates(app)
    event, subs = _forum_with_readers()
    start = clock.now()
    smtp.script("carol@example.org", "451")  # carol's copy waits for a retry
    with clock.frozen(start - 20 * DAY):
        copies = list_messages(
            event, subs, ListOptions(subject="Hi", template="test_rich", context={"body": LONG})
        )
        enqueue_copies(copies, kind="test", key="test", event_id=event.id)
        db.session.commit()
        assert send_due().sent == 3
    run_job("retention", at=start)
    db.session.expire_all()
    sent = [r for r in outbox("test") if r.status == "sent"]
    assert len(sent) == 3 and all(r.message is None and r.body_id is None for r in sent)
    (waiting,) = [r for r in outbox("test") if r.status == "retry"]
    assert _body_count() == 1 and waiting.full_message  # still needed by carol's copy
    with clock.frozen(start):
        assert send_due().sent == 1
    assert _wire(smtp, "carol@example.org") == waiting.full_message
    run_job("retention", at=start + 20 * DAY)
    assert _body_count() == 0
    assert db.session.scalar(select(func.count(OutboundMessage.id))) == 4  # the records stay


def test_erasing_a_reader_leaves_no_copy_of_their_address_or_links(app: Flask) -> None:
    event, subs = _forum_with_readers("each")
    post = add_post(event, eastern(2019, 9, 10, 10, 5), "Hello", body=LONG)
    gone = subs[2]  # bob
    with clock.frozen(eastern(2019, 9, 10, 10, 6)):
        email, link = gone.participant.email, unsubscribe_url(gone)
        links = {sub.id: unsubscribe_url(sub) for sub in subs}
        discussion.fan_out(db.session.get(Post, post.id))  # type: ignore[arg-type]
        db.session.commit()
        assert link.encode() in outbox("post", email)[0].full_message.replace(b"=\r\n", b"")
        erase_participant(gone.participant)
        db.session.commit()
    stored = [m for m in db.session.scalars(select(OutboundMessage.message)) if m]
    stored += list(db.session.scalars(select(OutboundBody.data)))
    for needle in (email.encode(), link.encode(), link.rsplit("/", 1)[-1].encode()):
        assert not any(needle in data.replace(b"=\r\n", b"") for data in stored)
    for sub in subs:
        if sub is not gone:  # the others' copies still assemble, with their own links
            (row,) = outbox("post", sub.participant.email)
            assert links[sub.id].encode() in row.full_message.replace(b"=\r\n", b"")


def test_a_session_cancellation_goes_out_byte_for_byte_with_each_readers_own_calendar(app: Flask, smtp) -> None:  # type: ignore[no-untyped-def]
    from forum.calendars.changes import session_change_message
    from forum.events import service as events
    from tests.support.scheduling import make_series

    event = make_series()
    subs = [
        subscribe(event, "alice@example.org"),
        subscribe(event, "zoe.muller@example.org", zone="Europe/Berlin"),
        subscribe(event, "bob@example.org", zone="America/Los_Angeles"),
        subscribe(event, "carol@example.org", zone="America/Los_Angeles"),
    ]
    subs[1].participant.name = "Zoë Müller, MLIS"
    db.session.commit()
    session = event.sessions[0]
    with clock.frozen(session.starts_at - DAY):
        events.cancel_session(session, reason="The speaker is ill.")
        db.session.commit()
        rows = outbox("calendar")
        assert len(rows) == 4 and _body_count() == 3  # Los Angeles's two readers share one body
        assert send_due().sent == 4
        for sub in subs:
            (row,) = outbox("calendar", sub.participant.email)
            assert row.body_id is not None
            assert _wire(smtp, sub.participant.email) == row.full_message
            reference = session_change_message(session, sub, kind="cancel", reason="The speaker is ill.")
            assert_same_mail(row.full_message, reference, same_id=False)
