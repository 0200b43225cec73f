"""The e-forum on the web: archive, zones, search, privacy, web posting, moderation, export."""

from __future__ import annotations

import re

from flask import g, render_template_string

from forum.core import clock
from forum.discussion import service as discussion
from forum.mail.links import post_url
from tests.conftest import csrf_from, submit
from tests.support.discussion import (
    AFTER,
    DOMAIN,
    LIST,
    OPEN_AT,
    add_panelist,
    login_officer,
    make_forum,
    message,
    parsed,
    posts,
    queued,
    subscribe,
    text_of,
)


def queue_token(html: bytes, post_id: int) -> str:
    """The CSRF token of one held post's moderation form (its fields are prefixed p<id>-)."""
    match = re.search(rf'name="p{post_id}-csrf_token"[^>]*value="([^"]+)"', html.decode())
    assert match, "no moderation form for that post"
    return match.group(1)


def signed_in(client):  # type: ignore[no-untyped-def]
    """Sign an officer in after an anonymous request: the test app context outlives requests,
    so Flask-Login's per-request cache of the (anonymous) user in `g` is cleared first."""
    g.pop("_login_user", None)
    return login_officer(client)


def _post(raw: bytes):  # type: ignore[no-untyped-def]
    with clock.frozen(OPEN_AT):
        return discussion.receive(raw, LIST)


def test_archive_lists_threads_with_times_in_the_readers_zone(app, client):
    event = make_forum()
    subscribe(event, "ann@example.org", "Ann Reader", posts_approved=1)
    _post(message(subject="Formal mentoring programs"))
    page = client.get("/events/mentoring/archive").get_data(as_text=True)
    assert "Formal mentoring programs" in page and "started by Ann Reader" in page
    assert "Tuesday, 9/10/2030 12:00 PM EDT" in page  # the forum's zone by default
    pacific = client.get("/events/mentoring/archive?tz=America/Los_Angeles")
    assert "Tuesday, 9/10/2030 9:00 AM PDT" in pacific.get_data(as_text=True)
    assert "tz=America/Los_Angeles" in pacific.headers["Set-Cookie"]
    again = client.get("/events/mentoring/archive").get_data(as_text=True)  # the cookie remembers
    assert "9:00 AM PDT" in again
    bogus = client.get("/events/mentoring/archive?tz=Mars/Olympus").get_data(as_text=True)
    assert "9:00 AM PDT" in bogus  # an unknown zone is ignored, not an error


def test_search_within_the_forum(app, client):
    event = make_forum()
    other = make_forum(slug="cataloging")
    subscribe(event, "ann@example.org", "Ann", posts_approved=1)
    subscribe(other, "ann@example.org", "Ann", posts_approved=1)
    _post(message(subject="Residency programs", body="Our residency had a mentoring chapter."))
    _post(message(subject="Coffee", body="Nothing to see"))
    with clock.frozen(OPEN_AT):
        discussion.receive(
            message(body="residency elsewhere", to=f"cataloging@{DOMAIN}"), f"cataloging@{DOMAIN}"
        )
    page = client.get("/events/mentoring/archive?q=RESIDENCY%20chapter").get_data(as_text=True)
    assert "1 post matching" in page and "<mark>residency</mark> had a mentoring <mark>chapter</mark>" in page
    assert "residency elsewhere" not in page
    none = client.get("/events/mentoring/archive?q=%25_").get_data(as_text=True)
    assert "0 posts matching" in none  # wildcards and operators are searched for as text


def test_subscribers_only_archive_needs_the_signed_link(app, client):
    event = make_forum(archive_public=False)
    sub = subscribe(event, "ann@example.org", "Ann", posts_approved=1)
    result = _post(message(body="Members only words"))
    assert client.get("/events/mentoring/archive").status_code == 403
    assert client.get(f"/events/mentoring/archive/posts/{result.post.id}").status_code == 403
    token = post_url(sub).rsplit("/", 1)[1]
    assert client.get(f"/events/mentoring/archive?t={token}").status_code == 200
    page = client.get(f"/events/mentoring/archive/posts/{result.post.id}")  # remembered for the session
    assert page.status_code == 200 and b"Members only words" in page.data
    assert client.get("/events/mentoring/archive?t=forged.token").status_code == 200  # session still good
    fresh = app.test_client()
    assert fresh.get("/events/mentoring/archive?t=forged.token").status_code == 403


