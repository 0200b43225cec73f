"""Calendar replies over real LMTP: "Accepted: ..." mail to the RSVP address (the invites'
ORGANIZER) or to the list is recorded, never posted, never answered."""

from __future__ import annotations

from email.message import EmailMessage

from sqlalchemy import select

from forum.core import clock
from forum.core.extensions import db
from forum.models import Participant, Rsvp
from tests.support.discussion import (
    DOMAIN,
    LIST,
    OPEN_AT,
    RSVP,
    deliver,
    gmail_reply,
    lmtp_send,
    lmtp_server,
    login_officer,
    make_forum,
    message,
    posts,
    queued,
    reply_calendar,
    subscribe,
)


def rsvps() -> list[tuple[int, int, str]]:
    db.session.expire_all()
    rows = db.session.scalars(select(Rsvp).order_by(Rsvp.id))
    return [(r.subscription_id, r.session_id, r.partstat) for r in rows]


def test_a_reply_to_the_rsvp_address_is_recorded_and_never_posted(app):
    event = make_forum()
    ann = subscribe(event, "ann@example.org", "Ann Reader", posts_approved=1)
    subscribe(event, "bob@example.org", "Bob")
    first = event.sessions[0]
    raw = gmail_reply(reply_calendar(first, ann.participant), RSVP)
    with clock.frozen(OPEN_AT), lmtp_server(app) as server:
        [(code, text)] = lmtp_send(server, raw, [RSVP])
    assert code == 250 and b"Calendar reply recorded (1)" in text  # inline and invite.ics: one answer
    assert rsvps() == [(ann.id, first.id, "accepted")]
    assert posts() == [] and queued() == []


def test_a_reply_that_reaches_the_list_is_recorded_not_posted(app):
    event = make_forum()
    ann = subscribe(event, "ann@example.org", "Ann Reader", posts_approved=1)
    subscribe(event, "bob@example.org", "Bob")
    second = event.sessions[1]
    raw = gmail_reply(reply_calendar(second, ann.participant, "TENTATIVE"), LIST, subject="Tentatively accepted")
    code = deliver(app, raw)
    assert code == 250
    assert rsvps() == [(ann.id, second.id, "tentative")]
    assert posts() == [] and queued() == []


def test_an_outlook_reply_as_the_whole_body_is_recorded_and_a_later_answer_wins(app):
    event = make_forum()
    ann = subscribe(event, "ann@example.org", "Ann Reader")
    first = event.sessions[0]
    with clock.frozen(OPEN_AT), lmtp_server(app) as server:
        for n, partstat in enumerate(("ACCEPTED", "DECLINED")):
            msg = EmailMessage()
            msg["From"] = "Ann Reader <ann@example.org>"
            msg["To"] = RSVP
            msg["Subject"] = "Declined: Mentoring"
            msg["Message-ID"] = f"<outlook-{n}@example.org>"
            msg.set_content(reply_calendar(first, ann.participant, partstat), subtype="calendar")
            del msg["Content-Type"]
            msg["Content-Type"] = 'text/calendar; charset="utf-8"; method=REPLY'
            [(code, _)] = lmtp_send(server, msg.as_bytes(), [RSVP])
            assert code == 250
    assert rsvps() == [(ann.id, first.id, "declined")]
    assert posts() == []


def test_a_reply_from_someone_not_subscribed_records_nothing_and_sends_nothing(app):
    event = make_forum()
    subscribe(event, "ann@example.org", "Ann Reader")
    eve = Participant(email="eve@example.net", email_key="eve@example.net", name="Eve")  # never stored
    raw = gmail_reply(reply_calendar(event.sessions[0], eve), RSVP, sender="eve@example.net")
    with clock.frozen(OPEN_AT), lmtp_server(app) as server:
        [(code, text)] = lmtp_send(server, raw, [RSVP])
    assert code == 250 and b"nothing recorded" in text
    assert rsvps() == [] and posts() == [] and queued() == []


def test_plain_mail_to_the_rsvp_address_is_not_a_post(app):
    event = make_forum()
    subscribe(event, "ann@example.org", "Ann Reader", posts_approved=1)
    plain = message(to=RSVP, subject="Question about the forum", body="Will there be a recording?")
    assert deliver(app, plain, RSVP) == 250
    assert posts() == [] and rsvps() == []


def test_the_rsvp_address_exists_for_a_webinar_series_but_not_for_a_draft(app):
    make_forum(slug="webinars", kind="series")
    make_forum(slug="draft-one", status="draft")
    with lmtp_server(app) as server:
        replies = lmtp_send(server, b"Subject: x\r\n\r\nx\r\n", [f"webinars+rsvp@{DOMAIN}", f"draft-one+rsvp@{DOMAIN}"])
    assert [code for code, _ in replies] == [550, 250]  # the refusal at RCPT comes first


def test_officers_see_the_answers_per_session(app, client):
    event = make_forum()
    ann = subscribe(event, "ann@example.org", "Ann Reader")
    bob = subscribe(event, "bob@example.org", "Bob")
    first, second = event.sessions
    with clock.frozen(OPEN_AT), lmtp_server(app) as server:
        lmtp_send(server, gmail_reply(reply_calendar(first, ann.participant), RSVP), [RSVP])
        bob_reply = gmail_reply(reply_calendar(first, bob.participant, "DECLINED"), RSVP, sender="bob@example.org")
        lmtp_send(server, bob_reply, [RSVP], mail_from="bob@example.org")
        lmtp_send(server, gmail_reply(reply_calendar(second, ann.participant, "TENTATIVE"), RSVP), [RSVP])
    login_officer(client)
    page = client.get(f"/manage/events/{event.slug}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Calendar answers" in html and RSVP in html
    rows = html.split('<tbody>', 2)[1].split("</tbody>")[0]  # the answers table
    assert "<th scope=\"row\">Day 1 of 2</th><td>1</td><td>0</td><td>1</td>" in rows
    assert "<th scope=\"row\">Day 2 of 2</th><td>0</td><td>1</td><td>0</td>" in rows
    assert html.count('class="bar-accepted"') == 1 and html.count('class="bar-declined"') == 1


def test_a_proposed_new_time_to_the_list_is_not_a_post(app):
    """Outlook's "Propose new time" (iTIP COUNTER) goes to the organizer; it never reaches readers."""
    event = make_forum()
    ann = subscribe(event, "ann@example.org", "Ann Reader", posts_approved=1)
    subscribe(event, "bob@example.org", "Bob")
    ics = reply_calendar(event.sessions[0], ann.participant).replace("METHOD:REPLY", "METHOD:COUNTER")
    msg = EmailMessage()
    msg["From"] = "Ann Reader <ann@example.org>"
    msg["To"] = LIST
    msg["Subject"] = "New Time Proposed: Mentoring"
    msg.set_content("I would prefer an hour later.")
    msg.add_attachment(ics.encode(), maintype="text", subtype="calendar", filename="meeting.ics")
    code = deliver(app, msg.as_bytes())
    assert code == 250
    assert posts() == [] and queued() == [] and rsvps() == []
