"""Moderation that scales: MTA-flagged spam from non-members is held or discarded in silence;
moderators decide in bulk and can always accept a sender (from the page or by mail)."""

from __future__ import annotations

import smtplib

from forum.core import clock
from forum.core.extensions import db
from forum.discussion import senders
from forum.discussion import service as discussion
from forum.models import OutboundMessage, Post
from tests.conftest import csrf_from
from tests.support.discussion import (
    LIST,
    OPEN_AT,
    lmtp_send,
    lmtp_server,
    login_officer,
    make_forum,
    message,
    parsed,
    posts,
    queued,
    subscribe,
)

SPAM_HEADERS = (
    {"X-Spam-Flag": "YES"},
    {"X-Spam-Score": "9.3 (+++++++++)"},
    {"X-Rspamd-Score": "15.20"},
)


def test_a_thousand_flagged_non_member_messages_over_lmtp_make_no_notice(app):
    """1,000 spams through the real LMTP server: all held for a look, and not one outbox row."""
    event = make_forum()
    subscribe(event, "known@example.org", "Known", status="unsubscribed")  # known, yet spam: silent
    with (
        clock.frozen(OPEN_AT),
        lmtp_server(app) as server,
        smtplib.LMTP("127.0.0.1", server.port, timeout=60) as conn,
    ):
        for n in range(1000):
            sender = "known@example.org" if n % 100 == 0 else f"spammer{n}@example.net"
            raw = message(sender=sender, subject=f"Cheap pills {n}", headers=SPAM_HEADERS[n % 3])
            assert conn.sendmail(sender, [LIST], raw) == {}
    assert queued() == []  # the hold-notices job ran too: nothing for the moderators either
    assert db.session.query(OutboundMessage).count() == 0
    held = posts()
    assert len(held) == 1000 and {p.status for p in held} == {"held"}
    assert {p.hold_reason for p in held} == {senders.SPAM_HOLD_REASON}


def test_flagged_mail_is_discarded_when_non_member_mail_is(app):
    make_forum(non_member_posts="discard")
    with clock.frozen(OPEN_AT), lmtp_server(app) as server:
        [(code, text)] = lmtp_send(
            server, message(sender="x@example.net", headers={"X-Spam-Flag": "YES"}), [LIST]
        )
    assert code == 250 and b"Discarded as spam" in text
    assert posts() == [] and queued() == []


def test_the_score_limit_is_the_events_and_members_are_not_screened(app):
    event = make_forum()
    event.spam_score_limit = 10.0
    subscribe(event, "ann@example.org", "Ann Reader", posts_approved=1)
    with clock.frozen(OPEN_AT):
        below = discussion.receive(message(sender="x@example.net", headers={"X-Spam-Score": "7.5"}), LIST)
        above = discussion.receive(message(sender="y@example.net", headers={"X-Rspamd-Score": "10.5"}), LIST)
        member = discussion.receive(message(headers={"X-Spam-Flag": "YES"}, subject="Member"), LIST)
    assert below.status == "held" and below.post.hold_reason != senders.SPAM_HOLD_REASON
    assert above.status == "held" and above.post.hold_reason == senders.SPAM_HOLD_REASON
    assert member.status == "accepted"
    assert [r.recipient for r in queued("hold_notice")] == ["megan@example.org"]  # for `below` only


def test_always_accept_by_mail_command_lets_the_senders_next_post_through(app):
    make_forum()
    with clock.frozen(OPEN_AT), lmtp_server(app) as server:
        lmtp_send(server, message(sender="guest@example.net", msgid="<g1@example.net>"), [LIST])
        [notice] = queued("hold_notice")
        approve_to = parsed(notice)["Reply-To"].addresses[0].addr_spec
        command = message(sender="megan@example.org", to=approve_to, subject="Re: Held", body="always")
        [(code, text)] = lmtp_send(server, command, [approve_to], mail_from="megan@example.org")
        assert code == 250 and b"always be accepted" in text
        [(code, text)] = lmtp_send(
            server, message(sender="Guest@Example.net", msgid="<g2@example.net>", subject="Again"), [LIST]
        )
    assert code == 250 and b"Accepted" in text
    assert {p.message_id: p.status for p in posts()} == {
        "<g1@example.net>": "accepted",
        "<g2@example.net>": "accepted",
    }
    assert len(queued("hold_notice")) == 1  # the second post was never held


def test_bulk_approve_reject_and_always_accept_from_the_queue(app, client):
    event = make_forum(moderation="all")
    subscribe(event, "ann@example.org", "Ann")
    subscribe(event, "bob@example.org", "Bob")
    with clock.frozen(OPEN_AT):
        ids = [
            discussion.receive(message(subject=f"Post {n}", msgid=f"<b{n}@example.org>"), LIST).post.id
            for n in range(3)
        ]
        stranger = discussion.receive(
            message(sender="guest@example.net", subject="From a guest"), LIST
        ).post.id
    login_officer(client)
    queue = client.get("/manage/events/mentoring/moderation")
    assert queue.status_code == 200 and b'form="bulk"' in queue.data
    token = csrf_from(queue.data)
    form = {"csrf_token": token, "bulk-csrf_token": token}
    with clock.frozen(OPEN_AT):
        no_reason = client.post(
            "/manage/events/mentoring/moderation/bulk",
            data={**form, "post": [str(ids[2])], "bulk-reject": "x"},
        )
        assert no_reason.status_code == 400 and b"Say why" in no_reason.data
        approved = client.post(
            "/manage/events/mentoring/moderation/bulk",
            data={**form, "post": [str(ids[0]), str(ids[1])], "bulk-approve": "x"},
        )
        assert approved.status_code == 302
        rejected = client.post(
            "/manage/events/mentoring/moderation/bulk",
            data={
                **form,
                "post": [str(ids[2]), str(ids[0])],
                "bulk-reason": "Off topic.",
                "bulk-reject": "x",
            },
        )
        assert rejected.status_code == 302
        always = client.post(
            "/manage/events/mentoring/moderation/bulk",
            data={**form, "post": [str(stranger)], "bulk-always": "x"},
        )
        assert always.status_code == 302
    statuses = {p.subject: p.status for p in db.session.query(Post)}
    assert statuses == {
        "Post 0": "accepted",
        "Post 1": "accepted",
        "Post 2": "rejected",
        "From a guest": "accepted",
    }
    assert senders.is_accepted(event, "guest@example.net")
    assert len(queued("rejected")) == 1  # post 0 was no longer held: skipped, not rejected
    page = client.get("/manage/events/mentoring/moderation").data
    assert b"Always accepted senders" in page and b"guest@example.net" in page
