"""Officer pages: sign-in, events, sessions (zones, DST), panelists, publish and cancel."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from flask.testing import FlaskClient

from forum.core.extensions import db
from forum.models import Event, Panelist, Session
from tests.conftest import csrf_from, submit
from tests.support.factories import weekly
from tests.support.live import (
    OFFICER_PASSWORD,
    make_event,
    make_officer,
    post_form,
    sign_in,
    subscribe,
)

EVENT = {
    "kind": "eforum",
    "title": "Mentoring in Technical Services",
    "slug": "ts-mentoring",
    "summary": "Mentoring for TS staff.",
    "description": "At many libraries, *technical services* is small.",
    "learning_outcomes": "Share experiences\nDiscuss approaches",
    "audience": "Librarians and staff",
    "tech_requirements": "Internet connection with email address.",
    "registration_info": "Register once.",
    "contact_name": "Megan Dougherty",
    "contact_email": "megan@example.org",
    "contact_phone": "1-800-545-2433, ext. 5038",
    "conduct_url": "https://example.org/conduct",
    "timezone": "America/New_York",
    "moderation": "new",
    "archive_public": "y",
    "reply_to_list": "y",
    "digest_hour": "18",
    "reminder_offsets": "60, 1440",
}


@pytest.fixture
def officer(app):  # type: ignore[no-untyped-def]
    return make_officer()


@pytest.fixture
def signed_in(client: FlaskClient, officer) -> FlaskClient:  # type: ignore[no-untyped-def]
    response = sign_in(client)
    assert response.status_code == 302
    return client


def error_after(html: str, field_id: str) -> str:
    """The error list rendered next to a field (`<ul class="errors" id="<field>-err">`)."""
    match = re.search(rf'<ul class="errors" id="{field_id}-err">(.*?)</ul>', html, re.S)
    assert match, f"no error shown next to {field_id}"
    return re.sub(r"<[^>]+>", "", match.group(1)).replace("&#34;", '"').replace("&#39;", "'")


def refused_at(client: FlaskClient, url: str, values: dict[str, str], field_id: str, message: str) -> str:
    """POST a form the server must refuse: a 400 with `message` next to `field_id`; the page."""
    response = post_form(client, url, values)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in error_after(html, field_id)
    return html


# --- sign-in ------------------------------------------------------------------------------


def test_manage_requires_sign_in(client: FlaskClient) -> None:
    for url in ("/manage/", "/manage/events/new", "/manage/events/x/sessions"):
        response = client.get(url)
        assert response.status_code == 302
        assert "/login?next=" in response.headers["Location"]


def test_sign_in_does_not_reveal_which_accounts_exist(client: FlaskClient, officer) -> None:  # type: ignore[no-untyped-def]
    unknown = sign_in(client, email="nobody@forum.test", password=OFFICER_PASSWORD)
    wrong = sign_in(client, password="not the password")
    assert unknown.status_code == wrong.status_code == 400
    for response in (unknown, wrong):
        html = response.get_data(as_text=True)
        assert "That email address and password do not match an officer account." in html
        assert 'value="not the password"' not in html  # the password is not echoed back
    assert client.get("/manage/").status_code == 302


def test_sign_in_keeps_the_email_and_goes_where_asked(client: FlaskClient, officer) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/login?next=/manage/events/new")
    bad = submit(client, "/login", page.data, email="officer@forum.test", password="", next="/manage/events/new")
    assert bad.status_code == 400
    html = bad.get_data(as_text=True)
    assert 'value="officer@forum.test"' in html
    assert "Enter your password." in error_after(html, "password")
    ok = submit(
        client, "/login", page.data, email="Officer@Forum.test", password=OFFICER_PASSWORD, next="/manage/events/new"
    )
    assert ok.headers["Location"] == "/manage/events/new"
    assert client.get("/manage/").status_code == 200


def test_sign_in_ignores_an_offsite_next(client: FlaskClient, officer) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/login")
    response = submit(
        client, "/login", page.data, email="officer@forum.test", password=OFFICER_PASSWORD, next="//evil.example/"
    )
    assert response.headers["Location"] == "/manage/"


def test_sign_out(signed_in: FlaskClient) -> None:
    page = signed_in.get("/manage/")
    response = signed_in.post("/logout", data={"csrf_token": csrf_from(page.data)})
    assert response.status_code == 302
    with signed_in.session_transaction() as session:  # the sign-in is gone from the cookie
        assert "_user_id" not in session
    after = signed_in.get("/manage/")
    assert after.status_code == 302 and after.headers["Location"].startswith("/login")


# --- events -------------------------------------------------------------------------------


def test_create_event_and_see_it_listed(signed_in: FlaskClient) -> None:
    response = post_form(signed_in, "/manage/events/new", EVENT)
    assert response.status_code == 302
    assert response.headers["Location"] == "/manage/events/ts-mentoring/sessions"
    event = Event.by_slug("ts-mentoring")
    assert event is not None and event.status == "draft"
    assert event.contact_phone == "1-800-545-2433, ext. 5038"
    assert event.reminder_offsets == "1440,60"
    assert event.archive_public and event.reply_to_list
    listing = signed_in.get("/manage/").get_data(as_text=True)
    assert "Mentoring in Technical Services" in listing
    assert "No sessions yet" in listing


def test_slug_is_made_from_the_title_when_left_empty(signed_in: FlaskClient, app) -> None:  # type: ignore[no-untyped-def]
    make_event("mentoring-in-technical-services", [], publish=False)
    response = post_form(signed_in, "/manage/events/new", {**EVENT, "slug": ""})
    assert response.status_code == 302
    assert Event.by_slug("mentoring-in-technical-services-2") is not None


def test_duplicate_slug_is_refused(signed_in: FlaskClient) -> None:
    make_event("ts-mentoring", [], publish=False)
    response = post_form(signed_in, "/manage/events/new", EVENT)
    assert response.status_code == 400
    assert "“ts-mentoring” is already the address of “Ts Mentoring”" in error_after(
        response.get_data(as_text=True), "slug"
    )


def test_edit_event_and_slug_is_fixed_once_published(signed_in: FlaskClient) -> None:
    make_event("ts-mentoring", [(datetime(2030, 9, 10, 10), datetime(2030, 9, 10, 18))])
    url = "/manage/events/ts-mentoring/edit"
    response = post_form(signed_in, url, {**EVENT, "slug": "new-address"})
    assert response.status_code == 400
    assert "cannot change after publishing" in error_after(response.get_data(as_text=True), "slug")
    subscribe(Event.by_slug("ts-mentoring"), "a@example.org")
    assert "Changing the title sends a calendar update to 1 person." in signed_in.get(url).get_data(
        as_text=True
    )
    response = post_form(signed_in, url, {**EVENT, "title": "Renamed"})
    assert response.status_code == 302
    assert "The new title goes to 1 person as a calendar update." in signed_in.get(
        "/manage/events/ts-mentoring"
    ).get_data(as_text=True)
    db.session.expire_all()
    event = Event.by_slug("ts-mentoring")
    assert event.title == "Renamed" and event.sessions[0].sequence == 1


def test_preview_a_draft_that_the_public_cannot_see(signed_in: FlaskClient, app) -> None:  # type: ignore[no-untyped-def]
    make_event("draft-one", [(datetime(2030, 9, 10, 10), datetime(2030, 9, 10, 18))], publish=False)
    preview = signed_in.get("/manage/events/draft-one/preview").get_data(as_text=True)
    assert "Preview of the public page (draft)" in preview
    assert "10:00 AM–6:00 PM (Eastern)" in preview
    assert app.test_client().get("/events/draft-one").status_code == 404


def test_publish_needs_a_session_then_goes_live(signed_in: FlaskClient, app) -> None:  # type: ignore[no-untyped-def]
    make_event("empty", [], publish=False)
    response = post_form(signed_in, "/manage/events/empty", {}, action="/manage/events/empty/publish")
    assert response.status_code == 302
    assert "Add at least one session before publishing" in signed_in.get("/manage/events/empty").get_data(
        as_text=True
    )
    assert Event.by_slug("empty").status == "draft"
    make_event("ready", [(datetime(2030, 9, 10, 10), datetime(2030, 9, 10, 18))], publish=False)
    post_form(signed_in, "/manage/events/ready", {}, action="/manage/events/ready/publish")
    db.session.expire_all()
    assert Event.by_slug("ready").status == "published"
    assert app.test_client().get("/events/ready").status_code == 200


def test_cancel_says_how_many_get_a_calendar_cancellation(signed_in: FlaskClient, app) -> None:  # type: ignore[no-untyped-def]
    event = make_event("going", [(datetime(2030, 9, 10, 10), datetime(2030, 9, 10, 18))])
    subscribe(event, "a@example.org")
    subscribe(event, "b@example.org")
    page = signed_in.get("/manage/events/going/cancel").get_data(as_text=True)
    assert "2 people will get a calendar cancellation" in page
    response = signed_in.post("/manage/events/going/cancel", data={"csrf_token": csrf_from(page)})
    assert response.status_code == 302
    db.session.expire_all()
    event = Event.by_slug("going")
    assert event.status == "cancelled"
    assert all(s.status == "cancelled" and s.sequence == 1 for s in event.sessions)
    public = app.test_client().get("/events/going").get_data(as_text=True)
    assert "Cancelled." in public and "will not take place" in public


def test_cancel_without_csrf_is_refused(signed_in: FlaskClient) -> None:
    make_event("going", [(datetime(2030, 9, 10, 10), datetime(2030, 9, 10, 18))])
    response = signed_in.post("/manage/events/going/cancel", data={})
    assert response.status_code == 400
    assert "The form expired or was sent from another site." in response.get_data(as_text=True)
    assert Event.by_slug("going").status == "published"


# --- sessions -----------------------------------------------------------------------------

SESSION = {
    "title": "",
    "date": "2030-09-10",
    "start_time": "10:00",
    "end_time": "18:00",
    "timezone": "America/New_York",
}


def test_add_session_in_the_home_zone(signed_in: FlaskClient) -> None:
    make_event("ts", [], publish=False)
    response = post_form(signed_in, "/manage/events/ts/sessions", SESSION)
    assert response.status_code == 302
    page = signed_in.get("/manage/events/ts/sessions").get_data(as_text=True)
    assert "Session added." in page
    for line in ("10:00 AM–6:00 PM (Eastern)", "9:00 AM–5:00 PM (Central)", "7:00 AM–3:00 PM (Pacific)"):
        assert line in page


def test_session_zone_defaults_to_the_event_zone(signed_in: FlaskClient) -> None:
    make_event("ts", [], publish=False, zone="Europe/London")
    page = signed_in.get("/manage/events/ts/sessions").get_data(as_text=True)
    assert re.search(r'<option selected value="Europe/London">|<option value="Europe/London" selected', page)


@pytest.mark.parametrize(
    ("changes", "field_id", "message"),
    [
        (
            {"date": "2030-03-10", "start_time": "02:30", "end_time": "04:00"},
            "start_time",
            "2:30 AM on Sunday, 3/10/2030 does not exist in America/New_York",
        ),
        (
            {"start_time": "18:00", "end_time": "10:00"},  # overnight, but 16 hours: a typo
            "end_time",
            "would last 16 hours",
        ),
        ({"timezone": "Nowhere/Special"}, "timezone", "is not a known time zone"),
        ({"date": ""}, "date", "Pick the date."),
        ({"join_url": "zoom meeting"}, "join_url", "Enter a full web address"),
    ],
)
def test_session_form_errors(
    signed_in: FlaskClient, changes: dict[str, str], field_id: str, message: str
) -> None:
    make_event("ts", [], publish=False)
    response = post_form(
        signed_in, "/manage/events/ts/sessions", {**SESSION, "title": "Kept title", **changes}
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in error_after(html, field_id)
    assert 'value="Kept title"' in html
    assert db.session.scalar(db.select(db.func.count(Session.id))) == 0


def test_ambiguous_time_is_accepted_with_a_note(signed_in: FlaskClient) -> None:
    make_event("ts", [], publish=False)
    data = {**SESSION, "date": "2030-11-03", "start_time": "01:30", "end_time": "03:00"}
    post_form(signed_in, "/manage/events/ts/sessions", data)
    page = signed_in.get("/manage/events/ts/sessions").get_data(as_text=True)
    assert "happens twice in America/New_York" in page
    assert "the first one (EDT, UTC-04:00) was used" in page


def test_series_across_dst_warns_the_officer(signed_in: FlaskClient) -> None:
    make_event("series", weekly(datetime(2030, 10, 29, 13)), kind="series", publish=False)
    page = signed_in.get("/manage/events/series/sessions").get_data(as_text=True)
    assert "cross a daylight-saving change in America/New_York" in page
    assert "UTC-04:00 → UTC-05:00 (EST)" in page
    assert "1:00 PM–2:00 PM (Eastern)" in page  # local time kept on both sides


def add_days(client: FlaskClient, first: str, last: str, start: str = "10:00"):  # type: ignore[no-untyped-def]
    """The draft e-forum "ef" and its "one session per day" form, to 6 PM Eastern."""
    if Event.by_slug("ef") is None:
        make_event("ef", [], publish=False)
    data = {"first_date": first, "last_date": last, "start_time": start, "end_time": "18:00"}
    return post_form(
        client,
        "/manage/events/ef/sessions",
        {**{f"days-{name}": value for name, value in data.items()}, "days-timezone": "America/New_York"},
        action="/manage/events/ef/sessions/days",
    )


def test_add_one_session_per_day_for_an_eforum(signed_in: FlaskClient) -> None:
    assert add_days(signed_in, "2030-09-10", "2030-09-12").status_code == 302
    assert add_days(signed_in, "2030-09-10", "2030-09-12").status_code == 302
    assert "Skipped days that already had a session: 9/10/2030, 9/11/2030, 9/12/2030" in signed_in.get(
        "/manage/events/ef/sessions"
    ).get_data(as_text=True)
    event = Event.by_slug("ef")
    assert [s.start_wall for s in event.sessions] == [datetime(2030, 9, d, 10) for d in (10, 11, 12)]


def test_day_range_errors(signed_in: FlaskClient) -> None:
    response = add_days(signed_in, "2030-09-12", "2030-09-10")
    assert response.status_code == 400
    assert "must not be before the first day" in error_after(
        response.get_data(as_text=True), "days-last_date"
    )
    response = add_days(signed_in, "2030-03-09", "2030-03-11", start="02:00")
    assert response.status_code == 400
    assert "does not exist in America/New_York" in error_after(
        response.get_data(as_text=True), "days-start_time"
    )
    assert Event.by_slug("ef").sessions == []


def test_edit_published_session_says_how_many_updates_and_bumps_sequence(signed_in: FlaskClient) -> None:
    event = make_event("pub", [(datetime(2030, 9, 10, 10), datetime(2030, 9, 10, 18))])
    subscribe(event, "a@example.org")
    session_id = event.sessions[0].id
    url = f"/manage/events/pub/sessions/{session_id}"
    page = signed_in.get(url).get_data(as_text=True)
    assert "Saving a change sends a calendar update to 1 person." in page
    assert 'value="10:00"' in page and 'value="2030-09-10"' in page
    response = signed_in.post(url, data={**SESSION, "start_time": "11:00", "csrf_token": csrf_from(page)})
    assert response.status_code == 302
    assert "Calendar updates go to 1 person." in signed_in.get("/manage/events/pub/sessions").get_data(
        as_text=True
    )
    db.session.expire_all()
    session = db.session.get(Session, session_id)
    assert session.sequence == 1 and session.start_wall == datetime(2030, 9, 10, 11)
    # saving without a change sends nothing and keeps the sequence
    signed_in.post(url, data={**SESSION, "start_time": "11:00", "csrf_token": csrf_from(page)})
    db.session.expire_all()
    assert db.session.get(Session, session_id).sequence == 1


def test_cancel_a_session_of_a_published_event(signed_in: FlaskClient, app) -> None:  # type: ignore[no-untyped-def]
    event = make_event("pub", weekly(datetime(2030, 9, 10, 10)), kind="series")
    first = event.sessions[0].id
    url = f"/manage/events/pub/sessions/{first}/cancel"
    page = signed_in.get(url).get_data(as_text=True)
    assert "0 people will get a calendar cancellation" in page
    signed_in.post(url, data={"csrf_token": csrf_from(page)})
    db.session.expire_all()
    assert db.session.get(Session, first).status == "cancelled"
    public = app.test_client().get("/events/pub").get_data(as_text=True)
    assert "badge-cancelled" in public


def test_remove_a_session_of_a_draft(signed_in: FlaskClient) -> None:
    event = make_event("d", [(datetime(2030, 9, 10, 10), datetime(2030, 9, 10, 11))], publish=False)
    url = f"/manage/events/d/sessions/{event.sessions[0].id}/cancel"
    post_form(signed_in, url, {})
    db.session.expire_all()
    assert Event.by_slug("d").sessions == []


def test_other_events_session_is_not_found(signed_in: FlaskClient) -> None:
    other = make_event("other", [(datetime(2030, 9, 10, 10), datetime(2030, 9, 10, 11))])
    make_event("mine", [], publish=False)
    response = signed_in.get(f"/manage/events/mine/sessions/{other.sessions[0].id}")
    assert response.status_code == 404
    assert "That session is not part of this event." in response.get_data(as_text=True)


# --- panelists ----------------------------------------------------------------------------

PANELIST = {
    "name": "Jay L. Colbert",
    "title": "Resident Librarian",
    "affiliation": "University of Utah",
    "pronouns": "they/them",
    "email": "jay@example.org",
    "photo_url": "https://example.org/jay.jpg",
    "links": "https://example.org/jay\n",
    "bio": "Jay was the **2017-2019** Resident Librarian.",
    "role": "moderator",
}


#: Each officer form: its address, valid values, and a text the refused page must keep.
FORMS = {
    "event": ("/manage/events/new", EVENT, "At many libraries, *technical services* is small."),
    "panelist": ("/manage/events/ef/panelists/new", PANELIST, "Jay was the **2017-2019** Resident Librarian."),
}


@pytest.mark.parametrize(
    ("form", "changes", "field_id", "message"),
    [
        ("event", {"title": "  "}, "title", "Give the event a title."),
        ("event", {"slug": "Has Spaces"}, "slug", "Use lower-case letters, digits and single hyphens"),
        ("event", {"timezone": "Mars/Olympus_Mons"}, "timezone", "is not a known time zone"),
        ("event", {"conduct_url": "example.org/conduct"}, "conduct_url", "Enter a full web address"),
        ("event", {"conduct_url": "javascript:alert(1)"}, "conduct_url", "Enter a full web address"),
        ("event", {"contact_email": "megan at example"}, "contact_email", "Enter an email address"),
        ("event", {"digest_hour": "25"}, "digest_hour", "Use an hour from 0 to 23."),
        ("event", {"reminder_offsets": "60, soon"}, "reminder_offsets", "“soon” is not a number of minutes"),
        ("panelist", {"name": ""}, "name", "Enter the panelist's name."),
        ("panelist", {"photo_url": "jay.jpg"}, "photo_url", "Enter a full web address"),
        ("panelist", {"links": "https://ok.example\nnot a link"}, "links", "Line 2 (“not a link”) is not a web address"),
        ("panelist", {"email": "jay@"}, "email", "Enter an email address"),
    ],
)
def test_form_errors_sit_next_to_the_field_and_keep_the_input(
    signed_in: FlaskClient, form: str, changes: dict[str, str], field_id: str, message: str
) -> None:
    make_event("ef", [], publish=False)
    url, values, kept = FORMS[form]
    html = refused_at(signed_in, url, {**values, **changes}, field_id, message)
    assert kept in html  # nothing typed is lost
    assert db.session.scalar(db.select(db.func.count(Event.id))) == 1  # only "ef": nothing was made
    assert db.session.scalar(db.select(db.func.count(Panelist.id))) == 0
    if form == "event":
        assert 'value="1-800-545-2433, ext. 5038"' in html


def test_add_panelist_then_reuse_on_another_event(signed_in: FlaskClient, app) -> None:  # type: ignore[no-untyped-def]
    make_event("one", [(datetime(2030, 9, 10, 10), datetime(2030, 9, 10, 18))])
    make_event("two", [(datetime(2030, 10, 10, 10), datetime(2030, 10, 10, 18))])
    assert post_form(signed_in, "/manage/events/one/panelists/new", PANELIST).status_code == 302
    search = signed_in.get("/manage/events/two/panelists?q=colb").get_data(as_text=True)
    assert "Jay L. Colbert" in search and '<option value="Jay L. Colbert">' in search
    panelist = db.session.scalar(db.select(Panelist))
    response = signed_in.post(
        "/manage/events/two/panelists/attach",
        data={"panelist_id": str(panelist.id), "role": "presenter", "csrf_token": csrf_from(search)},
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count(Panelist.id))) == 1
    assert [link.role for link in panelist.event_links] and {
        link.event.slug: link.role for link in panelist.event_links
    } == {"one": "moderator", "two": "presenter"}
    public = app.test_client().get("/events/one").get_data(as_text=True)
    assert "Jay L. Colbert" in public and "<strong>2017-2019</strong>" in public and "Moderator" in public
    bio = app.test_client().get(f"/panelists/{panelist.id}").get_data(as_text=True)
    assert "Resident Librarian, University of Utah" in bio and "One" in bio and "Two" in bio
    # already on the event: not offered again
    assert (
        "Jay L. Colbert</strong>"
        not in signed_in.get("/manage/events/two/panelists?q=colb")
        .get_data(as_text=True)
        .split('id="reuse"')[1]
    )


def test_reorder_change_role_and_remove_panelists(signed_in: FlaskClient) -> None:
    event = make_event(
        "ef", [], publish=False, panelists=(("Ann", "panelist"), ("Bo", "panelist"), ("Cy", "moderator"))
    )
    links = {link.panelist.name: link.id for link in event.panelist_links}
    page = signed_in.get("/manage/events/ef/panelists").get_data(as_text=True)
    token = csrf_from(page)

    def press(name: str, action: str, role: str = "panelist") -> None:
        response = signed_in.post(
            f"/manage/events/ef/panelists/{links[name]}",
            data={"action": action, "role": role, "csrf_token": token},
        )
        assert response.status_code == 302

    def order() -> list[tuple[str, str]]:
        db.session.expire_all()
        return [(link.panelist.name, link.role) for link in Event.by_slug("ef").panelist_links]

    press("Cy", "up")
    assert order() == [("Ann", "panelist"), ("Cy", "moderator"), ("Bo", "panelist")]
    press("Ann", "down")
    assert order() == [("Cy", "moderator"), ("Ann", "panelist"), ("Bo", "panelist")]
    press("Bo", "role", role="presenter")
    press("Ann", "remove")
    assert order() == [("Cy", "moderator"), ("Bo", "presenter")]
    assert db.session.scalar(db.select(db.func.count(Panelist.id))) == 3  # the bio stays


def test_edit_panelist_bio(signed_in: FlaskClient) -> None:
    event = make_event("ef", [], publish=False, panelists=(("Ann", "panelist"),))
    panelist_id = event.panelist_links[0].panelist_id
    url = f"/manage/panelists/{panelist_id}/edit?event=ef"
    response = post_form(signed_in, url, {**PANELIST, "name": "Ann Lee", "bio": "New bio"})
    assert response.status_code == 302 and response.headers["Location"] == "/manage/events/ef/panelists"
    db.session.expire_all()
    assert db.session.get(Panelist, panelist_id).bio == "New bio"


def test_subnav_links_only_to_registered_pages(signed_in: FlaskClient) -> None:
    make_event("ef", [], publish=False)
    page = signed_in.get("/manage/events/ef").get_data(as_text=True)
    nav = page.split('aria-label="This event"')[1].split("</nav>")[0]
    assert 'href="/manage/events/ef/sessions"' in nav and 'aria-current="page">Overview' in nav


def _subnav(client: FlaskClient, url: str) -> str:
    page = client.get(url).get_data(as_text=True)
    return page.split('aria-label="This event"')[1].split("</nav>")[0]


def test_subnav_reaches_seats_and_recordings_of_a_series_only(signed_in: FlaskClient) -> None:
    """A series' seats and recordings are tabs like the rest (they were reachable only from a
    line on the subscribers page); an e-forum has neither, and no series has moderation."""
    make_event("series", [(datetime(2030, 9, 10, 13), datetime(2030, 9, 10, 14))], kind="series")
    make_event("ef", [], publish=False)
    nav = _subnav(signed_in, "/manage/events/series")
    assert 'href="/manage/events/series/seats"' in nav and 'href="/manage/events/series/recordings"' in nav
    assert "/moderation" not in nav
    assert 'href="/manage/events/series/seats" aria-current="page"' in _subnav(signed_in, "/manage/events/series/seats")
    nav = _subnav(signed_in, "/manage/events/ef")
    assert "/seats" not in nav and "/recordings" not in nav and 'href="/manage/events/ef/moderation"' in nav
    for page in ("seats", "recordings"):  # typed by hand: a clear 404, not a page for a series
        answer = signed_in.get(f"/manage/events/ef/{page}")
        assert answer.status_code == 404 and "for webinar series" in answer.get_data(as_text=True)


def test_reorder_sessions_by_trading_slots(signed_in: FlaskClient) -> None:
    event = make_event(
        "series",
        [
            (datetime(2030, 9, 10, 13), datetime(2030, 9, 10, 14)),
            (datetime(2030, 9, 17, 15), datetime(2030, 9, 17, 16)),
        ],
        kind="series",
    )
    first, second = event.sessions
    first.title, second.title = "Basics", "Advanced"
    db.session.commit()
    page = signed_in.get("/manage/events/series/sessions").get_data(as_text=True)
    response = signed_in.post(
        f"/manage/events/series/sessions/{second.id}/move",
        data={"direction": "up", "csrf_token": csrf_from(page)},
    )
    assert response.status_code == 302
    assert "“Advanced” now takes the 9/10 slot." in signed_in.get("/manage/events/series/sessions").get_data(
        as_text=True
    )
    db.session.expire_all()
    event = Event.by_slug("series")
    assert [(s.title, s.start_wall, s.sequence) for s in event.sessions] == [
        ("Advanced", datetime(2030, 9, 10, 13), 1),
        ("Basics", datetime(2030, 9, 17, 15), 1),
    ]


# --- e-forum-only settings ------------------------------------------------------------------


def _eforum_fieldset(html: str) -> str:
    """The opening tag of the e-forum settings fieldset ("" when the page has none)."""
    match = re.search(r'<fieldset id="eforum-settings"[^>]*>', html)
    return match.group(0) if match else ""


def test_eforum_settings_show_for_eforums_only(signed_in: FlaskClient) -> None:
    day = [(datetime(2030, 9, 10, 10), datetime(2030, 9, 10, 11))]
    make_event("ts-mentoring", day)
    make_event("cataloging-series", day, kind="series", reminder_offsets="60")
    forum = signed_in.get("/manage/events/ts-mentoring/edit").get_data(as_text=True)
    tag = _eforum_fieldset(forum)
    assert tag and "hidden" not in tag and "is-off" not in tag
    assert "For e-forums only" in forum and 'id="digest_hour"' in forum
    series = signed_in.get("/manage/events/cataloging-series/edit").get_data(as_text=True)
    tag = _eforum_fieldset(series)
    assert " hidden" in tag and "is-off" in tag  # still submitted, never shown
    # Reminders apply to webinar series: outside the hidden fieldset, filled in.
    reminders = series.index('id="reminder_offsets"')
    assert series.index("</fieldset>", series.index(tag)) < reminders
    assert 'value="60"' in series[reminders - 200 : reminders + 200]
    # A new event shows the settings without JS (with the note); the script toggles them.
    new = signed_in.get("/manage/events/new").get_data(as_text=True)
    tag = _eforum_fieldset(new)
    assert tag and "hidden" not in tag and "For e-forums only" in new
    assert '<script src="/static/js/event-form.js" defer></script>' in new
    assert signed_in.get("/static/js/event-form.js").status_code == 200


def test_series_keeps_its_eforum_settings_when_saved(signed_in: FlaskClient) -> None:
    day = [(datetime(2030, 9, 10, 10), datetime(2030, 9, 10, 11))]
    make_event("cataloging-series", day, kind="series")
    url = "/manage/events/cataloging-series/edit"
    response = post_form(signed_in, url, {**EVENT, "kind": "series", "slug": "cataloging-series"})
    assert response.status_code == 302
    db.session.expire_all()
    event = Event.by_slug("cataloging-series")
    assert event.kind == "series" and event.digest_hour == 18
