"""The fan-out writer's shortcuts give the copies the slow way's bytes and readers.

A post's copies are written from plain rows (`audience.addressees`), not ORM objects, and
link values that need no escaping go into the encoded body along cuts kept per value
length. Each shortcut must leave the mail a subscriber gets exactly as it was: the same
people get it, and every byte is what the generic encoder writes.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import Flask
from sqlalchemy import event as sa_event
from sqlalchemy import select

from forum.core.extensions import db
from forum.discussion import service as discussion
from forum.discussion import thread_choices
from forum.mail.bulk import BodyTemplate, TextPart
from forum.mail.list_copies import interleave
from forum.mail.outbox import enqueue
from forum.mail.sender import send_due
from forum.models import OutboundMessage, Participant, Post, Subscription
from tests.support.scheduling import add_post, eastern, make_forum, subscribe
from tests.support.smtp import make_subscribers, running_smtp_server
from tests.test_mail_sender import note

PATTERN = BodyTemplate(" ", None, "n0nce").pattern


def _mark(index: int) -> str:
    return BodyTemplate.placeholder("n0nce", index)


@contextmanager
def _loads() -> Iterator[list[str]]:
    """Names of the ORM objects loaded while the block runs."""
    seen: list[str] = []

    def record(target: object, _context: object) -> None:
        seen.append(type(target).__name__)

    for model in (Subscription, Participant):
        sa_event.listen(model, "load", record)
    try:
        yield seen
    finally:
        for model in (Subscription, Participant):
            sa_event.remove(model, "load", record)


def test_a_post_step_mails_the_right_readers_without_loading_them_as_objects(app: Flask) -> None:
    event = make_forum()
    each = [subscribe(event, f"reader{n}@example.org", mode="each") for n in range(5)]
    subscribe(event, "digest@example.org", mode="digest")
    subscribe(event, "gone@example.org", mode="each", status="unsubscribed")
    post = add_post(event, eastern(2019, 9, 10, 10, 5), "Mentoring at small libraries")
    muted, follower = each[1], subscribe(event, "follower@example.org", mode="digest")
    thread_choices.choose(muted, post.thread_id, "mute")
    thread_choices.choose(follower, post.thread_id, "follow")
    db.session.commit()
    first, post_id = each[0].id, post.id
    db.session.expunge_all()  # nothing of the readers left in the session to reuse
    post = db.session.get(Post, post_id)

    with _loads() as seen:
        count, after = discussion.fan_out_chunk(post, after_id=first, limit=3)
    db.session.commit()

    assert seen == []  # plain rows: no Subscription/Participant built per reader
    # After the first reader, 3 at most, in id order: the muted and digest readers skipped,
    # the follower of the thread included (on the next step), the unsubscribed never.
    recipients = db.session.scalars(select(OutboundMessage.recipient).order_by(OutboundMessage.id)).all()
    assert (count, recipients) == (3, ["reader2@example.org", "reader3@example.org", "reader4@example.org"])
    count, after = discussion.fan_out_chunk(post, after_id=after or 0, limit=3)
    db.session.commit()
    assert (count, after) == (1, None)
    assert db.session.scalars(select(OutboundMessage.recipient).order_by(OutboundMessage.id)).all()[-1] == (
        "follower@example.org"
    )


def _part(lines: list[str], subtype: str = "plain") -> TextPart:
    return TextPart("\n".join(lines) + "\n", subtype, PATTERN)


# Lines whose fixed bytes put "=" escapes, non-ASCII and closing blanks where the 76-column
# soft breaks fall, for every length a value may have around them.
LINES = [
    "Leave this e-forum: " + _mark(0),
    "=" * 70 + _mark(0) + "é" + _mark(1) + " ",
    "x" * 73 + _mark(1) + "=\t",
    _mark(0) + "/" + _mark(1) + "/mute",
    "<a href=\"" + _mark(1) + "\">d&eacute;livery</a> " + "y" * 60,
]


@pytest.mark.parametrize("subtype", ["plain", "html"])
@pytest.mark.parametrize("body", ["long", "short", "accented"])
def test_plain_values_encode_as_the_generic_encoder_does_for_every_length(subtype: str, body: str) -> None:
    head = {"long": ["z" * 300], "short": ["Short lines."], "accented": ["Ça dépend."]}[body]
    lines = head + (LINES if body == "long" else [_mark(0), "Pref: " + _mark(1)])
    part = _part(lines, subtype)
    fast_cut = _part(lines, subtype)  # the shortcut's caches, filled across all the lengths below
    for a, b in itertools.product(range(0, 90, 7), range(0, 90, 11)):
        values = ["https://f.example/u/" + "A" * a, "tok.en-_" + "9" * b]
        plain = [value.encode() for value in values]
        assert fast_cut.encode_pieces(values, plain) == part.encode_pieces(values), (a, b)


def test_copies_after_the_first_of_a_variant_are_the_whole_render_byte_for_byte() -> None:
    text = "\n".join(["z" * 200, *LINES, "Short: " + _mark(1)]) + "\n"
    html = "<p>" + "w" * 120 + "</p>\n<a href=\"" + _mark(0) + "\">x</a> " + _mark(1) + "\n"
    body = BodyTemplate(text.replace("n0nce", "n1nce"), html.replace("n0nce", "n1nce"), "n1nce")
    for n in range(40):  # the first copy builds the shared pieces, the rest only their own lines
        values = [f"https://f.example/u/{'k' * (n % 7)}{n}", f"t.{n * 7919}"]
        _, statics, owns = body.render_shared(values)
        head, data = body.render(values)
        assert interleave(statics, owns) == head + b"\r\n" + data, n


@pytest.fixture
def smtp_server():  # type: ignore[no-untyped-def]
    with running_smtp_server() as server:
        yield server


def test_a_send_run_claims_and_commits_on_one_connection_and_still_marks_every_copy(mail_app, smtp_server) -> None:  # type: ignore[no-untyped-def]
    """The database thread keeps its connection for the run: no pool checkout (and pre-ping,
    and rollback on return) per claim or group commit, and every mark still commits."""
    event, subs = make_subscribers(24)
    for sub in subs:
        enqueue(note(sub.participant.email), kind="test", key=f"test:{sub.id}", subscription_id=sub.id)
    db.session.commit()
    checkouts: list[str] = []

    def on_checkout(*_args: object) -> None:
        checkouts.append(threading.current_thread().name)

    sa_event.listen(db.engine, "checkout", on_checkout)
    try:
        report = send_due(batch_size=5)  # five claims and as many group commits at least
    finally:
        sa_event.remove(db.engine, "checkout", on_checkout)
    assert report.sent == 24 and len(smtp_server.received) == 24
    assert sum(name.startswith("outbox-db") for name in checkouts) == 1
    db.session.expire_all()
    statuses = db.session.scalars(select(OutboundMessage.status)).all()
    assert statuses == ["sent"] * 24
