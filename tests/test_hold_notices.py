"""Held posts and who hears of them, after the attack run: 100 mails from a non-member made
200 moderator notices, and 20 mails with a forged From of a known participant sent that
participant 20 "your post is waiting" mails. Now the moderators get one notice each per
interval listing what is held, and an author hears only when our MTA authenticated the From."""

from __future__ import annotations

from datetime import timedelta

from forum.core import clock
from forum.discussion import notices
from forum.discussion import service as discussion
from forum.mail import authres
from forum.scheduling.scheduler import run_job
from tests.support.discussion import (
    DOMAIN,
    LIST,
    OPEN_AT,
    add_panelist,
    make_forum,
    message,
    posts,
    queued,
    subscribe,
    text_of,
)


def test_a_flood_of_held_posts_makes_one_notice_per_moderator_per_interval(app) -> None:  # type: ignore[no-untyped-def]
    event = make_forum()
    add_panelist(event, "jay@example.org", "Jay L. Colbert", role="moderator")
    add_panelist(event, "kim@example.org", "Kim Lee", role="moderator")
    with clock.frozen(OPEN_AT):
        for i in range(100):
            outcome = discussion.receive(message(sender="stranger@example.net", subject=f"Buy now {i}"), LIST)
            assert outcome.status == "held"
        report = run_job("hold-notices")
        notices_sent = queued("hold_notice")
    assert sorted(n.recipient for n in notices_sent) == ["jay@example.org", "kim@example.org"]
    assert report.messages == 2
    text = text_of(notices_sent[0])
    assert "100 posts to Mentoring in Technical Services are waiting" in text
    assert "Buy now 0" in text and "Buy now 19" in text and "80 more" in text
    assert queued("held") == []  # a stranger is never told

    # more within the interval: nothing now, one notice each once it has passed, of the new ones only
    later = OPEN_AT + timedelta(minutes=3)
    with clock.frozen(later):
        discussion.receive(message(sender="stranger@example.net", subject="Buy again"), LIST)
        assert run_job("hold-notices").messages == 0
    with clock.frozen(later + notices.HOLD_NOTICE_INTERVAL):
        assert run_job("hold-notices").messages == 2
        assert run_job("hold-notices").messages == 0  # a rerun sends nothing twice
    last = queued("hold_notice")[-1]
    assert "Buy again" in text_of(last) and "Buy now" not in text_of(last)
    assert len(queued("hold_notice")) == 4 and len(posts()) == 101


def test_a_forged_from_of_a_member_never_gets_your_post_is_waiting(app) -> None:  # type: ignore[no-untyped-def]
    event = make_forum(moderation="all")
    subscribe(event, "ann@example.org", "Ann Reader")
    other_server = "Authentication-Results: mx.elsewhere.example; dmarc=pass header.from=example.org"
    forgeries = [
        message(subject=f"Forged {i}", authenticated=False) for i in range(20)
    ] + [
        message(subject="Forged A-R", authenticated=False, headers=dict([other_server.split(": ", 1)])),
        message(
            subject="Signed by the forger",
            authenticated=False,
            headers={"Authentication-Results": f"{DOMAIN}; dkim=pass header.d=forger.example; spf=fail"},
        ),
    ]
    with clock.frozen(OPEN_AT):
        for raw in forgeries:
            assert discussion.receive(raw, LIST).status == "held"
        assert queued("held") == []
        # the genuine Ann, whose mail our MTA authenticated, is told once
        discussion.receive(message(subject="Really me"), LIST)
        assert [m.recipient for m in queued("held")] == ["ann@example.org"]
        assert "Really me" in text_of(queued("held")[0])


def test_authentication_results_are_read_as_rfc_8601_writes_them() -> None:
    def raw(*values: str) -> bytes:
        return b"".join(f"Authentication-Results: {v}\r\n".encode() for v in values) + b"From: a@b\r\n\r\nhi"

    ours = "lists.forum.test"
    assert authres.from_authenticated(
        raw(f"{ours} (our milter) 1; dkim=pass (2048-bit key) header.d=mail.example.org header.i=@mail.example.org"),
        "ann@example.org",
        ours,
    )
    assert authres.from_authenticated(raw(f"{ours}; spf=pass smtp.mailfrom=ann@example.org"), "ann@example.org", ours)
    assert authres.from_authenticated(
        raw(f"{ours}; none", f"{ours}; dmarc=pass (p=none) header.from=example.org"), "ann@example.org", ours
    )
    for value in (
        f"{ours}; dmarc=fail header.from=example.org",
        f"{ours}; dkim=pass header.d=badexample.org",
        f"{ours}; dmarc=pass header.from=example.org.evil.example",
        "other.example; dmarc=pass header.from=example.org",
        f"{ours}; none",
        "garbage ; ; =",
    ):
        assert not authres.from_authenticated(raw(value), "ann@example.org", ours), value
    assert not authres.from_authenticated(raw(f"{ours}; dmarc=pass header.from=example.org"), "ann@example.org", "")
