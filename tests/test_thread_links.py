"""Thread controls from mail with no login: the signed "mute this thread" and "follow only this
thread" links in list mail, followed the way a reader would (GET shows a button, POST acts),
and what the reader's mail does afterwards."""

from __future__ import annotations

import re
from datetime import timedelta

from flask.testing import FlaskClient

from forum.core import clock
from forum.core.extensions import db
from forum.discussion import service as discussion
from forum.discussion import thread_choices
from forum.models import Post, ThreadChoice
from forum.scheduling.jobs import run_job
from tests.conftest import csrf_from
from tests.support.scheduling import (
    eastern,
    html_of,
    make_forum,
    outbox,
    parsed,
    subject_of,
    subscribe,
    text_of,
)

DAY_ONE = eastern(2019, 9, 10, 11)


def _post(sub, subject: str, parent: Post | None = None) -> Post:  # type: ignore[no-untyped-def]
    with clock.frozen(clock.now()):
        outcome = discussion.post_from_web(sub, subject, f"About {subject.lower()}.", parent)
    db.session.commit()
    assert outcome.status == "accepted", outcome.reason
    assert outcome.post is not None
    return outcome.post


def _link(row, label: str) -> str:  # type: ignore[no-untyped-def]
    match = re.search(rf"{label}: (\S+)", text_of(row))
    assert match, text_of(row)
    return match.group(1).removeprefix("http://forum.test")


def _forum():  # type: ignore[no-untyped-def]
    event = make_forum(days=2)
    event.moderation = "none"
    db.session.commit()
    poster = subscribe(event, "poster@example.org", mode="none")
    alice = subscribe(event, "alice@example.org", mode="each")
    carol = subscribe(event, "carol@example.org", mode="each")
    bob = subscribe(event, "bob@example.org", mode="digest")
    return event, poster, alice, carol, bob


def test_mute_through_the_mailed_link_stops_the_thread_and_only_it(app, client: FlaskClient):
    with clock.frozen(DAY_ONE):
        _event, poster, alice, _carol, _bob = _forum()
        first = _post(poster, "Mentoring programs")
        other = _post(poster, "Reading lists")
        mail = outbox("post", "alice@example.org")[0]
        url = _link(mail, "Mute this thread")
        assert url.endswith(f"/{first.thread_id}/mute")
        assert f"/{first.thread_id}/mute" in html_of(mail)
        msg = parsed(mail)  # the list headers are still the list's own
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert "/unsubscribe/" in msg["List-Unsubscribe"] and "mute" not in msg["List-Unsubscribe"]
        assert msg["List-Id"].endswith("<mentoring.lists.forum.test>")

        page = client.get(url)
        assert page.status_code == 200 and b"Mute this thread?" in page.data
        assert page.headers["Cache-Control"] == "no-store"
        assert db.session.query(ThreadChoice).count() == 0  # a mail scanner's GET mutes nothing
        done = client.post(url, data={"csrf_token": csrf_from(page.data)})
        assert done.status_code == 200 and b"This thread is muted" in done.data

        _post(poster, "Re: Mentoring programs", parent=first)
        _post(poster, "Re: Reading lists", parent=other)
    alice_subjects = [subject_of(r) for r in outbox("post", "alice@example.org")]
    assert alice_subjects == ["Mentoring programs", "Reading lists", "Re: Reading lists"]
    assert len(outbox("post", "carol@example.org")) == 4  # carol muted nothing

    # undo from the same page: the thread comes back
    with clock.frozen(DAY_ONE + timedelta(minutes=5)):
        back = client.post(url.replace("/mute", "/clear"), data={"csrf_token": csrf_from(done.data)})
        assert back.status_code == 200 and b"back to your usual delivery" in back.data
        _post(poster, "Re: Mentoring programs", parent=first)
    assert subject_of(outbox("post", "alice@example.org")[-1]) == "Re: Mentoring programs"


