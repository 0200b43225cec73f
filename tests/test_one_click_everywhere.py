"""RFC 8058 one-click unsubscribe on every kind of mail the app sends to a list of people
(issue 25, point 4): each kind is made the way the app makes it (jobs, fan-outs, forms), and
each copy must carry `List-Unsubscribe` with an https link and a mailto address, plus
`List-Unsubscribe-Post`; a POST of `List-Unsubscribe=One-Click` to the link, with no cookie
and no CSRF token (as Gmail and Yahoo send it), must take the person off.

A new kind of mail is checked without anyone adding it here: only the kinds in PERSONAL
(mail to one person about their own action) are let off."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from urllib.parse import urlsplit

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from forum.calendars import changes, invites
from forum.ce import evaluations
from forum.core import clock
from forum.core.extensions import db
from forum.discussion import service as discussion
from forum.mail.addresses import check_recipient, resolve, unfollow_mailto
from forum.models import Announcement, OutboundMessage, Subscription
from forum.models.pathways import PathwayFollow
from forum.scheduling.jobs import run_job
from forum.webinars import recordings
from tests.support.ce import after_end, attended, register, series
from tests.support.fanouts import write_fan_outs
from tests.support.pathways import confirm_by_mail, follow_form, make_pathway
from tests.support.scheduling import add_post, eastern, make_forum, run_hourly, subscribe

#: Mail to one person about something they did (or that was done about them): no list to leave.
PERSONAL = frozenset(
    {
        "confirm",
        "already-subscribed",
        "fresh-link",
        "welcome",
        "waitlisted",
        "pathway-confirm",
        "held",
        "hold_notice",
        "refusal",
        "rejected",
        "approved",
        "not_open",
        "series_reply",
        "mail-text-test",
        "calendar-leave",
    }
)
#: Every kind of list mail the app sends today; each must be made below (and pass).
LIST_KINDS = {
    "post",
    "digest",
    "forum-open",
    "forum-closed",
    "announcement",
    "reminder",
    "invite",
    "update",
    "cancel",
    "recording",
    "certificate",
    "evaluation",
    "pathway-step",
}


def _eforum_mail() -> None:
    """A post, the digest, the opening and closing notices of a two-day e-forum."""
    event = make_forum(slug="mentoring", days=2)
    subscribe(event, "each@example.org", mode="each")
    subscribe(event, "digest@example.org", mode="digest")
    run_hourly("notices", eastern(2019, 9, 10, 9), eastern(2019, 9, 12, 9))
    with clock.frozen(eastern(2019, 9, 10, 11)):
        post = add_post(event, eastern(2019, 9, 10, 11), "Finding a mentor", status="accepted")
        discussion.fan_out(post)
        db.session.commit()
    with clock.frozen(eastern(2019, 9, 10, 18, 1)):
        run_job("digests", at=eastern(2019, 9, 10, 18, 1))


def _series_mail() -> None:
    """Invite, update, cancellation, reminder, recording, announcement, evaluation and
    certificate of a three-session webinar series."""
    ev = series()
    ana = register(ev, "ana@example.org", "Ana Ruiz")
    first, second, third = ev.active_sessions
    with clock.frozen(first.starts_at - timedelta(days=3)):
        invites.send_invite(ana)
        announcement = Announcement(event=ev, subject="Before we start", body="Read this.", kind="announcement")
        announcement.set_send_time(first.start_wall - timedelta(days=2), ev.timezone)
        db.session.add(announcement)
        db.session.commit()
        changes.send_updates(second, ["When: was then, now now"])
        changes.send_cancellations(third, "The presenter is ill.")
        db.session.commit()
    run_job("announcements", at=first.starts_at - timedelta(days=1, hours=12))
    run_job("reminders", at=first.starts_at - timedelta(minutes=59))
    for session in ev.active_sessions:
        attended(ana, session)
    recordings.add_material(first, url="https://video.example.org/s1", kind="recording")
    db.session.commit()
    run_job("recordings", at=first.ends_at + timedelta(hours=2))
    evaluations.create(ev)
    db.session.commit()
    with clock.frozen(after_end(ev, hours=25)):
        run_job("ce", at=after_end(ev, hours=25))


def _pathway_mail(client: FlaskClient) -> None:
    pathway = make_pathway()
    with clock.frozen(datetime(2030, 3, 4, 14, 0, tzinfo=UTC)):
        assert follow_form(client, pathway, "learner@example.org").status_code == 200
        confirm_by_mail(client, "learner@example.org")
        run_job("pathways")


def _label(row: OutboundMessage) -> str:
    """The row's kind; calendar mail (one outbox kind) by what it is: invite, update, cancel."""
    if row.kind == "calendar":
        return row.idempotency_key.split(":")[0].removeprefix("calendar-")
    return row.kind


