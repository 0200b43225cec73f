"""iTIP mail: the welcome invite (REQUEST), one invite mail per further session, updates
when a session moves, cancellations.  Every iTIP calendar carries exactly one UID."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage

from icalendar import Calendar
from sqlalchemy import select

from forum.calendars import changes, invites
from forum.core import clock
from forum.core.extensions import db
from forum.events import service as events
from forum.mail.addresses import rsvp_address
from forum.mail.compose import ListOptions, list_message
from forum.models import OutboundMessage
from forum.subscriptions import csv_import as subscriber_import
from forum.subscriptions import service
from tests.support.calendars import instants, make_event, parse_checked, subscribe
from tests.support.fanouts import write_fan_outs

NOW = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)
WALLS = [
    (datetime(2025, 3, 4, 13), datetime(2025, 3, 4, 14)),
    (datetime(2025, 3, 11, 13), datetime(2025, 3, 11, 14)),  # after the US DST change
]


def _welcome(subscription) -> EmailMessage:  # type: ignore[no-untyped-def]
    return list_message(
        subscription.event,
        subscription,
        ListOptions(
            subject="Welcome",
            template="welcome",
            context={"list_address": "x@lists.forum.test", "invites": []},
            automated=True,
        ),
    )


def _calendar_part(msg: EmailMessage) -> tuple[EmailMessage, bytes]:
    """Check the RFC 6047 shape and return the inline calendar part and its bytes."""
    assert msg.get_content_type() == "multipart/mixed"
    alternative, attachment = msg.get_payload()
    assert alternative.get_content_type() == "multipart/alternative"
    types = [p.get_content_type() for p in alternative.get_payload()]
    assert types == ["text/plain", "text/html", "text/calendar"]
    part = alternative.get_payload()[2]
    assert part.get_param("charset").upper() == "UTF-8"
    assert attachment.get_content_type() == "application/ics"
    assert attachment.get_filename() in ("invite.ics", "cancel.ics")
    data = part.get_payload(decode=True)
    unix = data.replace(b"\r\n", b"\n")
    assert attachment.get_payload(decode=True).replace(b"\r\n", b"\n") == unix
    return part, data


def _queued(kind: str = "calendar") -> list[tuple[OutboundMessage, EmailMessage]]:
    write_fan_outs()
    rows = db.session.scalars(
        select(OutboundMessage).where(OutboundMessage.kind == kind).order_by(OutboundMessage.id)
    ).all()
    return [(r, message_from_bytes(r.full_message, policy=policy.default)) for r in rows]  # type: ignore[misc]


def test_welcome_for_series_becomes_request_invite(app) -> None:  # type: ignore[no-untyped-def]
    with clock.frozen(NOW):
        event = make_event("series-one", WALLS)
        sub = subscribe(event, "ana@example.test", name="Ana Reader")
        msg = invites.invite_for_welcome(_welcome(sub), sub)
    msg = message_from_bytes(msg.as_bytes(), policy=policy.default)  # as it will be sent
    part, data = _calendar_part(msg)
    assert part.get_param("method") == "REQUEST"
    cal = parse_checked(data)
    assert cal["METHOD"] == "REQUEST"
    (vevent,) = cal.walk("VEVENT")  # the next session only: one UID per invite
    assert str(vevent["UID"]) == f"{event.sessions[0].uid}@lists.forum.test"
    attendee = vevent["ATTENDEE"]
    assert str(attendee) == "mailto:ana@example.test"
    # A series' answers are recorded, so its invites ask for one, at the registration's own address.
    assert attendee.params["RSVP"] == "TRUE" and attendee.params["PARTSTAT"] == "NEEDS-ACTION"
    assert attendee.params["CN"] == "Ana Reader"
    assert str(vevent["ORGANIZER"]) == f"mailto:{rsvp_address(event, sub)}"
    assert str(vevent["ORGANIZER"]).startswith(f"mailto:series-one+rsvp-{sub.id}-")
    got = instants(data)
    assert got[f"{event.sessions[0].uid}@lists.forum.test"][0] == datetime(2025, 3, 4, 18, 0, tzinfo=UTC)
    assert b"PUBLISH" not in data
    assert msg["List-Unsubscribe"] and msg["To"].addresses[0].addr_spec == "ana@example.test"


def test_eforum_welcome_has_invite_only_on_request(app) -> None:  # type: ignore[no-untyped-def]
    with clock.frozen(NOW):
        event = make_event("forum-one", WALLS, kind="eforum", contact=None)
        sub = subscribe(event, "bo@example.test")
        plain = invites.invite_for_welcome(_welcome(sub), sub)
        assert plain.get_content_type() == "multipart/alternative"
        invited = invites.invite_for_welcome(_welcome(sub), sub, requested=True)
    _, data = _calendar_part(invited)
    cal = parse_checked(data)
    (vevent,) = cal.walk("VEVENT")
    assert str(vevent["ORGANIZER"]) == f"mailto:{rsvp_address(event, sub)}"
    assert vevent["ATTENDEE"].params["RSVP"] == "FALSE"  # an e-forum's days ask for no answer


def test_invite_on_request_is_queued_once(app) -> None:  # type: ignore[no-untyped-def]
    with clock.frozen(NOW):
        event = make_event("forum-two", WALLS, kind="eforum")
        sub = subscribe(event, "cy@example.test")
        assert invites.send_invite(sub) == 2  # one mail per day of the e-forum
        assert invites.send_invite(sub) == 0
        db.session.commit()
    queued = _queued()
    assert len(queued) == 2
    uids = []
    for row, msg in queued:
        assert row.recipient == "cy@example.test" and row.subscription_id == sub.id
        assert row.idempotency_key.endswith(f":{sub.id}:2025-01-15")
        part, data = _calendar_part(msg)
        assert part.get_param("method") == "REQUEST"
        (vevent,) = parse_checked(data).walk("VEVENT")
        uids.append(str(vevent["UID"]))
        assert "you asked for it" in msg.get_body(("plain",)).get_content()
    assert uids == [f"{s.uid}@lists.forum.test" for s in event.sessions]
    assert [msg["Subject"] for _, msg in queued] == [
        "Invitation: Forum Two \u2014 Day 1 of 2",
        "Invitation: Forum Two \u2014 Day 2 of 2",
    ]
    with clock.frozen(NOW + timedelta(days=1)):  # another day, another copy on request
        assert invites.send_invite(sub) == 2


def test_nothing_upcoming_means_no_invite(app) -> None:  # type: ignore[no-untyped-def]
    with clock.frozen(NOW):
        event = make_event("past", WALLS)
        sub = subscribe(event, "dee@example.test")
    with clock.frozen(datetime(2026, 1, 1, tzinfo=UTC)):
        msg = invites.invite_for_welcome(_welcome(sub), sub)
    assert msg.get_content_type() == "multipart/alternative"


def _audience(event) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {
        "active": [subscribe(event, f"active{i}@example.test") for i in range(3)],
        "pending": subscribe(event, "pending@example.test", status="pending"),
        "gone": subscribe(event, "gone@example.test", status="unsubscribed"),
        "disabled": subscribe(event, "bounced@example.test", status="disabled"),
    }


def test_reschedule_sends_one_update_per_active_subscriber(app) -> None:  # type: ignore[no-untyped-def]
    with clock.frozen(NOW):
        event = make_event("moving-series", WALLS)
        _audience(event)
        session = event.sessions[0]
        uid = f"{session.uid}@lists.forum.test"
        events.set_session_times(
            session, datetime(2025, 3, 4, 15), datetime(2025, 3, 4, 16), "America/New_York"
        )
        db.session.commit()
        changes.send_updates(session)  # a retry queues nothing twice
        db.session.commit()
    queued = _queued()
    assert sorted(row.recipient for row, _ in queued) == [f"active{i}@example.test" for i in range(3)]
    for row, msg in queued:
        assert row.idempotency_key.startswith(f"calendar-update:{session.id}:1:")
        assert msg["Auto-Submitted"] == "auto-generated" and msg["List-Unsubscribe"]
        part, data = _calendar_part(msg)
        assert part.get_param("method") == "REQUEST"
        cal = parse_checked(data)
        assert cal["METHOD"] == "REQUEST"
        (vevent,) = cal.walk("VEVENT")
        assert str(vevent["UID"]) == uid and vevent["SEQUENCE"] == 1
        assert str(vevent["ATTENDEE"]) == f"mailto:{row.recipient}"
        assert instants(data)[uid][0] == datetime(2025, 3, 4, 20, 0, tzinfo=UTC)
        assert "has changed" in msg.get_body(("plain",)).get_content()


def test_cancel_sends_method_cancel(app) -> None:  # type: ignore[no-untyped-def]
    with clock.frozen(NOW):
        event = make_event("cancel-series", WALLS)
        _audience(event)
        session = event.sessions[1]
        events.cancel_session(session)
        db.session.commit()
        events.cancel_session(session)  # already cancelled: nothing more
        db.session.commit()
    queued = _queued()
    assert len(queued) == 3
    for row, msg in queued:
        assert row.idempotency_key.startswith(f"calendar-cancel:{session.id}:1:")
        part, data = _calendar_part(msg)
        assert part.get_param("method") == "CANCEL"
        cal = Calendar.from_ical(data)
        assert cal["METHOD"] == "CANCEL"
        (vevent,) = cal.walk("VEVENT")
        assert vevent["STATUS"] == "CANCELLED" and vevent["SEQUENCE"] == 1
        assert str(vevent["UID"]) == f"{session.uid}@lists.forum.test"
        assert "cancelled" in msg["Subject"].lower()


def test_draft_changes_send_nothing(app) -> None:  # type: ignore[no-untyped-def]
    with clock.frozen(NOW):
        event = make_event("draft-series", WALLS, publish=False)
        _audience(event)
        events.set_session_times(
            event.sessions[0], datetime(2025, 3, 4, 15), datetime(2025, 3, 4, 16), "America/New_York"
        )
        db.session.commit()
    assert _queued() == []


FOUR = [(datetime(2025, 3, day, 13), datetime(2025, 3, day, 14)) for day in (4, 11, 18, 25)]


def _join(event, email: str):  # type: ignore[no-untyped-def]
    """Sign up as a new address and click the confirmation link, as on the web."""
    sub = service.subscribe(event, email, name="Ana Reader", conduct_accepted=True)
    db.session.commit()
    assert sub.status == "pending"
    service.confirm(sub)
    db.session.commit()
    return sub


def _only_uid(msg: EmailMessage, email: str) -> str:
    """The one VEVENT's UID of an invite mail (REQUEST, addressed to `email`)."""
    part, data = _calendar_part(msg)
    assert part.get_param("method") == "REQUEST"
    cal = parse_checked(data)
    assert cal["METHOD"] == "REQUEST"
    (vevent,) = cal.walk("VEVENT")
    assert str(vevent["ATTENDEE"]) == f"mailto:{email}"
    return str(vevent["UID"])


