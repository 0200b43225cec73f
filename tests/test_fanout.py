"""A change that mails a whole list records one fan-out; the scheduler side writes the copies.

The request (or LMTP delivery) commits the change and one `fan_out` row; the outbox job
writes one copy per subscriber. Killing the process between the two steps, or in the
middle of the second, loses nobody and doubles nobody.
"""

from __future__ import annotations

import random
import signal
import time
from collections import Counter
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select

from forum.common import fanout
from forum.common.fanout import expand_pending, pending_count
from forum.core import clock
from forum.core.extensions import db
from forum.discussion import service as discussion
from forum.events import service as events
from forum.mail.sender import send_due
from forum.models import Event, FanOut, OutboundBody, OutboundMessage, Post, Session, Subscription
from forum.scheduling.jobs import run_job
from tests.support.api import officer_token
from tests.support.child import spawn, wait_for_line
from tests.support.discussion import OPEN_AT, lmtp_send, lmtp_server, make_forum, message, queued, subscribe
from tests.support.fanouts import write_fan_outs
from tests.support.scheduling import add_post
from tests.support.smtp import make_subscribers, running_smtp_server

LIST_ADDRESS = "mentoring@lists.forum.test"  # make_subscribers' list (slug "mentoring")


def _held_post(event: Event) -> Post:
    """Ann's question, waiting for a moderator to accept it."""
    subject, question = "Mentoring at small libraries", "Who has mentored a new cataloger?"
    return add_post(event, clock.now(), subject, question, author="Ann Reader", status="held")


def _accepted_post(monkeypatch, *, subscribers: int, chunk: int) -> list[Subscription]:  # type: ignore[no-untyped-def]
    """Ann's question accepted on a list of `subscribers`, its fan-out (not yet written) to be
    written `chunk` copies at a time; returns the subscriptions, oldest first."""
    monkeypatch.setattr(fanout, "POST_CHUNK", chunk)
    event, subs = make_subscribers(subscribers)
    discussion.accept(_held_post(event), "moderator@example.org")
    db.session.commit()
    return subs


def _copies(kind: str) -> Counter[str]:
    rows = db.session.execute(select(OutboundMessage.recipient).where(OutboundMessage.kind == kind)).scalars()
    return Counter(rows)


def test_accepting_a_post_commits_one_record_and_the_outbox_job_writes_the_copies(app: Flask) -> None:
    with clock.frozen(OPEN_AT):
        event = make_forum()
        for n in range(3):
            subscribe(event, f"p{n}@example.org")
        subscribe(event, "digest@example.org", mode="digest")
        post = _held_post(event)
        assert discussion.accept(post, "moderator@example.org")
        db.session.commit()
        # The change is committed with one record and no copies: nothing proportional to the list
        # (the author's own "approved" note is one message, written at once).
        assert not _copies("post")
        assert pending_count() == 1
        run_job("outbox")  # writes the copies, then sends them (dev mailbox)
        rows = db.session.scalars(select(OutboundMessage).where(OutboundMessage.kind == "post")).all()
        assert sorted(r.recipient for r in rows) == ["p0@example.org", "p1@example.org", "p2@example.org"]
        assert {r.status for r in rows} == {"sent"}
        fan = db.session.scalars(select(FanOut)).one()
        assert fan.done_at is not None and fan.recipients == 3
        assert expand_pending().fan_outs == 0  # done: a rerun writes nothing


def test_two_quick_session_changes_send_one_update_with_the_newest_time(app: Flask) -> None:
    with clock.frozen(OPEN_AT):
        event = make_forum()
        for n in range(2):
            subscribe(event, f"p{n}@example.org")
        session = db.session.scalars(select(Session).where(Session.event_id == event.id)).first()
        assert session is not None
        start, end = session.start_wall, session.end_wall
        events.set_session_times(session, start.replace(hour=11), end, session.timezone)
        db.session.commit()
        events.set_session_times(session, start.replace(hour=12), end, session.timezone)
        db.session.commit()
        assert pending_count() == 2
        rows = queued("calendar")
        assert sorted(r.recipient for r in rows) == ["p0@example.org", "p1@example.org"]
        assert all(f"calendar-update:{session.id}:{session.sequence}:" in r.idempotency_key for r in rows)
        notes = sorted(f.note for f in db.session.scalars(select(FanOut)))
        assert notes[1].startswith("superseded")