def _left(row: OutboundMessage) -> bool:
    """Whether the person this row went to is off the list it came from."""
    db.session.expire_all()
    if row.kind == "pathway-step":
        follow = db.session.scalar(select(PathwayFollow))
        return follow is not None and follow.status == "left"
    subscription = db.session.get(Subscription, row.subscription_id)
    return subscription is not None and subscription.status == "unsubscribed"


def test_every_kind_of_list_mail_has_a_working_one_click_unsubscribe(app: Flask, client: FlaskClient) -> None:
    _eforum_mail()
    _series_mail()
    _pathway_mail(client)
    write_fan_outs()
    rows = list(db.session.scalars(select(OutboundMessage).order_by(OutboundMessage.id)))
    list_rows: dict[str, list[OutboundMessage]] = {}
    for row in rows:
        if row.kind not in PERSONAL:
            list_rows.setdefault(_label(row), []).append(row)
    assert set(list_rows) >= LIST_KINDS, f"not made: {sorted(LIST_KINDS - set(list_rows))}"

    problems: list[str] = []
    for kind, kind_rows in sorted(list_rows.items()):
        for row in kind_rows:
            message = message_from_bytes(row.full_message or b"", policy=policy.default)
            links = re.findall(r"<([^>]+)>", str(message.get("List-Unsubscribe", "")))
            https = [u for u in links if u.startswith(("https://", "http://"))]
            mailto = [u for u in links if u.startswith("mailto:")]
            if not https or not mailto:
                problems.append(f"{kind}: List-Unsubscribe {links!r} lacks https or mailto")
                continue
            if str(message.get("List-Unsubscribe-Post", "")) != "List-Unsubscribe=One-Click":
                problems.append(f"{kind}: no List-Unsubscribe-Post")
                continue
            if resolve(mailto[0].removeprefix("mailto:").split("?")[0]) is None:
                problems.append(f"{kind}: the mailto address {mailto[0]} is not one the forum takes")
            # A mail provider's POST: no cookie, no CSRF token, exactly this body.
            stranger = app.test_client(use_cookies=False)
            url = urlsplit(https[0])
            with clock.frozen(row.created_at + timedelta(days=1)):  # a day after it was sent
                answer = stranger.post(
                    url.path + (f"?{url.query}" if url.query else ""),
                    data="List-Unsubscribe=One-Click",
                    content_type="application/x-www-form-urlencoded",
                )
            if answer.status_code != 200:
                problems.append(f"{kind}: one-click POST to {url.path} answered {answer.status_code}")
            elif not _left(row):
                problems.append(f"{kind}: one-click POST answered 200 but {row.recipient} is still on the list")
    assert problems == [], "\n".join(problems)


def test_the_mailto_of_pathway_step_mail_stops_the_follow(app: Flask, client: FlaskClient) -> None:
    """A provider that prefers mail sends "unsubscribe" to the mailto address: the signed
    address is the authority (as for list mail), and a forged tag is refused at RCPT."""
    _pathway_mail(client)
    follow = db.session.scalar(select(PathwayFollow))
    assert follow is not None and follow.status == "active"
    address = unfollow_mailto(follow.id).removeprefix("mailto:").split("?")[0]
    assert check_recipient(address.replace(address.split("-")[-1].split("@")[0], "0" * 24)) is not None
    outcome = discussion.receive(b"From: someone@example.net\r\nSubject: unsubscribe\r\n\r\n", address)
    assert outcome.status == "unsubscribed"
    db.session.expire_all()
    assert db.session.get(PathwayFollow, follow.id).status == "left"  # type: ignore[union-attr]
