"""Subscribe -> confirmation mail -> confirm -> active + welcome; register once; no enumeration."""

from __future__ import annotations

import re
from html import unescape

from flask.testing import FlaskClient
from icalendar import Calendar
from sqlalchemy import select

from forum.core.extensions import db
from forum.models import Participant, Subscription
from tests.conftest import csrf_from, submit
from tests.support.subscriptions import link_in, make_event, outbox, parsed, subscribe_form, text_of


def sign_up(client: FlaskClient, slug: str, email: str, **extra: str):  # type: ignore[no-untyped-def]
    page = client.get(f"/events/{slug}/subscribe")
    assert page.status_code == 200
    data = {"csrf_token": csrf_from(page.data), "email": email, "mode": "each", "conduct": "y", **extra}
    return client.post(f"/events/{slug}/subscribe", data=data)


def confirm_from_mail(client: FlaskClient, email: str):  # type: ignore[no-untyped-def]
    [mail] = outbox("confirm", email)
    url = link_in(mail, "/confirm/")
    page = client.get(url)
    assert page.status_code == 200
    assert b"Confirm my subscription" in page.data or b"Confirm my registration" in page.data
    return client.post(url, data={"csrf_token": csrf_from(page.data)})


def test_subscribe_confirm_welcome(app, client: FlaskClient) -> None:
    event = make_event()
    resp = sign_up(client, event.slug, "Jeannette.Ho@Example.ORG", name="Jeannette Ho")
    assert resp.status_code == 200
    assert b"Check your inbox" in resp.data

    participant = db.session.scalar(select(Participant))
    assert participant.email == "Jeannette.Ho@example.org"  # domain normalised, local part kept
    assert participant.email_key == "jeannette.ho@example.org"
    assert participant.confirmed_at is None
    sub = db.session.scalar(select(Subscription))
    assert sub.status == "pending"
    assert sub.conduct_url == "https://example.org/conduct/v2"
    assert sub.conduct_accepted_at is not None
    assert sub.source == "web"

    [mail] = outbox("confirm")
    assert mail.recipient == "Jeannette.Ho@example.org"
    assert parsed(mail)["Subject"] == "Confirm your subscription: Mentoring in Technical Services"

    done = confirm_from_mail(client, "Jeannette.Ho@example.org")
    assert done.status_code == 200
    assert b"You are subscribed" in done.data
    db.session.expire_all()
    assert sub.status == "active"
    assert sub.participant.confirmed_at is not None

    [welcome] = outbox("welcome")
    body = text_of(welcome)
    assert 'You are subscribed to "Mentoring in Technical Services"' in body
    assert "10:00 AM–6:00 PM (Eastern)" in body and "7:00 AM–3:00 PM (Pacific)" in body
    assert "mentoring@lists.forum.test" in body
    assert parsed(welcome)["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # A second click on the link changes nothing and sends nothing more.
    url = link_in(outbox("confirm")[0], "/confirm/")
    assert client.get(url).status_code == 200
    assert len(outbox("welcome")) == 1


def test_register_once_on_second_event(app, client: FlaskClient) -> None:
    first = make_event()
    second = make_event(slug="cataloging", title="Cataloging Today")
    sign_up(client, first.slug, "nicole@example.org")
    confirm_from_mail(client, "nicole@example.org")

    resp = sign_up(client, second.slug, "NICOLE@example.org", mode="digest")
    assert b"Check your inbox" in resp.data
    assert len(outbox("confirm")) == 1  # no second confirmation
    assert db.session.scalar(select(db.func.count(Participant.id))) == 1
    sub = db.session.scalar(select(Subscription).where(Subscription.event_id == second.id))
    assert sub.status == "active" and sub.mode == "digest"
    welcomes = outbox("welcome")
    assert len(welcomes) == 2
    assert "Cataloging Today" in parsed(welcomes[1])["Subject"]


def test_pending_resubscribe_resends_at_most_once_an_hour(app, client: FlaskClient) -> None:
    from datetime import UTC, datetime, timedelta

    from forum.core import clock

    event = make_event()
    start = datetime(2030, 1, 1, 9, 5, tzinfo=UTC)
    with clock.frozen(start):
        sign_up(client, event.slug, "euemduan@example.org")
        sign_up(client, event.slug, "euemduan@example.org")
    assert len(outbox("confirm")) == 1
    with clock.frozen(start + timedelta(hours=1)):
        sign_up(client, event.slug, "euemduan@example.org")
    assert len(outbox("confirm")) == 2


def _strip_csrf(html: bytes) -> bytes:
    return re.sub(rb'name="csrf_token"[^>]*value="[^"]+"', b"", html)


def test_no_enumeration(app, client: FlaskClient) -> None:
    event = make_event()
    sign_up(client, event.slug, "known@example.org")
    confirm_from_mail(client, "known@example.org")
    sign_up(client, event.slug, "pending@example.org")

    answers = [
        sign_up(client, event.slug, email)
        for email in ("nobody@example.org", "known@example.org", "pending@example.org")
    ]
    assert {a.status_code for a in answers} == {200}
    bodies = {_strip_csrf(a.data) for a in answers}
    assert len(bodies) == 1

    api = [
        client.post(
            f"/api/v1/events/{event.slug}/subscriptions",
            json={"email": email, "accept_conduct": True},
        )
        for email in ("someone-new@example.org", "known@example.org", "pending@example.org")
    ]
    assert {a.status_code for a in api} == {202}
    assert len({a.data for a in api}) == 1
    # What differs goes by mail only: the active subscriber hears they are already on the list.
    [already] = outbox("already-subscribed")
    assert already.recipient == "known@example.org"
    assert "already subscribed" in text_of(already)


def test_subscribe_form_errors_keep_input(app, client: FlaskClient) -> None:
    event = make_event()
    resp = subscribe_form(client, event, email="not-an-address", name="Jay Colbert", mode="digest")
    assert resp.status_code == 400
    html = resp.data.decode()
    assert "code of conduct" in html and 'aria-invalid="true"' in html
    assert 'value="not-an-address"' in html and 'value="Jay Colbert"' in html
    assert "must have an @-sign" in html or "not valid" in html
    assert outbox() == []


def test_a_wrong_address_is_explained_in_the_readers_language(app, client: FlaskClient) -> None:
    """email-validator's reasons are English only: an English reader gets its precise reason,
    a French or Spanish reader the same diagnosis from our catalogs, not an English sentence
    inside their page; the form keeps what they typed."""
    event = make_event()
    cases = {
        ("en", "anna.example.org"): "An email address must have an @-sign.",
        ("fr", "anna.example.org"): "Une adresse électronique contient un @, comme dans nom@example.org.",
        ("es", "anna@"): "La parte después de la @ (el dominio, como example.org) no es válida.",
        ("fr", "ann(a@example.org"): "La partie avant le @ n’est pas valide.",
        ("es", "anna..b@example.org"): "No es una dirección de correo electrónico válida.",
    }
    for (language, typed), reason in cases.items():
        headers = {"Accept-Language": language}
        page = client.get(f"/events/{event.slug}/subscribe", headers=headers)
        fields = {"csrf_token": csrf_from(page.data), "email": typed, "name": "Ana", "mode": "digest"}
        answer = client.post(f"/events/{event.slug}/subscribe", data=fields, headers=headers)
        assert answer.status_code == 400
        html = unescape(answer.get_data(as_text=True))
        assert reason in html, (language, typed)
        assert f'value="{typed}"' in html
    assert outbox() == []


def test_api_validation(app, client: FlaskClient) -> None:
    event = make_event()
    url = f"/api/v1/events/{event.slug}/subscriptions"
    resp = client.post(url, json={"email": "a@example.org"})
    assert resp.status_code == 422 and "accept_conduct" in resp.get_json()["errors"]["json"]
    resp = client.post(url, json={"email": "a@example.org", "accept_conduct": False})
    assert resp.status_code == 422 and "code of conduct" in resp.get_json()["errors"]["json"]["accept_conduct"][0]
    resp = client.post(url, json={"email": "a@example.org", "accept_conduct": True, "mode": "weekly"})
    assert resp.status_code == 422 and "mode" in resp.get_json()["errors"]["json"]
    # What a cross-site HTML form can send (no JSON content type) is refused, storing nothing.
    forged = client.post(url, data={"email": "c@example.org", "accept_conduct": "true"})
    assert forged.status_code == 415 and "JSON" in forged.get_json()["message"]
    assert db.session.scalar(select(Subscription)) is None
    unknown = client.post("/api/v1/events/nope/subscriptions", json={"email": "b@example.org", "accept_conduct": True})
    assert unknown.status_code == 404
    resp = client.post(url, json={"email": "b@example.org", "accept_conduct": True, "mode": "none"})
    assert resp.status_code == 202
    sub = db.session.scalar(select(Subscription))
    assert sub.source == "api" and sub.mode == "none" and sub.status == "pending"


def test_public_event_page_carries_the_form(app, client: FlaskClient) -> None:
    event = make_event()
    page = client.get(f"/events/{event.slug}")
    assert page.status_code == 200
    html = page.data.decode()
    assert f'action="/events/{event.slug}/subscribe"' in html
    assert "https://example.org/conduct/v2" in html
    resp = submit(
        client, f"/events/{event.slug}/subscribe", html, email="from-event-page@example.org", conduct="y",
        mode="each",
    )
    assert b"Check your inbox" in resp.data


def test_series_confirm_queues_one_invite_per_session_once(app, client: FlaskClient) -> None:
    """A webinar series: the welcome carries the next session's invite, each later session
    comes in its own invite mail, and clicking the confirmation link again sends nothing."""
    from datetime import datetime

    from forum.models import Session

    event = make_event(slug="webinars", title="Webinar Series", kind="series")
    for day in (17, 24, 30):
        later = Session(event=event)
        later.set_times(datetime(2030, 9, day, 10), datetime(2030, 9, day, 11), "America/New_York")
        db.session.add(later)
    db.session.commit()
    sign_up(client, event.slug, "attendee@example.org")
    assert confirm_from_mail(client, "attendee@example.org").status_code == 200
    url = link_in(outbox("confirm")[0], "/confirm/")
    assert client.get(url).status_code == 200  # a second click
    token = csrf_from(client.get(f"/events/{event.slug}/subscribe").data)
    assert client.post(url, data={"csrf_token": token}).status_code == 200  # a replayed POST

    def invited_uids(mail):  # type: ignore[no-untyped-def]
        [part] = [p for p in parsed(mail).walk() if p.get_content_type() == "text/calendar"]
        cal = Calendar.from_ical(part.get_payload(decode=True))
        assert cal["METHOD"] == "REQUEST"
        for component in cal.walk():
            assert not component.errors
        return [str(v["UID"]) for v in cal.walk("VEVENT")]

    uids = [f"{s.uid}@lists.forum.test" for s in sorted(event.sessions, key=lambda s: s.starts_at)]
    [welcome] = outbox("welcome")
    assert invited_uids(welcome) == uids[:1]
    assert "follow in separate mails" in text_of(welcome)
    invites = outbox("calendar")
    assert [invited_uids(mail) for mail in invites] == [[uid] for uid in uids[1:]]
    for mail in invites:
        assert parsed(mail)["Subject"].startswith("Invitation: ")
        # like the welcome, no delivery to change: a series has none
        assert "Change time zone or name: http://" in text_of(mail) and "delivery" not in text_of(mail).lower()


def test_preferences_offer_a_delivery_choice_for_e_forums_only(app, client: FlaskClient) -> None:
    """A series has no list mail to choose a delivery for (sign-up offers none and keeps
    "each"), so the preferences page offers none either, and saving leaves it alone."""
    make_event()
    make_event(slug="series", title="Re-envisioning Technical Services", kind="series")
    sign_up(client, "mentoring", "lee@example.org")
    confirm_from_mail(client, "lee@example.org")
    sign_up(client, "series", "lee@example.org")
    eforum, series = db.session.scalars(select(Subscription).order_by(Subscription.id)).all()
    assert (eforum.status, series.status, series.mode) == ("active", "active", "each")

    url = link_in(outbox("welcome")[0], "/preferences/")
    page = client.get(url).get_data(as_text=True)
    assert "Delivery for Mentoring in Technical Services" in page
    assert "Delivery for Re-envisioning Technical Services" not in page
    assert f'name="mode_{series.id}"' not in page
    assert "Leave Re-envisioning Technical Services" in page

    saved = client.post(
        url,
        data={"csrf_token": csrf_from(page), "name": "Lee", "timezone": "", f"mode_{eforum.id}": "digest",
              f"mode_{series.id}": "none", "save": "Save preferences"},
    )
    assert saved.status_code == 303
    db.session.expire_all()
    assert (eforum.mode, series.mode, series.status) == ("digest", "each", "active")


def test_a_series_confirmation_mail_says_registration_throughout(app, client: FlaskClient) -> None:
    """Subject, link and the page's button all speak of a registration (the HTML part's link
    said "Confirm your subscription" under a "Confirm your registration" subject)."""
    make_event(slug="series", title="Webinar Series", kind="series")
    sign_up(client, "series", "attendee@example.org")
    [mail] = outbox("confirm", "attendee@example.org")
    assert parsed(mail)["Subject"] == "Confirm your registration: Webinar Series"
    html = parsed(mail).get_body(preferencelist=("html",)).get_content()
    assert ">Confirm your registration</a>" in html and "subscription" not in html
    page = client.get(link_in(mail, "/confirm/")).get_data(as_text=True)
    assert "Confirm my registration" in page
