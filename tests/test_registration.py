"""Registration up front: the Register button, the form high on the page, only the choices
that fit the kind of event, the code-of-conduct box only when there is one, warnings when
publishing without contact or conduct, and a confirmation page that leads somewhere."""

from __future__ import annotations

from datetime import datetime

from flask.testing import FlaskClient

from forum.core.extensions import db
from forum.models import Subscription
from tests.conftest import csrf_from
from tests.support.live import make_event, make_officer, post_form, sign_in
from tests.support.subscriptions import link_in, outbox

SESSIONS = [
    (datetime(2099, 3, 2, 14), datetime(2099, 3, 2, 15)),
    (datetime(2099, 3, 9, 14), datetime(2099, 3, 9, 15)),
]


def test_series_page_has_a_register_button_and_only_the_choices_that_fit(client: FlaskClient) -> None:
    make_event("webinars", SESSIONS, kind="series", zone="Europe/London")
    html = client.get("/events/webinars").get_data(as_text=True)
    assert '<a class="button primary" href="#register">Register</a>' in html
    form = html[html.index('id="register"') :]
    form = form[: form.index("</form>")]
    assert 'name="email"' in form
    assert 'name="mode"' not in form  # no delivery choice for a webinar series
    assert 'name="conduct"' not in form  # no code of conduct on this event
    assert 'value="Register"' in form and "Subscribe" not in form
    # the form comes before the calendar links and the description
    assert html.index('id="register"') < html.index('id="add-to-calendar"')


def test_series_registration_without_conduct_needs_no_box(client: FlaskClient) -> None:
    make_event("webinars", SESSIONS, kind="series")
    page = client.get("/events/webinars")
    response = client.post(
        "/events/webinars/subscribe",
        data={"csrf_token": csrf_from(page.data), "email": "ann@example.org", "mode": "digest"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)[:800]
    html = response.get_data(as_text=True)
    assert "Check your inbox" in html and 'href="/events/webinars"' in html
    sub = db.session.scalar(db.select(Subscription))
    assert sub is not None and sub.mode == "each"  # a series has no digest to choose
    assert sub.conduct_accepted_at is None


def test_eforum_keeps_the_delivery_choice_and_the_conduct_box(client: FlaskClient) -> None:
    make_event("mentoring", SESSIONS, conduct_url="https://example.org/conduct")
    page = client.get("/events/mentoring")
    html = page.get_data(as_text=True)
    assert 'name="mode"' in html and 'name="conduct"' in html
    refused = client.post(
        "/events/mentoring/subscribe",
        data={"csrf_token": csrf_from(page.data), "email": "ann@example.org", "mode": "digest"},
    )
    assert refused.status_code == 400
    assert "Please accept the code of conduct" in refused.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Subscription.id))) == 0


def test_confirmation_page_links_back_and_offers_the_calendar(client: FlaskClient) -> None:
    make_event("webinars", SESSIONS, kind="series")
    page = client.get("/events/webinars")
    client.post(
        "/events/webinars/subscribe", data={"csrf_token": csrf_from(page.data), "email": "ann@example.org"}
    )
    [mail] = outbox("confirm", "ann@example.org")
    url = link_in(mail, "/confirm/")
    shown = client.get(url)
    assert b"Confirm my registration" in shown.data
    done = client.post(url, data={"csrf_token": csrf_from(shown.data)}).get_data(as_text=True)
    assert "You are registered." in done
    assert 'href="/events/webinars"' in done
    assert ".ics" in done and "webcal://" in done


def test_publishing_without_contact_or_conduct_warns(app, client: FlaskClient) -> None:  # type: ignore[no-untyped-def]
    make_officer()
    sign_in(client)
    make_event("bare", SESSIONS, kind="series", publish=False)
    overview = client.get("/manage/events/bare").get_data(as_text=True)
    assert "Before you publish" in overview and "No contact: registrants cannot ask questions." in overview
    response = post_form(client, "/manage/events/bare", {}, action="/manage/events/bare/publish")
    assert response.status_code == 302
    after = client.get("/manage/events/bare").get_data(as_text=True)
    assert "Published." in after
    assert "There is no contact" in after and "There is no code of conduct" in after
