"""The archive taken elsewhere: its Atom feed read back by feedparser (nothing private in
it), and its mbox opened by Python's `mailbox` with every post."""

from __future__ import annotations

import mailbox

import feedparser
from flask import g

from forum.core import clock
from forum.discussion import service as discussion
from forum.models import Event
from tests.support.discussion import LIST, OPEN_AT, login_officer, make_forum, message, subscribe


def _archive() -> None:
    event = make_forum()
    subscribe(event, "ann@example.org", "Ann Reader", posts_approved=1)
    subscribe(event, "bob@example.org", "Bob Builder", posts_approved=1)
    with clock.frozen(OPEN_AT):
        discussion.receive(
            message(subject="Mentoring <ideas>", msgid="<t1@example.org>", body="From the start: ideas."),
            LIST,
        )
        reply = message(
            sender="bob@example.org", name="Bob Builder", subject="Re: Mentoring <ideas>", body="Agreed."
        )
        reply = reply.replace(b"Message-ID:", b"In-Reply-To: <t1@example.org>\nMessage-ID:", 1)
        discussion.receive(reply, LIST)
        discussion.receive(message(subject="Second thread", body="Another topic."), LIST)
        discussion.receive(message(sender="stranger@example.net", subject="Held one"), LIST)


def test_atom_feed_of_new_threads_and_of_every_post(app, client):
    _archive()
    threads = client.get("/events/mentoring/archive/feed.atom")
    assert threads.status_code == 200 and threads.headers["Content-Type"].startswith("application/atom+xml")
    feed = feedparser.parse(threads.data)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10" and feed.feed.title.startswith("Mentoring")
    assert sorted(e.title for e in feed.entries) == ["Mentoring <ideas>", "Second thread"]
    assert all(e.link.startswith("http://forum.test/events/mentoring/archive/posts/") for e in feed.entries)
    assert {e.author for e in feed.entries} == {"Ann Reader"}
    every = feedparser.parse(client.get("/events/mentoring/archive/feed.atom?kind=posts").data)
    assert len(every.entries) == 3 and "Held one" not in {e.title for e in every.entries}
    body = client.get("/events/mentoring/archive/feed.atom?kind=posts").get_data(as_text=True)
    assert "@example.org" not in body and "example.net" not in body  # no addresses, ever
    assert client.get("/events/mentoring/archive/feed.atom?kind=all").status_code == 400


def test_no_feed_for_a_private_archive(app, client):
    _archive()
    Event.by_slug("mentoring").archive_public = False
    assert client.get("/events/mentoring/archive/feed.atom").status_code == 404


def test_mbox_opens_in_python_with_every_post(app, client, tmp_path):
    _archive()
    public = client.get("/events/mentoring/archive/archive.mbox")
    assert public.status_code == 200
    path = tmp_path / "public.mbox"
    path.write_bytes(public.data)
    box = mailbox.mbox(str(path))
    subjects = [m["Subject"] for m in box]
    assert subjects == ["Mentoring <ideas>", "Re: Mentoring <ideas>", "Second thread"]
    assert "ann@example.org" not in public.get_data(as_text=True)  # public: no addresses
    first = box[0]
    assert first["Message-ID"] == "<t1@example.org>" and first["Archived-At"].startswith(
        "<http://forum.test/"
    )
    assert "From the start: ideas." in first.get_payload(decode=True).decode()  # "From " quoted, read back
    assert box[1]["In-Reply-To"] == "<t1@example.org>"
    g.pop("_login_user", None)  # the test app context outlives the anonymous request
    login_officer(client)
    officer = tmp_path / "officer.mbox"
    officer.write_bytes(client.get("/events/mentoring/archive/archive.mbox").data)
    assert [m["From"] for m in mailbox.mbox(str(officer))][0] == "Ann Reader <ann@example.org>"


def test_mbox_of_a_private_archive_is_for_officers(app, client):
    _archive()
    Event.by_slug("mentoring").archive_public = False
    assert client.get("/events/mentoring/archive/archive.mbox").status_code in (403, 404)
    g.pop("_login_user", None)
    login_officer(client)
    assert client.get("/events/mentoring/archive/archive.mbox").status_code == 200
