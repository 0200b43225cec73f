"""Posting to an e-forum over real LMTP: acceptance, refusals, auto-replies, threads, moderation."""

from __future__ import annotations

import re

from forum.core import clock
from tests.support.discussion import (
    BEFORE,
    DOMAIN,
    LIST,
    OPEN_AT,
    add_panelist,
    deliver,
    lmtp_send,
    lmtp_server,
    make_forum,
    message,
    parsed,
    posts,
    queued,
    subscribe,
    text_of,
    threads,
)


def test_member_post_is_archived_and_sent_to_each_mode_subscribers_only(app, client):
    event = make_forum()
    subscribe(event, "ann@example.org", "Ann Reader", posts_approved=1)
    each = subscribe(event, "bob@example.org", "Bob", mode="each")
    subscribe(event, "dora@example.org", "Dora", mode="digest")
    subscribe(event, "nell@example.org", "Nell", mode="none")
    subscribe(event, "pete@example.org", "Pete", mode="each", status="pending")
    subscribe(event, "ulla@example.org", "Ulla", mode="each", status="unsubscribed")

    with clock.frozen(OPEN_AT), lmtp_server(app) as server:
        replies = lmtp_send(server, message(msgid="<first@example.org>"), [LIST])

    assert replies[0][0] == 250
    [post] = posts()
    assert post.status == "accepted" and post.accepted_at == OPEN_AT
    assert "Who has mentored" in post.body_text
    sent = queued("post")
    assert sorted(row.recipient for row in sent) == ["ann@example.org", "bob@example.org"]
    mail = parsed(next(r for r in sent if r.subscription_id == each.id))
    assert mail["Message-ID"] == "<first@example.org>"
    assert mail["List-Id"].endswith(f"<mentoring.{DOMAIN}>")
    assert "Ann Reader via Mentoring in Technical Services" in str(mail["From"])
    assert mail["Archived-At"] == f"<http://forum.test/events/mentoring/archive/posts/{post.id}>"
    page = client.get(f"/events/mentoring/archive/posts/{post.id}")
    assert page.status_code == 200 and b"Who has mentored a new cataloger?" in page.data


def test_non_member_post_is_taken_and_held_without_backscatter(app):
    """A refusal after DATA would make the MTA bounce to a sender address that may be forged."""
    make_forum()
    with clock.frozen(OPEN_AT), lmtp_server(app) as server:
        [(code, text)] = lmtp_send(server, message(sender="stranger@example.net"), [LIST])
        assert code == 250 and b"Held for moderation" in text
        [post] = posts()
        assert post.status == "held" and post.participant_id is None
        assert post.hold_reason == "The sender is not a subscriber of this e-forum."
        [notice] = queued("hold_notice")  # the moderators decide
        assert notice.recipient == "megan@example.org"
        approve_to = parsed(notice)["Reply-To"].addresses[0].addr_spec
        reject = message(sender="megan@example.org", to=approve_to, subject="Re: Held", body="reject spam")
        [(code, _)] = lmtp_send(server, reject, [approve_to], mail_from="megan@example.org")
    assert code == 250 and posts()[0].status == "rejected"
    assert [r.recipient for r in queued()] == ["megan@example.org"]  # nothing to the stranger, ever


def test_non_member_post_is_discarded_when_the_forum_says_so(app):
    event = make_forum()
    event.non_member_posts = "discard"
    subscribe(event, "gone@example.org", "Gone", status="unsubscribed")
    with clock.frozen(OPEN_AT), lmtp_server(app) as server:
        [(code, text)] = lmtp_send(server, message(sender="stranger@example.net"), [LIST])
        assert code == 250 and b"Discarded" in text
        [(code, _)] = lmtp_send(server, message(sender="gone@example.org"), [LIST], mail_from="gone@example.org")
        assert code == 250
    assert posts() == []
    [refusal] = queued()  # only the participant we know hears why
    assert refusal.kind == "refusal" and refusal.recipient == "gone@example.org"
    assert "gone@example.org is not a subscriber" in text_of(refusal)


def test_a_non_member_post_approved_by_a_moderator_goes_to_the_list(app, client):
    event = make_forum()
    subscribe(event, "bob@example.org", "Bob")
    with clock.frozen(OPEN_AT), lmtp_server(app) as server:
        lmtp_send(server, message(sender="guest@example.net", name="A Guest"), [LIST])
        approve_to = parsed(queued("hold_notice")[0])["Reply-To"].addresses[0].addr_spec
        ok = message(sender="megan@example.org", to=approve_to, subject="Re: Held", body="ok")
        lmtp_send(server, ok, [approve_to], mail_from="megan@example.org")
    [post] = posts()
    assert post.status == "accepted" and post.author_name == "A Guest"
    assert [r.recipient for r in queued("post")] == ["bob@example.org"]
    assert event.non_member_posts == "hold"


def test_unknown_list_is_refused_at_rcpt(app):
    make_forum()
    with clock.frozen(OPEN_AT), lmtp_server(app) as server:
        [(code, text)] = lmtp_send(server, message(to=f"nosuch@{DOMAIN}"), [f"nosuch@{DOMAIN}"])
    assert code == 550 and b"No e-forum" in text