def test_cancelling_the_event_cancels_each_session_once_for_everyone(app: Flask) -> None:
    with clock.frozen(OPEN_AT):
        event = make_forum()
        for n in range(3):
            subscribe(event, f"p{n}@example.org")
        events.cancel_event(event)
        db.session.commit()
        assert db.session.scalar(select(func.count(OutboundMessage.id))) == 0
        rows = queued("calendar")
        assert Counter(r.recipient for r in rows) == {f"p{n}@example.org": 2 for n in range(3)}


def _kill(proc, after: str, delay: float) -> None:  # type: ignore[no-untyped-def]
    wait_for_line(proc, after)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)


def test_a_process_killed_between_accepting_and_writing_the_copies_misses_and_doubles_nobody(
    app: Flask,
) -> None:
    event, subs = make_subscribers(3000)
    post = _held_post(event)
    members = {s.participant.email for s in subs}
    # 1. Killed right after the post and its record were committed, before any copy.
    _kill(spawn(app, "accept", str(post.id)), "accepted", 0)
    db.session.expire_all()
    assert db.session.get(Post, post.id).status == "accepted"  # type: ignore[union-attr]
    assert pending_count() == 1 and not _copies("post")
    # 2. Killed in the middle of writing the copies (a run takes seconds for 3,000).
    _kill(spawn(app, "expand"), "expanding", random.uniform(0.2, 0.6))
    db.session.expire_all()
    assert pending_count() == 1, "the kill was meant to land before the copies were written"
    # Steps of 1,000 commit one by one: the kill may land after one or two of them.
    written_before = sum(_copies("post").values())
    assert written_before < 3000
    # 3. Restarted: the rest is written, and every member has exactly one copy.
    restart = spawn(app, "expand")
    out, err = restart.communicate(timeout=300)
    assert restart.returncode == 0, err
    assert f"expanded {3000 - written_before}" in out
    assert _copies("post") == Counter({email: 1 for email in members})
    assert pending_count() == 0


def test_an_lmtp_delivery_to_a_big_list_answers_without_writing_the_copies(app: Flask) -> None:
    event, subs = make_subscribers(2000)
    event.kind, event.moderation = "eforum", "none"
    sender = subs[0].participant.email
    db.session.commit()
    with clock.frozen(OPEN_AT), lmtp_server(app) as server:
        started = time.perf_counter()
        [(code, text)] = lmtp_send(
            server, message(sender=sender, to=LIST_ADDRESS), [LIST_ADDRESS], mail_from=sender
        )
        answered = time.perf_counter() - started
    assert code == 250, text
    assert not _copies("post") and pending_count() == 1  # the reply did not wait for 2,000 rows
    print(f"\nLMTP reply for a 2,000-subscriber list in {answered:.3f} s")
    write_fan_outs()
    assert len(_copies("post")) == 2000


