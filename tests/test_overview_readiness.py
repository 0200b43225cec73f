"""The event overview says what an officer needs at each stage: a draft lists what is ready
and what is missing before publishing (sessions, panelists, join links, contact, conduct)
and what publishing will send, instead of an empty delivery chart; a published series shows
its registrations, seats and waiting list beside the calendar subscribers."""

from __future__ import annotations

from datetime import datetime

from flask.testing import FlaskClient

from forum.core.extensions import db
from forum.models import Participant, Subscription
from tests.support.live import make_event, make_officer, sign_in

DAYS = [(datetime(2099, 3, d, 14), datetime(2099, 3, d, 15)) for d in (2, 9, 16)]


def test_a_draft_shows_its_readiness_and_no_delivery_chart(app, client: FlaskClient) -> None:  # type: ignore[no-untyped-def]
    make_officer()
    sign_in(client)
    draft = make_event("draft-series", DAYS, kind="series", publish=False)
    draft.active_sessions[0].join_url = "https://zoom.example/j/1"
    db.session.commit()
    html = client.get("/manage/events/draft-series").get_data(as_text=True)
    assert "Before you publish" in html
    assert "3 sessions, Monday, 3/2/2099 – Monday, 3/16/2099." in html
    assert "2 of 3 sessions have no join link" in html
    assert "No contact: registrants cannot ask questions." in html
    assert "No code of conduct" in html and "No panelists yet (optional)" in html
    assert "Publishing mails nobody by itself" in html and "one invitation per later session" in html
    assert "No mail for this event in the last 30 days." not in html  # the empty chart is gone

    empty = make_event("empty-draft", [], kind="eforum", publish=False)
    html = client.get(f"/manage/events/{empty.slug}").get_data(as_text=True)
    assert "No sessions yet: publishing needs at least one." in html
    assert "join link" not in html  # an e-forum has none to set
    assert "when the e-forum opens, every subscriber gets the opening message" in html


def test_a_full_series_overview_shows_registrations_seats_and_waiting_list(app, client: FlaskClient) -> None:  # type: ignore[no-untyped-def]
    make_officer()
    sign_in(client)
    series = make_event("capped", DAYS, kind="series", seat_limit=2)
    for n, status in enumerate(("active", "active", "waitlisted", "pending")):
        person = Participant(email=f"p{n}@example.org", email_key=f"p{n}@example.org")
        db.session.add(Subscription(participant=person, event=series, status=status))
    db.session.commit()
    html = client.get("/manage/events/capped").get_data(as_text=True)
    assert "Before you publish" not in html
    assert ">2 registered</a>; 1 not yet confirmed" in html
    assert "<strong>Full</strong>: 2 of 2 taken" in html
    assert "<dt>Waiting list</dt>\n  <dd>1 waiting</dd>" in html
    assert "Calendar subscribers" in html