def test_series_welcome_carries_the_next_session_and_each_other_comes_alone(app) -> None:  # type: ignore[no-untyped-def]
    with clock.frozen(NOW):
        event = make_event("four-part", FOUR)
        sub = _join(event, "ana@example.org")
        uids = [f"{s.uid}@lists.forum.test" for s in event.sessions]
        service.confirm(sub)  # a second click on the link
        service.send_welcome(sub)  # a retried transaction
        db.session.commit()
    ((_, welcome),) = _queued("welcome")
    assert _only_uid(welcome, "ana@example.org") == uids[0]
    body = welcome.get_body(("plain",)).get_content()
    assert "invitations for the other 3 upcoming sessions follow in separate mails" in body
    for day in (4, 11, 18, 25):  # every session is listed with its times
        assert f"3/{day}/2025" in body
    assert body.count("1:00 PM–2:00 PM (Eastern)") == 4
    invites = _queued()
    assert len(invites) == 3
    for (row, msg), session, uid in zip(invites, event.sessions[1:], uids[1:], strict=True):
        assert row.idempotency_key == f"calendar-invite:{session.id}:{session.sequence}:{sub.id}"
        assert row.recipient == "ana@example.org" and row.subscription_id == sub.id
        assert _only_uid(msg, "ana@example.org") == uid
        assert msg["Subject"].startswith("Invitation: Four Part \u2014 ")
        assert msg["List-Unsubscribe"] and msg["Auto-Submitted"] == "auto-generated"
        assert "Each upcoming session has its own invitation mail" in msg.get_body(("plain",)).get_content()

    with clock.frozen(NOW + timedelta(days=1)):  # leave and come back: a new welcome and fresh invites
        service.unsubscribe(sub)
        db.session.commit()
        service.resubscribe(sub)
        db.session.commit()
    assert len(_queued("welcome")) == 2
    assert len(_queued("calendar-leave")) == 4  # the leaver's calendar was cleared
    fresh = _queued()[3:]
    assert len(fresh) == 3  # ... and refilled on re-join, outranking the CANCELs
    for (_, cancel), (_, invite) in zip(_queued("calendar-leave")[1:], fresh, strict=True):
        (cancelled,) = parse_checked(_calendar_part(cancel)[1]).walk("VEVENT")
        (invited,) = parse_checked(_calendar_part(invite)[1]).walk("VEVENT")
        assert cancelled["UID"] == invited["UID"] and invited["SEQUENCE"] > cancelled["SEQUENCE"]


