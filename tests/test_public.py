"""Public pages: the event list, an event page as the announcement writes it, bios, errors."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from flask.testing import FlaskClient

from forum.core import clock
from forum.core.extensions import db
from forum.models import Panelist
from tests.support.factories import weekly
from tests.support.live import make_event

ANNOUNCEMENT_DAYS = [
    (datetime(2019, 9, 10, 10), datetime(2019, 9, 10, 18)),
    (datetime(2019, 9, 11, 10), datetime(2019, 9, 11, 18)),
]


def text(response) -> str:  # type: ignore[no-untyped-def]
    """The page as a reader sees it: tags dropped, entities for quotes decoded."""
    html = response.get_data(as_text=True)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#39;", "'").replace("&amp;", "&")


def test_event_page_says_what_the_announcement_says(client: FlaskClient) -> None:
    make_event(
        "ts-mentoring",
        ANNOUNCEMENT_DAYS,
        panelists=(("Jay L. Colbert", "panelist"), ("Jeannette Ho", "moderator")),
        description="At many libraries, technical services (TS) is a small department.",
        learning_outcomes="• Share experiences in mentoring initiatives\n• Discuss approaches",
        audience="Librarians and library staff interested in mentoring",
        registration_info="Once you have registered for one e-Forum, you do not need to register again.",
        conduct_url="https://example.org/conduct",
        tech_requirements="Internet connection with email address.",
        contact_name="Megan Dougherty, ALCTS Program Officer",
        contact_phone="1-800-545-2433, ext. 5038",
        contact_email="megan@example.org",
    )
    with clock.frozen(datetime(2019, 9, 1, tzinfo=UTC)):  # as the announcement was read: before it
        response = client.get("/events/ts-mentoring")
    assert response.status_code == 200
    page = text(response)
    assert "Tuesday, 9/10/2019 – Wednesday, 9/11/2019" in page
    html = response.get_data(as_text=True)
    lines = re.findall(r"<li data-zone=\"[^\"]+\">([^<]+)</li>", html.split('class="zone-lines"')[1].split("</ul>")[0])
    assert lines == [
        "10:00 AM–6:00 PM (Eastern)",
        "9:00 AM–5:00 PM (Central)",
        "8:00 AM–4:00 PM (Mountain)",
        "7:00 AM–3:00 PM (Pacific)",
    ]
    assert "2:00 PM–10:00 PM (UTC) your time zone" in page  # the no-JS fallback
    # a reader in a listed zone: that line says so, and no second "(Los Angeles)" line repeats it
    with clock.frozen(datetime(2019, 9, 1, tzinfo=UTC)):
        pacific = client.get("/events/ts-mentoring?tz=America/Los_Angeles").get_data(as_text=True)
    block = pacific.split('class="zone-lines"')[1].split("</ul>")[0]
    assert re.search(r'data-zone="America/Los_Angeles">7:00 AM–3:00 PM \(Pacific\) <small[^>]*>your time zone', block)
    assert re.search(r'<li class="viewer-zone"[^>]* hidden>', block)
    # Tokyo is a day ahead: each e-forum day on its own line, not one running line
    with clock.frozen(datetime(2019, 9, 1, tzinfo=UTC)):
        tokyo = client.get("/events/ts-mentoring?tz=Asia/Tokyo").get_data(as_text=True)
    viewer = tokyo.split('class="viewer-text">')[1].split("</span>")[0]
    assert viewer.count("(Tokyo)") == 2 and "\n" in viewer and ";" not in viewer
    for expected in (
        "Learning Outcomes",
        "In this e-Forum, attendees will:",
        "Share experiences in mentoring initiatives",
        "Who Should Attend",
        "Librarians and library staff interested in mentoring",
        "Jay L. Colbert",
        "Moderator Librarian, A Library",
        "How to Register",
        "you do not need to register again",
        "Code of Conduct",
        "Tech Requirements",
        "For questions or comments, contact Megan Dougherty, ALCTS Program Officer at 1-800-545-2433, "
        "ext. 5038 or megan@example.org",
    ):
        assert expected in page, expected
    assert 'href="https://example.org/conduct"' in html
    assert re.search(r'href="/panelists/\d+"', html)
    assert '<script src="/static/js/zones.js" defer>' in html


def test_viewer_zone_without_javascript_comes_from_the_picker(client: FlaskClient) -> None:
    make_event("ts", ANNOUNCEMENT_DAYS[:1])
    page = text(client.get("/events/ts?tz=Asia/Kolkata"))
    assert "Tue 9/10 7:30 PM–Wed 9/11 3:30 AM (Kolkata) your time zone" in page
    html = client.get("/events/ts?tz=Asia/Kolkata").get_data(as_text=True)
    assert '<option value="Asia/Kolkata" selected>' in html
    assert "(UTC) your time zone" in text(client.get("/events/ts?tz=Not/AZone"))


def test_home_zone_outside_the_list_is_shown_first(client: FlaskClient) -> None:
    make_event(
        "uk", [(datetime(2030, 6, 3, 15), datetime(2030, 6, 3, 16))], zone="Europe/London", kind="series"
    )
    page = text(client.get("/events/uk"))
    assert "Monday, 6/3/2030" in page
    assert "3:00 PM–4:00 PM (London) 10:00 AM–11:00 AM (Eastern)" in page


def test_series_across_dst_lists_each_session_at_its_local_time(client: FlaskClient) -> None:
    make_event("series", weekly(datetime(2030, 10, 29, 13)), kind="series")
    response = client.get("/events/series")
    page = text(response)
    assert "Tuesday, 10/29/2030 – Tuesday, 11/5/2030" in page
    assert page.count("1:00 PM–2:00 PM (Eastern)") == 2
    assert "5:00 PM–6:00 PM (UTC)" in page and "6:00 PM–7:00 PM (UTC)" in page
    data = re.findall(r"data-sessions='([^']+)'", response.get_data(as_text=True))
    assert len(data) == 2 and '"home": "2030-10-29"' in data[0]


def test_draft_is_not_public_and_unknown_is_a_friendly_404(client: FlaskClient) -> None:
    make_event("secret", ANNOUNCEMENT_DAYS, publish=False)
    for url in ("/events/secret", "/events/nothing-here"):
        response = client.get(url)
        assert response.status_code == 404
        page = text(response)
        assert "Page not found" in page and "See upcoming events" in page
        assert "secret" not in page.replace("/events/secret", "")


def test_cancelled_event_shows_a_banner(client: FlaskClient) -> None:
    from forum.events import service as events

    event = make_event("gone", [(datetime(2030, 9, 10, 10), datetime(2030, 9, 10, 18))])
    events.cancel_event(event)
    db.session.commit()
    page = text(client.get("/events/gone"))
    assert "Cancelled. This e-Forum will not take place" in page
    assert "Tuesday, 9/10/2030" in page
    assert "Cancelled" in text(client.get("/"))


def test_index_lists_upcoming_soonest_first_and_archives_the_past(client: FlaskClient) -> None:
    make_event("later", [(datetime(2030, 12, 1, 10), datetime(2030, 12, 1, 11))], kind="series")
    make_event("sooner", [(datetime(2030, 2, 1, 10), datetime(2030, 2, 1, 11))])
    make_event("old", [(datetime(2019, 9, 10, 10), datetime(2019, 9, 10, 18))])
    make_event("draft", [(datetime(2030, 1, 1, 10), datetime(2030, 1, 1, 11))], publish=False)
    with clock.frozen(datetime(2029, 1, 1, tzinfo=UTC)):
        html = client.get("/").get_data(as_text=True)
    upcoming, archive = html.split('id="archive"')
    assert upcoming.index("/events/sooner") < upcoming.index("/events/later")
    assert "/events/old" in archive and "/events/old" not in upcoming
    assert "/events/draft" not in html
    assert "Saturday, 12/1/2029" not in html and "Sunday, 12/1/2030" in html


def test_panelist_page_and_hidden_when_only_on_a_draft(client: FlaskClient) -> None:
    make_event("ts", ANNOUNCEMENT_DAYS, panelists=(("Jay L. Colbert", "presenter"),))
    make_event("draft", ANNOUNCEMENT_DAYS, publish=False, panelists=(("Secret Person", "panelist"),))
    jay = db.session.scalar(db.select(Panelist).where(Panelist.name == "Jay L. Colbert"))
    jay.pronouns, jay.links = "they/them", "https://example.org/jay"
    db.session.commit()
    page = text(client.get(f"/panelists/{jay.id}"))
    assert "Jay L. Colbert (they/them)" in page and "Presenter" in page and "Ts" in page
    assert "https://example.org/jay" in page
    secret = db.session.scalar(db.select(Panelist).where(Panelist.name == "Secret Person"))
    assert client.get(f"/panelists/{secret.id}").status_code == 404


def test_user_markdown_is_sanitised(client: FlaskClient) -> None:
    make_event(
        "ts",
        ANNOUNCEMENT_DAYS,
        description="Hello <script>alert(1)</script> [x](javascript:alert(2)) **bold**",
    )
    html = client.get("/events/ts").get_data(as_text=True)
    assert "<script>alert" not in html and 'href="javascript' not in html
    assert "<strong>bold</strong>" in html


def test_error_pages_are_friendly_and_api_errors_stay_json(client: FlaskClient) -> None:
    response = client.post("/logout")  # no CSRF token
    assert response.status_code == 400
    assert "The form expired or was sent from another site." in text(response)
    response = client.get("/events/ts/nothing")
    assert response.status_code == 404 and "Page not found" in text(response)
    response = client.get("/api/v1/definitely-not-here")
    assert response.status_code == 404 and response.is_json


def test_pages_are_accessible_landmarks_and_viewport(client: FlaskClient) -> None:
    make_event("ts", ANNOUNCEMENT_DAYS)
    html = client.get("/events/ts").get_data(as_text=True)
    assert '<html lang="en">' in html and 'name="viewport"' in html
    assert '<main id="main"' in html and '<a class="skip" href="#main">' in html
    assert '<label for="tz">' in html and html.count("<h1") == 1


def test_too_many_sign_in_attempts_get_a_friendly_429(app) -> None:  # type: ignore[no-untyped-def]
    from forum import create_app
    from tests.conftest import csrf_from

    limited = create_app({**app.config, "RATELIMIT_ENABLED": True})
    client = limited.test_client()
    token = csrf_from(client.get("/login").data)
    codes = [  # a different account each time: this is the per-client limit
        client.post(
            "/login", data={"email": f"x{n}@example.org", "password": "nope", "csrf_token": token}
        ).status_code
        for n in range(11)
    ]
    assert codes[:10] == [400] * 10 and codes[10] == 429
    response = client.post("/login", data={"email": "x@example.org", "password": "nope", "csrf_token": token})
    assert "Too many tries" in text(response)


def test_a_crash_shows_a_friendly_500(app) -> None:  # type: ignore[no-untyped-def]
    from forum import create_app

    crashing = create_app({**app.config, "TESTING": False})

    def boom() -> str:
        raise RuntimeError("kaboom")

    crashing.add_url_rule("/boom", view_func=boom)
    response = crashing.test_client().get("/boom")
    assert response.status_code == 500
    page = text(response)
    assert "Something went wrong on our side" in page and "kaboom" not in page
