"""Calendar replies as other clients and a stranger send them (issue 25, points 2, 3, 5, 7
and the stranger's reply): whose answer a message may record, which answer counts, and
what a series' own address does with replies."""

from __future__ import annotations

from email.message import EmailMessage

from icalendar import Calendar
from sqlalchemy import select

from forum.calendars import changes, invites, rsvp
from forum.core import clock
from forum.core.extensions import db
from forum.events import service as events
from forum.mail.addresses import rsvp_address
from forum.models import Rsvp
from tests.support.discussion import (
    DOMAIN,
    OPEN_AT,
    RSVP,
    gmail_reply,
    lmtp_send,
    lmtp_server,
    make_forum,
    posts,
    queued,
    reply_calendar,
    subscribe,
)


def answers() -> list[tuple[int, int, str, int]]:
    db.session.expire_all()
    rows = db.session.scalars(select(Rsvp).order_by(Rsvp.id))
    return [(r.subscription_id, r.session_id, r.partstat, r.sequence) for r in rows]


def _attendee_param(ics: bytes, name: str) -> str:
    (vevent,) = Calendar.from_ical(ics).walk("VEVENT")
    return str(vevent["ATTENDEE"].params[name])


def test_a_reply_from_the_a_label_form_of_a_registered_address_is_recorded(app):  # type: ignore[no-untyped-def]
    event = make_forum()
    anna = subscribe(event, "anna@bücher.example", "Anna")
    first = event.sessions[0]
    ics = reply_calendar(first, anna.participant).replace("anna@bücher.example", "anna@xn--bcher-kva.example")
    raw = gmail_reply(ics, RSVP, sender="anna@xn--bcher-kva.example")
    with clock.frozen(OPEN_AT), lmtp_server(app) as server:
        [(code, text)] = lmtp_send(server, raw, [RSVP], mail_from="anna@xn--bcher-kva.example")
    assert code == 250 and b"recorded (1)" in text, text
    assert answers() == [(anna.id, first.id, "accepted", 0)]


def test_a_stranger_cannot_answer_for_other_attendees(app):  # type: ignore[no-untyped-def]
    """Session UIDs are public: a stranger's REPLY naming registrants records nothing, and
    one registrant's REPLY naming others records only their own answer."""
    event = make_forum()
    ann = subscribe(event, "ann@example.org", "Ann Reader")
    bob = subscribe(event, "bob@example.org", "Bob")
    first = event.sessions[0]
    with clock.frozen(OPEN_AT), lmtp_server(app) as server:
        lmtp_send(
            server,
            gmail_reply(reply_calendar(first, bob.participant), RSVP, sender="bob@example.org"),
            [RSVP],
        )
        for sender in ("eve@example.net", "ann@example.org"):
            forged = reply_calendar(first, bob.participant, "DECLINED").replace(
                "END:VEVENT", _attendee_line("ann@example.org", "DECLINED") + "END:VEVENT"
            )
            lmtp_send(server, gmail_reply(forged, RSVP, sender=sender), [RSVP], mail_from=sender)
    # Bob's genuine ACCEPTED stands; Ann's message recorded nothing for Bob, only her own line.
    assert answers() == [(bob.id, first.id, "accepted", 0), (ann.id, first.id, "declined", 0)]


def _attendee_line(email: str, partstat: str) -> str:
    return f"ATTENDEE;PARTSTAT={partstat}:mailto:{email}\r\n"


def test_each_registration_gets_its_own_organizer_and_only_it_counts_there(app):  # type: ignore[no-untyped-def]
    event = make_forum(slug="webinars", kind="series")
    ann = subscribe(event, "ann@example.org", "Ann Reader")
    bob = subscribe(event, "bob@example.org", "Bob")
    first = event.sessions[0]
    invite = Calendar.from_ical(invites.invite_calendar(first, ann))
    (vevent,) = invite.walk("VEVENT")
    own = rsvp_address(event, ann)
    assert str(vevent["ORGANIZER"]) == f"mailto:{own}" and own != rsvp_address(event)
    assert own.startswith(f"webinars+rsvp-{ann.id}-") and own.endswith(f"@{DOMAIN}")
    # A reply from Ann's alias, naming Bob as well: to Ann's address it is Ann's answer only.
    ics = reply_calendar(first, ann.participant, "TENTATIVE").replace(
        "END:VEVENT", _attendee_line("bob@example.org", "DECLINED") + "END:VEVENT"
    )
    with clock.frozen(OPEN_AT), lmtp_server(app) as server:
        [(code, _)] = lmtp_send(server, gmail_reply(ics, own, sender="ann.reader@alias.example"), [own])
        forged = f"webinars+rsvp-{bob.id}-{'0' * 24}@{DOMAIN}"  # a tag nobody signed
        [(refused, _)] = lmtp_send(server, gmail_reply(ics, forged), [forged])
    assert code == 250 and refused == 550
    assert answers() == [(ann.id, first.id, "tentative", 0)]


