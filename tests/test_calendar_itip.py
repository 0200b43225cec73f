"""iTIP mail: the welcome invite (REQUEST), updates when a session moves, cancellations."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

from icalendar import Calendar
from sqlalchemy import select

from forum import calendar, clock, events
from forum.extensions import db
from forum.mail.compose import list_message
from forum.models import OutboundMessage
from tests.support.calendars import instants, make_event, parse_checked, subscribe

NOW = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)
WALLS = [
    (datetime(2025, 3, 4, 13), datetime(2025, 3, 4, 14)),
    (datetime(2025, 3, 11, 13), datetime(2025, 3, 11, 14)),  # after the US DST change
]


def _welcome(subscription) -> EmailMessage:  # type: ignore[no-untyped-def]
    return list_message(
        event=subscription.event,
        subscription=subscription,
        subject="Welcome",
        template="invite",
        context={"sessions": subscription.event.sessions, "event_url": "http://forum.test/x"},
        automated=True,
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
    rows = db.session.scalars(
        select(OutboundMessage).where(OutboundMessage.kind == kind).order_by(OutboundMessage.id)
    ).all()
    return [(r, message_from_bytes(r.message, policy=policy.default)) for r in rows]  # type: ignore[misc]


def test_welcome_for_series_becomes_request_invite(app) -> None:  # type: ignore[no-untyped-def]
    with clock.frozen(NOW):
        event = make_event("series-one", WALLS)
        sub = subscribe(event, "ana@example.test", name="Ana Reader")
        msg = calendar.invite_for_welcome(_welcome(sub), sub)
    msg = message_from_bytes(msg.as_bytes(), policy=policy.default)  # as it will be sent
    part, data = _calendar_part(msg)
    assert part.get_param("method") == "REQUEST"
    cal = parse_checked(data)
    assert cal["METHOD"] == "REQUEST"
    vevents = cal.walk("VEVENT")
    assert len(vevents) == 2
    for vevent in vevents:
        attendee = vevent["ATTENDEE"]
        assert str(attendee) == "mailto:ana@example.test"
        assert attendee.params["RSVP"] == "FALSE" and attendee.params["PARTSTAT"] == "NEEDS-ACTION"
        assert attendee.params["CN"] == "Ana Reader"
        assert str(vevent["ORGANIZER"]) == "mailto:pat@ala.test"
    got = instants(data)
    assert got[f"{event.sessions[1].uid}@lists.forum.test"][0] == datetime(2025, 3, 11, 17, 0, tzinfo=UTC)
    assert b"PUBLISH" not in data
    assert msg["List-Unsubscribe"] and msg["To"].addresses[0].addr_spec == "ana@example.test"


def test_eforum_welcome_has_invite_only_on_request(app) -> None:  # type: ignore[no-untyped-def]
    with clock.frozen(NOW):
        event = make_event("forum-one", WALLS, kind="eforum", contact=None)
        sub = subscribe(event, "bo@example.test")
        plain = calendar.invite_for_welcome(_welcome(sub), sub)
        assert plain.get_content_type() == "multipart/alternative"
        invited = calendar.invite_for_welcome(_welcome(sub), sub, requested=True)
    _, data = _calendar_part(invited)
    cal = parse_checked(data)
    assert str(cal.walk("VEVENT")[0]["ORGANIZER"]) == "mailto:forum-one@lists.forum.test"


def test_invite_on_request_is_queued_once(app) -> None:  # type: ignore[no-untyped-def]
    with clock.frozen(NOW):
        event = make_event("forum-two", WALLS, kind="eforum")
        sub = subscribe(event, "cy@example.test")
        assert calendar.send_invite(sub) is not None
        assert calendar.send_invite(sub) is None
        db.session.commit()
    ((row, msg),) = _queued()
    assert row.recipient == "cy@example.test" and row.subscription_id == sub.id
    part, data = _calendar_part(msg)
    assert part.get_param("method") == "REQUEST"
    assert len(parse_checked(data).walk("VEVENT")) == 2


def test_nothing_upcoming_means_no_invite(app) -> None:  # type: ignore[no-untyped-def]
    with clock.frozen(NOW):
        event = make_event("past", WALLS)
        sub = subscribe(event, "dee@example.test")
    with clock.frozen(datetime(2026, 1, 1, tzinfo=UTC)):
        msg = calendar.invite_for_welcome(_welcome(sub), sub)
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
        calendar.send_updates(session)  # a retry queues nothing twice
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