def test_follow_only_from_each_message_mail_moves_the_rest_to_the_digest(app, client: FlaskClient):
    with clock.frozen(DAY_ONE):
        _event, poster, _alice, carol, _bob = _forum()
        first = _post(poster, "Mentoring programs")
        other = _post(poster, "Reading lists")
        url = _link(outbox("post", "carol@example.org")[0], "Follow only this thread")
        page = client.get(url)
        assert b"Follow only this thread?" in page.data and b"The rest of this e-forum" in page.data
        client.post(url, data={"csrf_token": csrf_from(page.data), "rest": "digest"})
        db.session.expire_all()
        assert carol.mode == "digest"
        _post(poster, "Re: Mentoring programs", parent=first)
        _post(poster, "Re: Reading lists", parent=other)
    assert [subject_of(r) for r in outbox("post", "carol@example.org")] == [
        "Mentoring programs",
        "Reading lists",
        "Re: Mentoring programs",
    ]
    run_job("digests", at=eastern(2019, 9, 10, 18, 5))
    digest = text_of(outbox("digest", "carol@example.org")[0])
    assert "Reading lists" in digest and "Mentoring programs" not in digest  # followed: read already


def test_a_digest_reader_follows_a_thread_from_the_digest_and_gets_it_message_by_message(app, client):
    with clock.frozen(DAY_ONE):
        _event, poster, _alice, _carol, bob = _forum()
        first = _post(poster, "Mentoring programs")
        _post(poster, "Reading lists")
    run_job("digests", at=eastern(2019, 9, 10, 18, 5))
    digest = outbox("digest", "bob@example.org")[0]
    assert outbox("post", "bob@example.org") == []
    threads_page = _link(digest, "Mute or follow a thread of this digest")
    listing = client.get(threads_page)
    assert listing.status_code == 200 and b"Mentoring programs" in listing.data
    follow = f"{threads_page}/{first.thread_id}/follow"
    assert f'href="{follow}"'.encode() in listing.data
    page = client.get(follow)
    assert b"The rest of this e-forum" not in page.data  # a digest reader keeps their digest
    client.post(follow, data={"csrf_token": csrf_from(page.data)})
    db.session.expire_all()
    assert bob.mode == "digest"
    with clock.frozen(eastern(2019, 9, 11, 11)):
        _post(poster, "Re: Mentoring programs", parent=first)
        _post(poster, "Day two thread")
    assert [subject_of(r) for r in outbox("post", "bob@example.org")] == ["Re: Mentoring programs"]
    run_job("digests", at=eastern(2019, 9, 11, 18, 5))
    final = text_of(outbox("digest", "bob@example.org")[-1])
    assert "Day two thread" in final and "Re: Mentoring programs" not in final


def test_bad_links_answer_with_a_page_not_a_change(app, client):
    with clock.frozen(DAY_ONE):
        event, poster, alice, _carol, _bob = _forum()
        post = _post(poster, "Mentoring programs")
        url = _link(outbox("post", "alice@example.org")[0], "Mute this thread")
        other_forum = make_forum(slug="other")
        other_forum.moderation = "none"
        stranger = subscribe(other_forum, "zed@example.org", mode="each")
        foreign = _post(subscribe(other_forum, "p2@example.org", mode="none"), "Elsewhere")
    with clock.frozen(DAY_ONE):
        assert client.get(url.replace(f"/{post.thread_id}/", f"/{foreign.thread_id}/")).status_code == 404
        token = url.split("/")[2]
        assert client.get(url.replace(token, token[:-3] + "xyz")).status_code == 400
        assert client.post(url, data={}).status_code == 400  # no CSRF token: nothing muted
    with clock.frozen(DAY_ONE + timedelta(days=400)):
        assert client.get(url).status_code == 410
    alice.status = "unsubscribed"
    db.session.commit()
    with clock.frozen(DAY_ONE):
        assert client.get(url).status_code == 404
    assert db.session.query(ThreadChoice).count() == 0
    assert thread_choices.choices_of(stranger) == [] and event.id != other_forum.id