def test_an_answer_to_an_older_invite_never_overwrites_and_never_counts(app):  # type: ignore[no-untyped-def]
    event = make_forum(slug="webinars", kind="series")
    ann = subscribe(event, "ann@example.org", "Ann Reader")
    bob = subscribe(event, "bob@example.org", "Bob")
    first, second = event.sessions
    old_ics = reply_calendar(first, ann.participant, "DECLINED")  # answers SEQUENCE 0
    first.sequence = 2
    db.session.commit()
    new_ics = reply_calendar(first, ann.participant, "ACCEPTED")  # answers SEQUENCE 2
    assert "SEQUENCE:2" in new_ics and "SEQUENCE:0" in old_ics
    with clock.frozen(OPEN_AT), lmtp_server(app) as server:
        lmtp_send(
            server, gmail_reply(new_ics, RSVP.replace("mentoring", "webinars")), [f"webinars+rsvp@{DOMAIN}"]
        )
        [(code, text)] = lmtp_send(
            server, gmail_reply(old_ics, f"webinars+rsvp@{DOMAIN}"), [f"webinars+rsvp@{DOMAIN}"]
        )
        # Bob answers only the first invite: kept, but it answered a time that no longer holds.
        bob_ics = old_ics.replace("ann@example.org", "bob@example.org")
        lmtp_send(
            server,
            gmail_reply(bob_ics, f"webinars+rsvp@{DOMAIN}", sender="bob@example.org"),
            [f"webinars+rsvp@{DOMAIN}"],
        )
    assert code == 250 and b"older" in text
    assert answers() == [(ann.id, first.id, "accepted", 2), (bob.id, first.id, "declined", 0)]
    [counted] = [c for c in rsvp.counts(event) if c.session.id == first.id]
    assert dict(counted.counts) == {"accepted": 1}  # Bob's stale "No" is not a current answer
    # A cancelled session counts no answers at all, though they are kept.
    with clock.frozen(OPEN_AT), lmtp_server(app) as server:
        lmtp_send(
            server,
            gmail_reply(reply_calendar(second, ann.participant), f"webinars+rsvp@{DOMAIN}"),
            [f"webinars+rsvp@{DOMAIN}"],
        )
    events.cancel_session(second)
    db.session.commit()
    assert len(answers()) == 3
    assert [dict(c.counts) for c in rsvp.counts(event) if c.session.id == second.id] == [{}]


def test_series_invites_ask_for_an_answer_and_e_forum_invites_do_not(app):  # type: ignore[no-untyped-def]
    series = make_forum(slug="webinars", kind="series")
    forum = make_forum()
    ann_series = subscribe(series, "ann@example.org", "Ann Reader")
    ann_forum = subscribe(forum, "ann@example.org", "Ann Reader")
    assert _attendee_param(invites.invite_calendar(series.sessions[0], ann_series), "RSVP") == "TRUE"
    assert _attendee_param(invites.invite_calendar(forum.sessions[0], ann_forum), "RSVP") == "FALSE"
    # An update fan-out's copies say the same, with the registration's own ORGANIZER.
    personal = changes.PersonalCalendar(series.sessions[0], "REQUEST")
    ics = personal.for_reader(ann_series)
    assert _attendee_param(ics, "RSVP") == "TRUE"
    assert rsvp_address(series, ann_series).encode() in ics.replace(b"\r\n ", b"")
    # A cancellation asks nothing.
    assert (
        _attendee_param(
            changes.PersonalCalendar(series.sessions[0], "CANCEL").for_reader(ann_series), "RSVP"
        )
        == "FALSE"
    )