def test_web_post_gets_a_message_id_that_mail_replies_thread_with(app, client):
    event = make_forum()
    sub = subscribe(event, "ann@example.org", "Ann Reader", posts_approved=1)
    subscribe(event, "bob@example.org", "Bob", posts_approved=1)
    with clock.frozen(OPEN_AT):
        url = post_url(sub).removeprefix("http://forum.test")
        form = client.get(url)
        assert form.status_code == 200 and b"Post to Mentoring in Technical Services" in form.data
        token = csrf_from(form.data)
        missing = client.post(url, data={"csrf_token": token, "subject": "Kept subject", "body": ""})
        assert missing.status_code == 200
        assert b"Write your message." in missing.data and b'value="Kept subject"' in missing.data
        done = client.post(url, data={"csrf_token": token, "subject": "From the web", "body": "Hello *all*"})
        assert done.status_code == 302
    [web] = posts()
    assert web.source == "web" and web.status == "accepted"
    assert re.fullmatch(rf"<[^@>]+@{re.escape(DOMAIN)}>", web.message_id)
    assert "<em>all</em>" in web.body_html
    relayed = parsed(queued("post")[0])
    assert relayed["Message-ID"] == web.message_id
    reply = message(
        sender="bob@example.org",
        name="Bob",
        subject="Re: From the web",
        msgid="<bob-reply@example.org>",
        headers={"In-Reply-To": web.message_id},
    )
    _post(reply)
    parent, child = posts()
    assert child.parent_id == parent.id and child.thread_id == parent.thread_id


def test_web_reply_threads_and_closed_forum_says_so(app, client):
    event = make_forum()
    sub = subscribe(event, "ann@example.org", "Ann", posts_approved=1)
    root = _post(message(subject="Mid-career mentoring")).post
    with clock.frozen(OPEN_AT):
        url = post_url(sub).removeprefix("http://forum.test")
        page = client.get(f"{url}?reply={root.id}")
        assert b"Replying to" in page.data
        client.post(f"{url}?reply={root.id}", data={"csrf_token": csrf_from(page.data), "body": "Agreed."})
    reply = posts()[-1]
    assert reply.parent_id == root.id and reply.subject == "Re: Mid-career mentoring"
    assert reply.in_reply_to == root.message_id
    with clock.frozen(OPEN_AT):
        open_token = csrf_from(client.get(url).data)  # a tab left open while the forum closes
    with clock.frozen(AFTER):
        page = client.get(url)
        assert b"This e-forum has closed." in page.data
        assert b'<form method="post"' not in page.data  # no form to fill in for nothing
        late = client.post(url, data={"csrf_token": open_token, "subject": "Late", "body": "Too late"})
        assert late.status_code == 200 and b"This e-forum has closed." in late.data
    assert len(posts()) == 2


def test_officer_moderates_in_the_queue(app, client):
    event = make_forum(moderation="all")
    subscribe(event, "ann@example.org", "Ann")
    subscribe(event, "bob@example.org", "Bob")
    first = _post(message(subject="Please approve", msgid="<p1@example.org>")).post
    second = _post(message(subject="Off topic ad", msgid="<p2@example.org>")).post
    assert client.get("/manage/events/mentoring/moderation").status_code == 403
    signed_in(client)
    queue = client.get("/manage/events/mentoring/moderation")
    assert queue.status_code == 200 and b"Please approve" in queue.data and b"Off topic ad" in queue.data
    token = queue_token(queue.data, second.id)
    with clock.frozen(OPEN_AT):
        no_reason = client.post(
            f"/manage/events/mentoring/moderation/{second.id}",
            data={f"p{second.id}-csrf_token": token, "csrf_token": token, f"p{second.id}-reject": "Reject"},
        )
        assert no_reason.status_code == 400 and b"Say why" in no_reason.data
        rejected = client.post(
            f"/manage/events/mentoring/moderation/{second.id}",
            data={
                "csrf_token": token,
                f"p{second.id}-csrf_token": token,
                f"p{second.id}-reason": "Advertising is not allowed here.",
                f"p{second.id}-reject": "Reject",
            },
        )
        assert rejected.status_code == 302
        for _ in range(2):
            client.post(
                f"/manage/events/mentoring/moderation/{first.id}",
                data={
                    "csrf_token": token,
                    f"p{first.id}-csrf_token": token,
                    f"p{first.id}-approve": "Approve",
                },
            )
    statuses = {p.subject: p.status for p in posts()}
    assert statuses == {"Please approve": "accepted", "Off topic ad": "rejected"}
    assert sorted(r.recipient for r in queued("post")) == ["ann@example.org", "bob@example.org"]
    [notice] = queued("rejected")
    assert notice.recipient == "ann@example.org"
    assert "Advertising is not allowed here." in text_of(notice)
    assert b"Nothing is waiting." in client.get("/manage/events/mentoring/moderation").data


