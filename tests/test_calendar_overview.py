"""The organisation-wide calendar: the public page of upcoming sessions (by topic and kind,
in the reader's zone, through the page cache) and the public feeds of every session and of
one topic, which carry updates (SEQUENCE) and cancellations (STATUS:CANCELLED) like the
per-event feeds and nothing private."""

from __future__ import annotations

from datetime import UTC, datetime

from flask.testing import FlaskClient
from icalendar import Calendar

from forum.common import page_versions, topics
from forum.core import clock
from forum.core.extensions import db
from forum.events import editing
from forum.events import service as events
from forum.models import Event, Topic
from tests.support.calendar_check import ical_js, libical
from tests.support.calendars import subscribe
from tests.support.factories import make_event as factory_event

SERIES = [
    (datetime(2030, 9, 10, 13), datetime(2030, 9, 10, 14)),
    (datetime(2030, 9, 17, 13), datetime(2030, 9, 17, 14)),
]
EFORUM = [(datetime(2030, 10, 6, 9), datetime(2030, 10, 6, 17))]
PAST = [(datetime(2020, 1, 7, 13), datetime(2020, 1, 7, 14))]
JOIN = "https://meet.example.test/abc"


def make_event(slug: str, walls: list[tuple[datetime, datetime]], *, title: str, kind: str = "series",
               publish: bool = True) -> Event:  # fmt: skip
    return factory_event(
        slug, walls, kind=kind, publish=publish, title=title, join_url=JOIN if kind == "series" else "",
        panelists=[("Jay L. Colbert", "panelist")],
    )  # fmt: skip


def _file(event: Event, *topic_list: Topic) -> Event:
    event.topics = list(topic_list)
    db.session.commit()
    return event


def _setup() -> dict[str, Topic]:
    made = {name: topics.save_topic(None, name=name) for name in ("Cataloging", "Youth services")}
    db.session.commit()
    _file(make_event("rda-series", SERIES, title="RDA in practice"), made["Cataloging"])
    _file(make_event("teens-forum", EFORUM, kind="eforum", title="Teen programs"), made["Youth services"])
    _file(make_event("draft-one", SERIES, title="Secret draft", publish=False), made["Cataloging"])
    _file(make_event("old-one", PAST, title="Long gone"), made["Cataloging"])
    return made


def _text(client: FlaskClient, url: str) -> str:
    answer = client.get(url)
    assert answer.status_code == 200, answer.status_code
    return answer.get_data(as_text=True)


def test_the_page_lists_upcoming_sessions_by_topic_and_kind(client: FlaskClient) -> None:
    _setup()
    everything = _text(client, "/calendar")
    assert "RDA in practice" in everything and "Teen programs" in everything
    assert "Secret draft" not in everything and "Long gone" not in everything  # drafts, past
    assert everything.count('<li class="calendar-session') == 3  # two series sessions, one e-forum day
    assert 'type="text/calendar"' in everything and "/feeds/calendar.ics" in everything
    assert 'href="/calendar"' in everything  # in the site's navigation

    cataloging = _text(client, "/calendar?topic=cataloging")
    assert "RDA in practice" in cataloging and "Teen programs" not in cataloging
    assert "/feeds/topics/cataloging.ics" in cataloging and "Calendar: Cataloging" in cataloging
    webinars = _text(client, "/calendar?kind=series")
    assert "RDA in practice" in webinars and "Teen programs" not in webinars
    assert "Nothing of this kind" in _text(client, "/calendar?topic=youth-services&kind=series")
    event_page = _text(client, "/events/rda-series")  # the event page links its topic's calendar
    assert 'href="/calendar?topic=cataloging"' in event_page
    assert client.get("/calendar?topic=nope").status_code == 404
    assert client.get("/calendar?kind=party").status_code == 404


def test_times_are_shown_in_the_home_zones_and_the_readers_own(client: FlaskClient) -> None:
    _setup()
    page = _text(client, "/calendar?topic=cataloging&tz=Asia/Kolkata")
    assert "1:00 PM–2:00 PM (Eastern)" in page  # the announcement's zone list
    assert "10:30 PM–11:30 PM (Kolkata)" in page  # the reader's own line (zones.js redraws it)
    assert 'name="tz" value="Asia/Kolkata"' in page  # the filter keeps the chosen zone