def test_a_big_list_is_written_in_steps_that_resume_without_repeating(app: Flask, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    subs = _accepted_post(monkeypatch, subscribers=2000, chunk=700)
    report = expand_pending()
    assert (report.fan_outs, report.messages) == (1, 2000)
    fan = db.session.scalars(select(FanOut)).one()
    assert fan.recipients == 2000 and fan.params["after"] == subs[1399].id
    assert db.session.scalar(select(func.count(OutboundBody.id))) == 3  # a body per step
    # As if the process died after writing the last step's rows but before recording it:
    fan.done_at, fan.params = None, {"after": subs[699].id}
    db.session.commit()
    assert expand_pending().messages == 0  # the steps run again and add nobody twice
    assert _copies("post") == Counter({s.participant.email: 1 for s in subs})


def test_a_big_cancellation_is_written_in_steps_that_resume_without_repeating(app: Flask, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(fanout, "CALENDAR_CHUNK", 30)
    event, subs = make_subscribers(80)
    session = db.session.scalars(select(Session).where(Session.event_id == event.id)).one()
    with clock.frozen(session.starts_at - timedelta(days=2)):
        events.cancel_session(session, reason="The room is closed for repairs.")
        db.session.commit()
        assert not _copies("calendar") and pending_count() == 1  # the request wrote one record
        report = expand_pending()
        assert (report.fan_outs, report.messages) == (1, 80)
        fan = db.session.scalars(select(FanOut)).one()
        assert fan.recipients == 80 and fan.params["after"] == subs[59].id  # three steps
        # One shared text body per step (everyone here reads New York time).
        assert db.session.scalar(select(func.count(OutboundBody.id))) == 3
        # As if the process died after writing the last step's rows but before recording it:
        fan.done_at, fan.params = None, {**fan.params, "after": subs[29].id}
        db.session.commit()
        assert expand_pending().messages == 0  # the steps run again and add nobody twice
    assert _copies("calendar") == Counter({s.participant.email: 1 for s in subs})


def test_cancelling_a_10000_registrant_event_through_the_api_answers_at_once(app: Flask) -> None:
    event, _ = make_subscribers(10_000)
    headers = officer_token()
    started = time.perf_counter()
    response = app.test_client().post(f"/api/v1/events/{event.slug}/cancel", headers=headers)
    answered = time.perf_counter() - started
    assert response.status_code == 200, response.get_data(as_text=True)
    db.session.expire_all()
    assert response.get_json()["status"] == "cancelled"
    assert db.session.scalar(select(func.count(OutboundMessage.id))) == 0  # no copy in the request
    fan = db.session.scalars(select(FanOut)).one()  # one record for the one session
    assert fan.kind == "calendar-cancel" and fan.done_at is None
    print(f"\nAPI cancel of a 10,000-registrant event answered in {answered:.3f} s")


def test_the_first_copies_go_out_while_the_rest_are_still_being_written(app: Flask, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    subs = _accepted_post(monkeypatch, subscribers=200, chunk=50)
    write_step = fanout.EXPANDERS["post"]
    delivered_before_last_step: list[int] = []
    with running_smtp_server(pipelining=True) as server:
        app.config["MAIL_URL"] = server.url

        def slow_last_step(fan: FanOut) -> fanout.Step:
            """The last step waits (up to 10 s) for the relay to have something: it only
            can if the steps written so far are sent while this one is written."""
            if int(fan.params.get("after", 0)) == subs[149].id:
                deadline = time.monotonic() + 10
                while not server.received and time.monotonic() < deadline:
                    time.sleep(0.01)
                delivered_before_last_step.append(len(server.received))
            return write_step(fan)

        monkeypatch.setitem(fanout.EXPANDERS, "post", slow_last_step)
        report = send_due()
        received = server.received
    assert delivered_before_last_step and delivered_before_last_step[0] > 0
    assert report.sent == 201  # every member's copy and the author's "approved" note, in one run
    counts = Counter(r.rcpt_tos[0] for r in received)
    assert all(counts[s.participant.email] == 1 for s in subs)


class _BrokenRelayClient:
    """A transport whose first send fails with an unexpected error (a bug, not a 4xx/5xx)."""

    def send(self, envelope) -> None:  # type: ignore[no-untyped-def]
        raise RuntimeError("relay client broke")

    def send_many(self, envelopes):  # type: ignore[no-untyped-def]
        for _ in envelopes:
            raise RuntimeError("relay client broke")
        yield from ()

    def close(self) -> None:
        pass


def test_when_sending_and_writing_both_fail_the_sending_error_is_raised_and_the_writing_one_logged(
    app: Flask, monkeypatch, caplog
) -> None:  # type: ignore[no-untyped-def]
    from forum.common.signals import sending_due

    _accepted_post(monkeypatch, subscribers=3, chunk=50)
    expand_pending()  # the copies are due: the sender will pull one at once

    def writer_breaks(_sender: object, **_: object) -> None:
        raise RuntimeError("writer broke")

    sending_due.connect(writer_breaks, weak=False)
    try:
        with caplog.at_level("ERROR", logger="forum.mail.lanes"), pytest.raises(RuntimeError) as raised:
            send_due(transport=_BrokenRelayClient())  # type: ignore[arg-type]
        assert str(raised.value) == "relay client broke"  # what stopped the run, not what the writer hit
        assert any(r.exc_info and str(r.exc_info[1]) == "writer broke" for r in caplog.records)
        # With the relay working, the writer's own error is raised, as before.
        with running_smtp_server() as server, pytest.raises(RuntimeError) as raised:
            app.config["MAIL_URL"] = server.url
            send_due()
        assert str(raised.value) == "writer broke"
    finally:
        sending_due.disconnect(writer_breaks)