def test_post_before_opening_gets_the_opening_time_in_the_senders_zone(app):
    event = make_forum()
    subscribe(event, "kim@example.org", "Kim", timezone="America/Los_Angeles")
    code = deliver(app, message(sender="kim@example.org", name="Kim"), at=BEFORE)
    assert code == 250
    assert posts() == []
    [reply] = queued("not_open")
    assert reply.recipient == "kim@example.org"
    text = text_of(reply)
    assert "Tuesday, 9/10/2030 at 7:00 AM (Pacific)" in text  # 10 AM Eastern, in Kim's zone
    assert parsed(reply)["Auto-Submitted"] == "auto-replied"


def test_auto_reply_is_dropped_silently(app):
    event = make_forum()
    subscribe(event, "ann@example.org", "Ann", posts_approved=1)
    subscribe(event, "bob@example.org", "Bob")
    raw = message(subject="Out of office", headers={"Auto-Submitted": "auto-replied"})
    code = deliver(app, raw)
    assert code == 250
    assert posts() == [] and queued() == []


def test_our_own_list_mail_coming_back_is_dropped(app):
    event = make_forum()
    subscribe(event, "ann@example.org", "Ann", posts_approved=1)
    raw = message(headers={"X-Loop": LIST})
    code = deliver(app, raw)
    assert code == 250 and posts() == [] and queued() == []


def test_script_in_html_is_not_archived(app, client):
    event = make_forum()
    subscribe(event, "ann@example.org", "Ann", posts_approved=1)
    html = '<p>Hello <b>all</b></p><script>alert("x")</script><img src="x" onerror="alert(1)">'
    with clock.frozen(OPEN_AT), lmtp_server(app) as server:
        lmtp_send(server, message(body="Hello all", html=html), [LIST])
    [post] = posts()
    assert "<script" not in post.body_html and "alert" not in post.body_html
    assert "onerror" not in post.body_html and "<b>all</b>" in post.body_html
    page = client.get(f"/events/mentoring/archive/posts/{post.id}")
    assert b'alert("x")' not in page.data and b"onerror" not in page.data


def test_reply_threads_under_its_parent(app, client):
    event = make_forum()
    subscribe(event, "ann@example.org", "Ann", posts_approved=1)
    subscribe(event, "bob@example.org", "Bob", posts_approved=1)
    first = message(msgid="<root@example.org>", subject="Mentoring at small libraries")
    reply = message(
        sender="bob@example.org",
        name="Bob",
        subject="Re: [Mentoring] Mentoring at small libraries",
        body="I mentored two!\n\n> Who has mentored a new cataloger?",
        msgid="<reply@example.org>",
        headers={"In-Reply-To": "<root@example.org>", "References": "<root@example.org>"},
    )
    other = message(subject="A different topic", msgid="<other@example.org>")
    with clock.frozen(OPEN_AT), lmtp_server(app) as server:
        for raw in (first, reply, other):
            lmtp_send(server, raw, [LIST])
    root, child, unrelated = posts()
    assert child.parent_id == root.id and child.thread_id == root.thread_id
    assert unrelated.thread_id != root.thread_id
    assert [t.post_count for t in threads()] == [2, 1]
    # the relayed reply keeps its threading headers for subscribers' mail clients
    relayed = parsed(
        next(r for r in queued("post") if r.recipient == "ann@example.org" and b"reply@" in r.full_message)
    )
    assert relayed["In-Reply-To"] == "<root@example.org>"
    page = client.get(f"/events/mentoring/archive/threads/{root.thread_id}").get_data(as_text=True)
    assert page.index("Who has mentored") < page.index("I mentored two!")
    assert '<details class="quoted"><summary>Quoted text</summary><blockquote>' in page


def test_held_post_approved_by_reply_goes_out_once(app):
    event = make_forum(moderation="new")
    subscribe(event, "newbie@example.org", "Newbie")
    subscribe(event, "bob@example.org", "Bob")
    add_panelist(event, "jay@example.org", "Jay L. Colbert", role="moderator")
    with clock.frozen(OPEN_AT), lmtp_server(app) as server:
        [(code, text)] = lmtp_send(server, message(sender="newbie@example.org", name="Newbie"), [LIST])
        assert code == 250 and b"Held" in text
        [post] = posts()
        assert post.status == "held" and queued("post") == []
        [notice] = queued("hold_notice")
        assert notice.recipient == "jay@example.org"
        approve_to = parsed(notice)["Reply-To"].addresses[0].addr_spec
        assert re.fullmatch(rf"mentoring\+approve-{post.id}-[0-9a-f]{{24}}@{DOMAIN}", approve_to)
        # a vacation auto-reply to the notice must not approve anything
        auto = message(
            sender="jay@example.org",
            to=approve_to,
            subject="Out of office",
            headers={"Auto-Submitted": "auto-replied"},
        )
        lmtp_send(server, auto, [approve_to], mail_from="jay@example.org")
        assert posts()[0].status == "held"
        for attempt in range(2):  # approve twice: still sent once
            ok = message(
                sender="jay@example.org",
                name="Jay",
                to=approve_to,
                subject="Re: Held for moderation",
                body=f"ok {attempt}\n\n> the post",
            )
            [(code, _)] = lmtp_send(server, ok, [approve_to], mail_from="jay@example.org")
            assert code == 250
    [post] = posts()
    assert post.status == "accepted" and post.moderated_by == "jay@example.org"
    assert sorted(r.recipient for r in queued("post")) == ["bob@example.org", "newbie@example.org"]
    assert [r.recipient for r in queued("held")] == ["newbie@example.org"]
    assert queued("approved") == []  # an each-mode author gets the post itself, nothing more