def test_panelist_moderator_uses_the_link_in_the_hold_notice(app):
    event = make_forum(moderation="new")
    subscribe(event, "newbie@example.org", "Newbie")
    add_panelist(event, "jay@example.org", "Jay L. Colbert", role="moderator")
    add_panelist(event, "nicole@example.org", "Nicole Smeltekop")  # a panelist, not a moderator
    held = _post(message(sender="newbie@example.org", subject="My first post")).post
    client = app.test_client()
    with clock.frozen(OPEN_AT):  # signed links carry forum.clock time
        [notice] = queued("hold_notice")  # the scheduler's notice, signed at its time
        link = next(u for u in re.findall(r"https?://\S+", text_of(notice)) if "/moderation" in u)
        assert client.get("/manage/events/mentoring/moderation").status_code == 403
        page = client.get(link.removeprefix("http://forum.test"))
        assert page.status_code == 200 and b"My first post" in page.data
        token = queue_token(page.data, held.id)
        client.post(
            f"/manage/events/mentoring/moderation/{held.id}",
            data={"csrf_token": token, f"p{held.id}-csrf_token": token, f"p{held.id}-approve": "Approve"},
        )
    [post] = posts()
    assert post.status == "accepted" and post.moderated_by == "jay@example.org"
    # after one approved post the member is no longer new
    again = _post(message(sender="newbie@example.org", subject="Second post"))
    assert again.status == "accepted"


def test_export_after_close_for_officers(app, client):
    event = make_forum()
    subscribe(event, "ann@example.org", "Ann Reader", posts_approved=1)
    add_panelist(event, "jay@example.org", "Jay L. Colbert")
    _post(message(subject="Welcome", sender="jay@example.org", body="Welcome to the e-forum."))
    _post(message(subject="Re: Welcome", body="Thanks!\n\n> Welcome to the e-forum."))
    assert client.get("/events/mentoring/archive/export").status_code == 403
    signed_in(client)
    with clock.frozen(OPEN_AT):
        early = client.get("/events/mentoring/archive/export")
        assert early.status_code == 409 and b"after the e-forum closes" in early.data
    with clock.frozen(AFTER):
        archive = client.get("/events/mentoring/archive")
        assert b"Export the whole discussion" in archive.data
        doc = client.get("/events/mentoring/archive/export")
    assert doc.status_code == 200
    assert doc.headers["Content-Disposition"] == 'attachment; filename="mentoring-discussion.html"'
    html = doc.get_data(as_text=True)
    assert html.startswith("<!doctype html>")
    assert html.index("Welcome to the e-forum.") < html.index("Thanks!")
    assert "Jay L. Colbert" in html and '<span class="badge">Panelist</span>' in html


def test_archive_link_fragment(app):
    event = make_forum(archive_public=False)
    with app.test_request_context():
        html = render_template_string('{% include "discussion/_archive_link.html" %}', event=event)
    assert LIST in html and "through the link in any message" in html


def test_unknown_or_draft_forum_is_404(app, client):
    event = make_forum(slug="draft-one")
    event.status = "draft"
    from forum.core.extensions import db

    db.session.commit()
    assert client.get("/events/nothing/archive").status_code == 404
    assert client.get("/events/draft-one/archive").status_code == 404
    with clock.frozen(OPEN_AT):
        outcome = discussion.receive(message(to=f"draft-one@{DOMAIN}"), f"draft-one@{DOMAIN}")
    assert outcome.status == "unknown_list"


