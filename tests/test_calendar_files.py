"""Calendar files: /events/<slug>.ics and per-session .ics, and "add to calendar" links."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from flask import render_template_string
from flask.testing import FlaskClient

from forum.calendars import calendar
from forum.calendars.links import session_links
from forum.core import clock
from forum.core.extensions import db
from forum.events import service as events
from tests.support.calendars import fetch_calendar, instants, make_event, parse_checked
from tests.support.factories import weekly

NOW = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)


def test_event_file_has_every_session_with_right_instants_across_dst(client: FlaskClient) -> None:
    with clock.frozen(NOW):
        # 10:00 New York on both sides of the November DST change: UTC 14:00, then 15:00.
        event = make_event("fall-series", weekly(datetime(2025, 10, 28, 10), minutes=90))
    response, cal = fetch_calendar(client, f"/events/{event.slug}.ics")
    assert 'filename="fall-series.ics"' in response.headers["Content-Disposition"]
    data = response.data
    vevents = cal.walk("VEVENT")
    assert len(vevents) == 2
    assert b"DTSTART;TZID=America/New_York:20251028T100000" in data
    got = instants(data)
    first, second = event.sessions
    assert got[f"{first.uid}@lists.forum.test"] == (
        datetime(2025, 10, 28, 14, 0, tzinfo=UTC),
        datetime(2025, 10, 28, 15, 30, tzinfo=UTC),
    )
    assert got[f"{second.uid}@lists.forum.test"][0] == datetime(2025, 11, 4, 15, 0, tzinfo=UTC)
    vevent = vevents[0]
    assert vevent["SEQUENCE"] == 0
    assert vevent["STATUS"] == "CONFIRMED"
    assert str(vevent["URL"]) == "http://forum.test/events/fall-series"
    assert str(vevent["LOCATION"]) == "Online"  # the join URL is for registrants only
    assert b"meet.example.test" not in data
    # Replies ("Accepted: ...") go to the event's RSVP address, which records them.
    assert str(vevent["ORGANIZER"]) == "mailto:fall-series+rsvp@lists.forum.test"
    assert vevent["ORGANIZER"].params["CN"] == event.title
    description = str(vevent["DESCRIPTION"])
    assert "Jay L. Colbert" in description and "Jeannette Ho" in description
    assert "http://forum.test/events/fall-series" in description
    assert "METHOD" not in cal


def test_eforum_days_in_kolkata_and_lord_howe(client: FlaskClient) -> None:
    with clock.frozen(NOW):
        kolkata = make_event(
            "kolkata-forum",
            weekly(datetime(2025, 9, 10, 10), minutes=480, days=1),
            kind="eforum",
            zone="Asia/Kolkata",
        )
        # Lord Howe moves by 30 minutes on the first Sunday of October (2025-10-05).
        howe = make_event(
            "howe-forum",
            weekly(datetime(2025, 10, 3, 10), minutes=480, days=4),
            kind="eforum",
            zone="Australia/Lord_Howe",
        )
    data = client.get("/events/kolkata-forum.ics").data
    cal = parse_checked(data)
    assert [str(v["SUMMARY"]) for v in cal.walk("VEVENT")] == [
        "Kolkata Forum (day 1 of 2)",
        "Kolkata Forum (day 2 of 2)",
    ]
    got = instants(data)
    assert got[f"{kolkata.sessions[0].uid}@lists.forum.test"] == (
        datetime(2025, 9, 10, 4, 30, tzinfo=UTC),
        datetime(2025, 9, 10, 12, 30, tzinfo=UTC),
    )
    assert "E-forum by email: kolkata-forum@lists.forum.test" in str(cal.walk("VEVENT")[0]["LOCATION"])

    data = client.get("/events/howe-forum.ics").data
    parse_checked(data)
    got = instants(data)
    before, after = (got[f"{s.uid}@lists.forum.test"][0] for s in howe.sessions)
    assert before == datetime(2025, 10, 2, 23, 30, tzinfo=UTC)  # UTC+10:30
    assert after == datetime(2025, 10, 6, 23, 0, tzinfo=UTC)  # UTC+11
    assert b"TZOFFSETTO:+1100" in data


def test_session_file_and_missing_or_draft(client: FlaskClient) -> None:
    with clock.frozen(NOW):
        event = make_event("one", [(datetime(2025, 3, 4, 13), datetime(2025, 3, 4, 14))])
        draft = make_event("draft-one", [(datetime(2025, 3, 4, 13), datetime(2025, 3, 4, 14))], publish=False)
        other = make_event("other", [(datetime(2025, 3, 5, 13), datetime(2025, 3, 5, 14))])
    session = event.sessions[0]
    response = client.get(f"/events/one/sessions/{session.id}.ics")
    assert response.status_code == 200
    cal = parse_checked(response.data)
    (vevent,) = cal.walk("VEVENT")
    assert str(vevent["UID"]) == f"{session.uid}@lists.forum.test"
    assert session_file_bytes_equal(response.data, session)
    assert client.get("/events/draft-one.ics").status_code == 404
    assert client.get(f"/events/draft-one/sessions/{draft.sessions[0].id}.ics").status_code == 404
    assert client.get("/feeds/events/draft-one.ics").status_code == 404
    assert client.get(f"/events/one/sessions/{other.sessions[0].id}.ics").status_code == 404
    assert client.get("/events/nope.ics").status_code == 404


def session_file_bytes_equal(served: bytes, session) -> bool:  # type: ignore[no-untyped-def]
    return served == calendar.session_file(session)


def test_cancelled_session_says_so_and_sequence_rises(client: FlaskClient) -> None:
    with clock.frozen(NOW):
        event = make_event("moving", [(datetime(2025, 3, 4, 13), datetime(2025, 3, 4, 14))] * 1)
        session = event.sessions[0]
        events.set_session_times(
            session, datetime(2025, 3, 4, 15), datetime(2025, 3, 4, 16), "America/New_York"
        )
        db.session.commit()
        events.cancel_session(session)
        db.session.commit()
    (vevent,) = parse_checked(client.get("/events/moving.ics").data).walk("VEVENT")
    assert vevent["SEQUENCE"] == 2
    assert vevent["STATUS"] == "CANCELLED"
    assert str(vevent["SUMMARY"]).startswith("Cancelled: ")


def test_attendee_file_for_reminders(app) -> None:  # type: ignore[no-untyped-def]
    from tests.support.calendars import subscribe

    with clock.frozen(NOW):
        event = make_event("remind", [(datetime(2025, 3, 4, 13), datetime(2025, 3, 4, 14))])
        sub = subscribe(event, "ana@example.test", name="Ana")
    data = calendar.session_file(event.sessions[0], sub)
    (vevent,) = parse_checked(data).walk("VEVENT")
    assert str(vevent["ATTENDEE"]) == "mailto:ana@example.test"
    assert vevent["ATTENDEE"].params["CN"] == "Ana"


def test_google_and_outlook_links_use_utc(app) -> None:  # type: ignore[no-untyped-def]
    with clock.frozen(NOW):
        event = make_event(
            "links",
            [(datetime(2025, 7, 1, 10), datetime(2025, 7, 1, 18))],
            zone="Asia/Kolkata",
        )
    links = session_links(event.sessions[0])
    google = parse_qs(urlsplit(links.google).query)
    assert google["dates"] == ["20250701T043000Z/20250701T123000Z"]
    assert google["action"] == ["TEMPLATE"] and google["text"] == ["Links"]
    outlook = parse_qs(urlsplit(links.outlook).query)
    assert urlsplit(links.outlook).netloc == "outlook.live.com"
    assert outlook["startdt"] == ["2025-07-01T04:30:00Z"] and outlook["enddt"] == ["2025-07-01T12:30:00Z"]
    assert urlsplit(links.office365).netloc == "outlook.office.com"
    assert links.ics == f"http://forum.test/events/links/sessions/{event.sessions[0].id}.ics"


def test_add_fragment_offers_downloads_google_outlook_and_webcal(app) -> None:  # type: ignore[no-untyped-def]
    with clock.frozen(NOW):
        event = make_event("fragment", weekly(datetime(2025, 7, 1, 10)))
    with app.test_request_context("/"):
        html = render_template_string('{% include "calendar/_add.html" %}', event=event)
    assert 'href="http://forum.test/events/fragment.ics"' in html
    assert 'href="webcal://forum.test/feeds/events/fragment.ics"' in html
    assert html.count("calendar.google.com/calendar/render?action=TEMPLATE") == 2
    assert "dates=20250701T140000Z%2F20250701T150000Z" in html
    assert html.count("outlook.live.com/calendar/0/action/compose") == 2
    assert f"/events/fragment/sessions/{event.sessions[1].id}.ics" in html
    assert '<h2 id="add-to-calendar">' in html