def test_held_member_is_told_once_and_dropped_mail_gets_nothing(app):
    event = make_forum(moderation="all")
    subscribe(event, "newbie@example.org", "Newbie")
    raw = message(sender="newbie@example.org", name="Newbie", subject="My idea", msgid="<idea@example.org>")
    vacation = message(
        sender="newbie@example.org", subject="Away", headers={"Auto-Submitted": "auto-replied"}
    )
    with clock.frozen(OPEN_AT), lmtp_server(app) as server:
        for data in (raw, raw, vacation):  # an MTA redelivery and an auto-reply
            [(code, _)] = lmtp_send(server, data, [LIST], mail_from="newbie@example.org")
            assert code == 250
    [post] = posts()
    assert post.status == "held"
    [note] = queued("held")
    mail = parsed(note)
    assert note.recipient == "newbie@example.org" and mail["Auto-Submitted"] == "auto-replied"
    assert mail["Subject"] == "Your post to Mentoring in Technical Services is waiting for a moderator"
    text = text_of(note)
    assert '"My idea"' in text and "Every post to this e-forum is read by a moderator first." in text
    assert queued("post") == []


def test_approve_address_from_a_non_moderator_is_refused(app):
    event = make_forum(moderation="all")
    subscribe(event, "ann@example.org", "Ann")
    with clock.frozen(OPEN_AT), lmtp_server(app) as server:
        lmtp_send(server, message(), [LIST])
        notice = queued("hold_notice")[0]
        approve_to = parsed(notice)["Reply-To"].addresses[0].addr_spec
        [(code, text)] = lmtp_send(server, message(to=approve_to, body="approve"), [approve_to])
    assert code == 550 and b"not a moderator" in text
    assert posts()[0].status == "held"


def test_forged_approve_address_is_unknown(app):
    event = make_forum(moderation="all")
    subscribe(event, "ann@example.org", "Ann")
    with clock.frozen(OPEN_AT), lmtp_server(app) as server:
        lmtp_send(server, message(), [LIST])
        forged = f"mentoring+approve-1-{'0' * 24}@{DOMAIN}"
        [(code, _)] = lmtp_send(server, message(to=forged), [forged], mail_from="megan@example.org")
    assert code == 550 and posts()[0].status == "held"


def test_one_reply_per_recipient(app):
    event = make_forum()
    other = make_forum(slug="cataloging")
    subscribe(event, "ann@example.org", "Ann", posts_approved=1)
    raw = message(to=f"{LIST}, cataloging@{DOMAIN}")
    with clock.frozen(OPEN_AT), lmtp_server(app) as server:
        replies = lmtp_send(server, raw, [LIST, f"cataloging@{DOMAIN}"])
    assert [code for code, _ in replies] == [250, 250]
    # One message, two forums: a post in each, decided separately (Ann is a member of one).
    got = {p.event_id: p.status for p in posts()}
    assert got == {event.id: "accepted", other.id: "held"}
    assert [r.recipient for r in queued("post")] == ["ann@example.org"]


def test_panelist_post_is_marked(app, client):
    event = make_forum(moderation="all")
    subscribe(event, "bob@example.org", "Bob")
    add_panelist(event, "jeannette@example.org", "Jeannette Ho")
    with clock.frozen(OPEN_AT), lmtp_server(app) as server:
        lmtp_send(server, message(sender="jeannette@example.org", name="J. Ho"), [LIST])
    [post] = posts()
    assert post.status == "accepted" and post.is_panelist  # panelists are never held
    [row] = queued("post")
    assert "[Panelist]" in str(parsed(row)["From"]) and "[Panelist] Jeannette Ho" in text_of(row)
    page = client.get(f"/events/mentoring/archive/threads/{post.thread_id}").get_data(as_text=True)
    assert 'class="badge badge-panelist"' in page


def test_lmtp_redelivery_is_not_posted_twice(app):
    event = make_forum()
    subscribe(event, "ann@example.org", "Ann", posts_approved=1)
    subscribe(event, "bob@example.org", "Bob")
    raw = message(msgid="<same@example.org>")
    with clock.frozen(OPEN_AT), lmtp_server(app) as server:
        lmtp_send(server, raw, [LIST])
        [(code, _)] = lmtp_send(server, raw, [LIST])
    assert code == 250 and len(posts()) == 1 and len(queued("post")) == 2