@clock.frozen(datetime(2030, 8, 1, 12, 0, 5, tzinfo=UTC))  # the cache key holds the minute
def test_the_page_is_cached_and_a_topic_change_shows_at_once(client: FlaskClient) -> None:
    made = _setup()
    first = client.get("/calendar?topic=youth-services")
    assert first.status_code == 200 and "RDA in practice" not in first.get_data(as_text=True)
    again = client.get("/calendar?topic=youth-services", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    before = page_versions.current(db.session)

    rda = Event.by_slug("rda-series")
    assert rda is not None
    _file(rda, made["Cataloging"], made["Youth services"])  # the version rises with this commit

    assert page_versions.current(db.session) != before
    after = client.get("/calendar?topic=youth-services", headers={"If-None-Match": first.headers["ETag"]})
    assert after.status_code == 200 and "RDA in practice" in after.get_data(as_text=True)


def _feed(client: FlaskClient, url: str) -> tuple[bytes, str]:
    answer = client.get(url)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/calendar")
    return answer.data, answer.headers["ETag"]


def test_the_feeds_list_public_sessions_and_nothing_private(client: FlaskClient) -> None:
    made = _setup()
    person = subscribe(Event.by_slug("rda-series"), "reader@example.org")  # type: ignore[arg-type]
    data, _ = _feed(client, "/feeds/calendar.ics")
    cal = Calendar.from_ical(data)
    summaries = sorted(str(v["SUMMARY"]) for v in cal.walk("VEVENT"))
    assert summaries == ["RDA in practice", "RDA in practice", "Teen programs"]  # no draft, nothing old
    text = data.decode()
    for private in (JOIN, "reader@example.org", person.participant.feed_token, "/join/"):
        assert private not in text
    topic, _ = _feed(client, "/feeds/topics/youth-services.ics")
    assert [str(v["SUMMARY"]) for v in Calendar.from_ical(topic).walk("VEVENT")] == ["Teen programs"]
    assert "Youth services" in str(Calendar.from_ical(topic)["X-WR-CALNAME"])
    assert client.get("/feeds/topics/nope.ics").status_code == 404
    # the same VEVENTs as the event's own feed: one UID per session for life
    own = Calendar.from_ical(client.get("/feeds/events/rda-series.ics").data)
    assert {str(v["UID"]) for v in own.walk("VEVENT")} <= {str(v["UID"]) for v in cal.walk("VEVENT")}
    assert made  # topics used above


def test_ical_js_reads_the_all_sessions_feed_through_an_update_and_a_cancellation(
    client: FlaskClient,
) -> None:
    _setup()
    rda = Event.by_slug("rda-series")
    assert rda is not None
    first, second = rda.sessions
    first_uid = f"{first.uid}@{client.application.config['LIST_DOMAIN']}"
    second_uid = f"{second.uid}@{client.application.config['LIST_DOMAIN']}"

    data, etag = _feed(client, "/feeds/calendar.ics")
    seen = ical_js.details(data)
    assert seen[first_uid] == {"sequence": 0, "status": "CONFIRMED", "summary": "RDA in practice"}
    assert client.get("/feeds/calendar.ics", headers={"If-None-Match": etag}).status_code == 304

    # an update: the first session moves an hour later
    editing.edit_session(
        first, datetime(2030, 9, 10, 14), datetime(2030, 9, 10, 15), "America/New_York",
        title="", join_url=JOIN, description="",
    )  # fmt: skip
    db.session.commit()
    moved, etag2 = _feed(client, "/feeds/calendar.ics")
    assert etag2 != etag
    seen = ical_js.details(moved)
    assert seen[first_uid]["sequence"] == 1 and seen[first_uid]["status"] == "CONFIRMED"
    start, end = ical_js.read(moved)[first_uid]  # type: ignore[index]
    assert (start.isoformat(), end.isoformat()) == ("2030-09-10T18:00:00+00:00", "2030-09-10T19:00:00+00:00")

    # a cancellation: the second session stays in the feed, cancelled, its SEQUENCE raised
    editing.cancel_session(second, "Speaker ill")
    db.session.commit()
    cancelled, _ = _feed(client, "/feeds/calendar.ics")
    seen = ical_js.details(cancelled)
    assert seen[second_uid]["status"] == "CANCELLED"
    assert seen[second_uid]["sequence"] > 0
    assert seen[first_uid]["status"] == "CONFIRMED"
    in_c, errors = libical.read(cancelled)  # and libical (Evolution, KDE) reads it without a fault
    assert errors == [] and {first_uid, second_uid} <= set(in_c)

    # the whole event cancelled: every one of its sessions says so, in the topic feed too
    events.cancel_event(rda)
    db.session.commit()
    topic_feed, _ = _feed(client, "/feeds/topics/cataloging.ics")
    seen = ical_js.details(topic_feed)
    assert {seen[first_uid]["status"], seen[second_uid]["status"]} == {"CANCELLED"}
    assert seen[first_uid]["sequence"] >= 2


def test_the_topic_links_keep_the_zone_the_page_is_shown_in(client: FlaskClient) -> None:
    """The page is cached per zone it is shown in (an unknown `?tz=` is UTC's page), so its
    links carry that zone, never the argument as typed: two unknown zones share one copy."""
    _setup()
    for typed in ("Nowhere/One", "Nowhere/Two"):
        page = _text(client, f"/calendar?tz={typed}")
        assert "Nowhere" not in page and "tz=UTC" in page, typed
    paris = _text(client, "/calendar?utm_source=newsletter&tz=Europe/Paris")
    assert 'href="/calendar?topic=cataloging&amp;tz=Europe/Paris"' in paris
