"""Platform attendance reports (Zoom, Microsoft Teams, plain email,minutes) become attendance
rows: matched by normalised address, minutes added up per person, unmatched rows reported by
line number, and the same file imported twice changes nothing."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from forum.ce import attendance
from forum.ce.attendance_import import ReportError, import_report, parse_duration
from forum.core.extensions import db
from forum.models import Attendance
from tests.support.ce import register, series

ZOOM_MEETING = """\
Meeting ID,Topic,Start Time,End Time,User Email,Duration (Minutes),Participants
851 2345 6789,Cataloging Series 1,03/05/2030 12:55:02 PM,03/05/2030 02:35:10 PM,ana.ruiz@example.org,100,5

Name (Original Name),User Email,Join Time,Leave Time,Duration (Minutes),Guest,In Waiting Room
Host Person,host@alcts.example,03/05/2030 12:55:02 PM,03/05/2030 02:35:10 PM,100,No,No
Ana Ruiz,Ana.Ruiz@Example.ORG,03/05/2030 12:58:00 PM,03/05/2030 01:40:00 PM,42,Yes,No
Ana Ruiz (Tablet),ana.ruiz@example.org,03/05/2030 01:45:00 PM,03/05/2030 02:30:00 PM,45,Yes,No
Bo Chen,bo@example.org,03/05/2030 01:02:00 PM,03/05/2030 02:30:00 PM,88,Yes,No
Stranger,stranger@example.net,03/05/2030 01:00:00 PM,03/05/2030 01:30:00 PM,30,Yes,No
Dial-in user,,03/05/2030 01:00:00 PM,03/05/2030 01:20:00 PM,20,Yes,No
"""

ZOOM_WEBINAR = """\
Attendee Report
Report Generated:,"03/12/2030 03:00 PM"
Topic,Webinar ID,Actual Start Time,Actual Duration (minutes),# Registered,Unique Viewers
Cataloging 2,912 3456 7890,03/12/2030 12:58:11 PM,95,4,2
Host Details,
Attended,User Name (Original Name),Email,Join Time,Leave Time,Time in Session (minutes),Country/Region Name
Yes,Host Person,host@alcts.example,03/12/2030 12:58:11 PM,03/12/2030 02:33:00 PM,95,United States
Panelist Details,
Attended,User Name (Original Name),Email,Join Time,Leave Time,Time in Session (minutes),Country/Region Name
Attendee Details,
Attended,User Name (Original Name),First Name,Last Name,Email,Registration Time,Approval Status,Join Time,Leave Time,Time in Session (minutes),Country/Region Name
Yes,Ana Ruiz,Ana,Ruiz,ana.ruiz@example.org,02/20/2030 09:00:00 AM,approved,03/12/2030 01:00:00 PM,03/12/2030 02:30:00 PM,90,United States
No,Bo Chen,Bo,Chen,bo@example.org,02/21/2030 10:00:00 AM,approved,--,--,--,
"""

TEAMS = (
    "1. Summary\n"
    "Meeting title\tCataloging 3\n"
    "Attended participants\t3\n"
    "Start time\t3/19/30, 12:58:03 PM\n"
    "Meeting duration\t1h 35m 7s\n"
    "\n"
    "2. Participants\n"
    "Name\tFirst Join\tLast Leave\tIn-Meeting Duration\tEmail\tParticipant ID (UPN)\tRole\n"
    "Host Person\t3/19/30, 12:58:03 PM\t3/19/30, 2:33:10 PM\t1h 35m 7s\thost@alcts.example\thost@alcts.example\tOrganizer\n"
    "Ana Ruiz\t3/19/30, 1:01:00 PM\t3/19/30, 2:30:00 PM\t1h 29m\tana.ruiz@example.org\tana.ruiz@example.org\tAttendee\n"
    "Cy Dee\t3/19/30, 1:05:00 PM\t3/19/30, 2:10:00 PM\t25m 40s\tcy@example.org\tcy@example.org\tAttendee\n"
    "\n"
    "3. In-Meeting Activities\n"
    "Name\tJoin Time\tLeave Time\tDuration\tEmail\tRole\n"
    "Ana Ruiz\t3/19/30, 1:01:00 PM\t3/19/30, 2:30:00 PM\t1h 29m\tana.ruiz@example.org\tAttendee\n"
    "Cy Dee\t3/19/30, 1:05:00 PM\t3/19/30, 1:15:20 PM\t10m 20s\tcy@example.org\tAttendee\n"
    "Cy Dee\t3/19/30, 1:55:00 PM\t3/19/30, 2:10:20 PM\t15m 20s\tcy@example.org\tAttendee\n"
)


@pytest.fixture
def event(app: Flask):  # type: ignore[no-untyped-def]
    ev = series()
    register(ev, "ana.ruiz@example.org", "Ana Ruiz")
    register(ev, "bo@example.org", "Bo Chen")
    register(ev, "cy@example.org", "Cy Dee")
    return ev


def minutes_by_email(session_id: int) -> dict[str, tuple[int | None, str]]:
    rows = db.session.scalars(select(Attendance).where(Attendance.session_id == session_id))
    return {r.subscription.participant.email: (r.minutes, r.sources) for r in rows}


def test_zoom_participant_report_adds_up_rejoins_and_lists_unmatched_lines(event) -> None:  # type: ignore[no-untyped-def]
    session = event.active_sessions[0]
    report = import_report(session, ZOOM_MEETING.encode())
    db.session.commit()
    assert report.layout == "Zoom"
    assert minutes_by_email(session.id) == {
        "ana.ruiz@example.org": (87, "import"),  # 42 + 45 after rejoining, matched despite the capitals
        "bo@example.org": (88, "import"),
    }
    assert (report.matched, report.added) == (2, 2)
    # the meeting summary's host address (line 2) is not read as a person
    assert report.unmatched == [
        (5, "host@alcts.example", "not registered for this event"),
        (9, "stranger@example.net", "not registered for this event"),
        (10, "", "no email address on this row"),
    ]


def test_zoom_webinar_attendee_report_skips_sections_and_absentees(event) -> None:  # type: ignore[no-untyped-def]
    session = event.active_sessions[1]
    report = import_report(session, ZOOM_WEBINAR.encode("utf-8-sig"))
    db.session.commit()
    assert minutes_by_email(session.id) == {"ana.ruiz@example.org": (90, "import")}  # Bo: Attended = No
    assert [line for line, _, _ in report.unmatched] == [7]  # the host


def test_teams_utf16_list_with_summary_and_activities(event) -> None:  # type: ignore[no-untyped-def]
    session = event.active_sessions[2]
    report = import_report(session, TEAMS.encode("utf-16"))  # with BOM, as Teams downloads it
    db.session.commit()
    assert report.layout == "Microsoft Teams"
    # per person the larger of the section totals: Cy 25m40s (participants) vs 10+15 (activities)
    assert minutes_by_email(session.id) == {
        "ana.ruiz@example.org": (89, "import"),
        "cy@example.org": (26, "import"),
    }
    assert report.unmatched == [(9, "host@alcts.example", "not registered for this event")]


def test_plain_file_with_and_without_header(event) -> None:  # type: ignore[no-untyped-def]
    session = event.active_sessions[0]
    report = import_report(
        session, b"email,minutes\nBO@example.org,61\nnobody@example.com,30\nnot-an-address,10\n"
    )
    db.session.commit()
    assert minutes_by_email(session.id) == {"bo@example.org": (61, "import")}
    assert report.unmatched == [
        (3, "nobody@example.com", "not registered for this event"),
        (4, "not-an-address", "no email address on this row"),
    ]
    import_report(session, b"cy@example.org,45\r\n")
    db.session.commit()
    assert minutes_by_email(session.id)["cy@example.org"] == (45, "import")


def test_importing_the_same_file_twice_changes_nothing(event) -> None:  # type: ignore[no-untyped-def]
    session = event.active_sessions[0]
    import_report(session, ZOOM_MEETING.encode())
    db.session.commit()
    before = {(r.id, r.minutes, r.sources, r.updated_at) for r in db.session.scalars(select(Attendance))}
    again = import_report(session, ZOOM_MEETING.encode())
    db.session.commit()
    db.session.expire_all()
    after = {(r.id, r.minutes, r.sources, r.updated_at) for r in db.session.scalars(select(Attendance))}
    assert after == before
    assert (again.added, again.updated, again.unchanged) == (0, 0, 2)


def test_report_joins_a_link_row_and_keeps_the_largest_minutes(event) -> None:  # type: ignore[no-untyped-def]
    from tests.support.ce import clicked

    session = event.active_sessions[0]
    sub = attendance.registrations(event)[1]  # bo
    clicked(sub, session)
    import_report(session, b"email,minutes\nbo@example.org,88\n")
    import_report(session, b"email,minutes\nbo@example.org,50\n")  # a shorter partial export later
    db.session.commit()
    row = db.session.scalars(select(Attendance).where(Attendance.subscription_id == sub.id)).one()
    assert (row.sources, row.minutes, row.clicks) == ("import,link", 88, 1)


def test_pending_registration_is_reported_not_counted(app: Flask) -> None:
    ev = series()
    register(ev, "late@example.org", status="pending")
    report = import_report(ev.active_sessions[0], b"email,minutes\nlate@example.org,60\n")
    assert report.unmatched == [(2, "late@example.org", "registration never confirmed")]
    assert report.matched == 0


def test_a_file_with_no_attendance_rows_is_refused(event) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ReportError, match="No attendance rows"):
        import_report(event.active_sessions[0], b"Title,Something\nA,B\n")


@pytest.mark.parametrize(
    ("text", "minutes"),
    [("45", 45), ("1h 2m 3s", 62), ("45m 12s", 45), ("1:02:03", 62), ("62:30", 63), ("3s", 0), ("--", None)],
)
def test_durations_as_platforms_write_them(text: str, minutes: int | None) -> None:
    assert parse_duration(text) == minutes


def test_minutes_from_join_and_leave_when_no_duration_column(event) -> None:  # type: ignore[no-untyped-def]
    session = event.active_sessions[0]
    text = "Full Name,Join Time,Leave Time,Email\nAna Ruiz,03/05/2030 01:00:00 PM,03/05/2030 02:15:00 PM,ana.ruiz@example.org\n"
    import_report(session, text.encode())
    db.session.commit()
    assert minutes_by_email(session.id)["ana.ruiz@example.org"][0] == 75


def test_cli_imports_a_report_for_a_session_by_number(app: Flask, event) -> None:  # type: ignore[no-untyped-def]
    import tempfile

    with tempfile.NamedTemporaryFile("wb", suffix=".csv", delete=False) as handle:
        handle.write(TEAMS.encode("utf-16"))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["forum", "import-attendance", event.slug, "3", handle.name])
    assert result.exit_code == 0, result.output
    assert "Microsoft Teams: 2 matched (2 new, 0 updated, 0 unchanged), 1 not matched" in result.output
    assert "line 9: host@alcts.example: not registered for this event" in result.output
    assert minutes_by_email(event.active_sessions[2].id)["cy@example.org"] == (26, "import")
    wrong = runner.invoke(args=["forum", "import-attendance", event.slug, "4", handle.name])
    assert wrong.exit_code == 1 and "has 3 session(s)" in wrong.output


def test_the_old_teams_log_without_addresses_gets_a_way_forward(event) -> None:  # type: ignore[no-untyped-def]
    old = "Full Name\tUser Action\tTimestamp\nAna Ruiz\tJoined\t3/19/2030, 1:01:00 PM\n".encode("utf-16")
    with pytest.raises(ReportError, match="no email column"):
        import_report(event.active_sessions[2], old)