def test_a_series_address_takes_replies(app):  # type: ignore[no-untyped-def]
    """People press Reply on a series' mail (From `<slug>@`): an answer is recorded, a
    registrant's note gets one friendly reply naming the contact, a stranger gets nothing."""
    series = make_forum(slug="webinars", kind="series", contact_name="Megan Ryan")
    ann = subscribe(series, "ann@example.org", "Ann Reader")
    address = f"webinars@{DOMAIN}"
    note = EmailMessage()
    note["From"] = "Ann Reader <ann@example.org>"
    note["To"] = address
    note["Subject"] = "Re: Invitation: Webinars"
    note.set_content("Will the slides be shared?")
    stranger = EmailMessage()
    stranger["From"] = "eve@example.net"
    stranger["To"] = address
    stranger["Subject"] = "hello"
    stranger.set_content("spam")
    with clock.frozen(OPEN_AT), lmtp_server(app) as server:
        [(code, _)] = lmtp_send(server, note.as_bytes(), [address])
        lmtp_send(server, note.as_bytes(), [address])  # a second note the same day: no second reply
        [(stranger_code, _)] = lmtp_send(server, stranger.as_bytes(), [address], mail_from="eve@example.net")
        [(answer_code, _)] = lmtp_send(
            server, gmail_reply(reply_calendar(series.sessions[0], ann.participant), address), [address]
        )
    assert code == stranger_code == answer_code == 250
    [reply] = queued("series_reply")
    assert reply.recipient == "ann@example.org"
    text = (reply.full_message or b"").decode()
    assert "Megan Ryan" in text and "megan@example.org" in text
    assert answers() == [(ann.id, series.sessions[0].id, "accepted", 0)]
    assert posts() == []


def _reply_to_invite(invite: bytes, partstat: str) -> str:
    """What Thunderbird and Outlook answer to an RSVP=TRUE invite: the same VEVENT (UID,
    SEQUENCE, ORGANIZER) with METHOD:REPLY and only the answering ATTENDEE, its PARTSTAT set."""
    cal = Calendar.from_ical(invite)
    cal["METHOD"] = "REPLY"
    for vevent in cal.walk("VEVENT"):
        vevent["ATTENDEE"].params["PARTSTAT"] = partstat
        vevent["ATTENDEE"].params.pop("RSVP", None)
        for name in ("DESCRIPTION", "LOCATION"):
            vevent.pop(name, None)
    return cal.to_ical().decode()


def test_thunderbird_and_outlook_answers_to_the_registrations_organizer_are_recorded(app):  # type: ignore[no-untyped-def]
    event = make_forum(slug="webinars", kind="series")
    ann = subscribe(event, "ann@example.org", "Ann Reader")
    bob = subscribe(event, "bob@example.org", "Bob")
    first = event.sessions[0]
    ann_to, bob_to = rsvp_address(event, ann), rsvp_address(event, bob)
    # Thunderbird: multipart/mixed, a text part, then text/calendar; method=REPLY (no .ics copy).
    thunderbird = EmailMessage()
    thunderbird["From"] = "Ann Reader <ann@example.org>"
    thunderbird["To"] = f"Webinars <{ann_to}>"
    thunderbird["Subject"] = "Accepted: Webinars"
    thunderbird.set_content("Ann Reader has accepted your event invitation.")
    thunderbird.add_attachment(
        _reply_to_invite(invites.invite_calendar(first, ann), "ACCEPTED").encode(),
        maintype="text",
        subtype="calendar",
        params={"method": "REPLY"},
        disposition="inline",
    )
    # Outlook: the text/calendar as the whole body, From the person's own address.
    outlook = EmailMessage()
    outlook["From"] = "Bob <bob@example.org>"
    outlook["To"] = bob_to
    outlook["Subject"] = "Declined: Webinars"
    outlook.set_content(_reply_to_invite(invites.invite_calendar(first, bob), "DECLINED"), subtype="calendar")
    del outlook["Content-Type"]
    outlook["Content-Type"] = 'text/calendar; charset="utf-8"; method=REPLY'
    with clock.frozen(OPEN_AT), lmtp_server(app) as server:
        [(code_t, _)] = lmtp_send(server, thunderbird.as_bytes(), [ann_to])
        [(code_o, _)] = lmtp_send(server, outlook.as_bytes(), [bob_to], mail_from="bob@example.org")
    assert code_t == code_o == 250
    assert answers() == [(ann.id, first.id, "accepted", 0), (bob.id, first.id, "declined", 0)]
    assert posts() == [] and queued("series_reply") == []