def test_welcome_after_the_first_session_carries_the_next_one(app) -> None:  # type: ignore[no-untyped-def]
    with clock.frozen(NOW):
        event = make_event("late-join", FOUR)
        uids = [f"{s.uid}@lists.forum.test" for s in event.sessions]
    with clock.frozen(datetime(2025, 3, 4, 19, 30, tzinfo=UTC)):  # session one ended at 19:00 UTC
        _join(event, "late@example.org")
    ((_, welcome),) = _queued("welcome")
    assert _only_uid(welcome, "late@example.org") == uids[1]
    body = welcome.get_body(("plain",)).get_content()
    assert "other 2 upcoming sessions follow" in body
    assert [_only_uid(msg, "late@example.org") for _, msg in _queued()] == uids[2:]


def test_single_session_series_has_no_follow_up_mails(app) -> None:  # type: ignore[no-untyped-def]
    with clock.frozen(NOW):
        event = make_event("one-off", WALLS[:1])
        _join(event, "solo@example.org")
    ((_, welcome),) = _queued("welcome")
    assert _only_uid(welcome, "solo@example.org") == f"{event.sessions[0].uid}@lists.forum.test"
    assert "separate mail" not in welcome.get_body(("plain",)).get_content()
    assert _queued() == []
    with clock.frozen(NOW):
        pair = make_event("two-part", WALLS)
        _join(pair, "duo@example.org")
    second = _queued("welcome")[1][1].get_body(("plain",)).get_content()
    assert "the other upcoming session follows in a separate mail" in second
    assert len(_queued()) == 1


def test_import_of_confirmed_address_queues_welcome_and_invites_once(app) -> None:  # type: ignore[no-untyped-def]
    with clock.frozen(NOW):
        event = make_event("imported", FOUR)
        other = make_event("other", WALLS)
        _join(other, "known@example.org")  # confirmed by an earlier sign-up
        before = len(_queued())
        subscriber_import.import_rows(event, ["email", "known@example.org"])
        subscriber_import.import_rows(event, ["email", "known@example.org"])  # a re-run adds nothing
    welcomes = [msg for row, msg in _queued("welcome") if row.event_id == event.id]
    assert len(welcomes) == 1
    assert _only_uid(welcomes[0], "known@example.org") == f"{event.sessions[0].uid}@lists.forum.test"
    invites = [msg for row, msg in _queued() if row.event_id == event.id]
    assert len(_queued()) - before == 3
    assert [_only_uid(m, "known@example.org") for m in invites] == [
        f"{s.uid}@lists.forum.test" for s in event.sessions[1:]
    ]