def test_reply_on_the_thread_page_threads_under_that_post_and_goes_out(app, client):
    event = make_forum(archive_public=False)
    ann = subscribe(event, "ann@example.org", "Ann Reader", posts_approved=1)
    subscribe(event, "bob@example.org", "Bob", posts_approved=1)
    subscribe(event, "dora@example.org", "Dora", mode="digest")
    root = _post(message(subject="Mentoring at small libraries", msgid="<root@example.org>")).post
    child = _post(
        message(
            sender="bob@example.org",
            name="Bob",
            subject="Re: Mentoring at small libraries",
            msgid="<bob@example.org>",
            headers={"In-Reply-To": "<root@example.org>"},
        )
    ).post
    thread_url = f"/events/mentoring/archive/threads/{root.thread_id}"
    with clock.frozen(OPEN_AT):
        client.get(post_url(ann).removeprefix("http://forum.test"))  # arrives by the signed link
        page = client.get(thread_url).get_data(as_text=True)
        links = re.findall(r'<a href="(/post/[^"]+\?reply=(\d+))">Reply<span', page)
        assert sorted(int(pid) for _, pid in links) == [root.id, child.id]
        reply_url = next(url for url, pid in links if int(pid) == child.id).replace("&amp;", "&")
        form = client.get(reply_url)
        assert b'value="Re: Mentoring at small libraries"' in form.data  # prefilled, no "Re: Re:"
        done = submit(
            client, reply_url, form.data, subject="Re: Mentoring at small libraries",
            body="Bob, how long did it last?",
        )
        assert done.status_code == 302
    reply = posts()[-1]
    assert reply.parent_id == child.id and reply.thread_id == root.thread_id
    assert reply.in_reply_to == "<bob@example.org>"
    copies = [r for r in queued("post") if r.full_message.find(reply.message_id.encode()) != -1]
    assert sorted(r.recipient for r in copies) == ["ann@example.org", "bob@example.org"]
    for row in copies:
        mail = parsed(row)
        assert mail["In-Reply-To"] == "<bob@example.org>"
        assert mail["References"].split() == ["<bob@example.org>"]
    with clock.frozen(OPEN_AT):
        page = client.get(thread_url).get_data(as_text=True)
    assert page.index("how long did it last?") > page.index("Re: Mentoring")
    # someone reading without a posting link gets no Reply links
    officer = app.test_client()
    signed_in(officer)
    assert b"?reply=" not in officer.get(thread_url).data


def test_reply_links_need_an_open_forum(app, client):
    event = make_forum()
    sub = subscribe(event, "ann@example.org", "Ann", posts_approved=1)
    root = _post(message()).post
    with clock.frozen(OPEN_AT):  # signed links carry forum.clock time
        token = post_url(sub).rsplit("/", 1)[1]
        thread_url = f"/events/mentoring/archive/threads/{root.thread_id}?t={token}"
        assert f"?reply={root.id}" in client.get(thread_url).get_data(as_text=True)
    with clock.frozen(AFTER):
        assert "?reply=" not in client.get(thread_url).get_data(as_text=True)


def test_digest_author_hears_once_when_a_held_post_is_approved(app, client):
    event = make_forum(moderation="new", archive_public=False)
    subscribe(event, "newbie@example.org", "Newbie", mode="digest")
    subscribe(event, "bob@example.org", "Bob")
    held = _post(message(sender="newbie@example.org", name="Newbie", subject="Hello all")).post
    assert held.status == "held" and [r.recipient for r in queued("held")] == ["newbie@example.org"]
    signed_in(client)
    queue = client.get("/manage/events/mentoring/moderation")
    token = queue_token(queue.data, held.id)
    with clock.frozen(OPEN_AT):
        for _ in range(2):
            client.post(
                f"/manage/events/mentoring/moderation/{held.id}",
                data={"csrf_token": token, f"p{held.id}-csrf_token": token, f"p{held.id}-approve": "Approve"},
            )
    assert [r.recipient for r in queued("post")] == ["bob@example.org"]
    [note] = queued("approved")
    assert note.recipient == "newbie@example.org"
    text = text_of(note)
    assert 'approved your post "Hello all"' in text
    link = next(u for u in re.findall(r"https?://\S+", text) if "/archive/posts/" in u)
    with clock.frozen(OPEN_AT):  # the archive is for subscribers: the link carries the reader's token
        page = app.test_client().get(link.removeprefix("http://forum.test"))
    assert page.status_code == 200 and b"Who has mentored a new cataloger?" in page.data
