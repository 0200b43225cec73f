"""The zone pickers: canonical IANA names only (no Asia/Calcutta-style aliases), display and
common zones first, grouped by region with the current UTC offset, the same list for
officers and the public."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from flask.testing import FlaskClient

from forum.core import clock, timezones
from tests.support.live import make_event, make_officer, post_form, sign_in

BACKWARD_ALIASES = [
    "Asia/Calcutta",
    "Asia/Saigon",
    "Asia/Katmandu",
    "Asia/Rangoon",
    "Europe/Kiev",
    "America/Buenos_Aires",
    "America/Indianapolis",
    "US/Eastern",
    "US/Pacific",
    "Pacific/Ponape",
    "Australia/ACT",
    "GB",
    "Etc/GMT+5",
]


def test_the_zone_list_has_no_aliases(app) -> None:  # type: ignore[no-untyped-def]
    names = timezones.all_zone_names()
    assert len(names) > 300 and len(set(names)) == len(names)
    assert not set(BACKWARD_ALIASES) & set(names)
    assert {"Asia/Kolkata", "Asia/Ho_Chi_Minh", "Europe/Kyiv", "America/Argentina/Buenos_Aires"} <= set(names)
    links = timezones.zone_links()
    assert links["Asia/Calcutta"] == "Asia/Kolkata"  # read from tzdata's own table
    # nothing offered is a backward-compatibility link (zone.tab names may be merged zones
    # such as Europe/Amsterdam, which people look for by their own city)
    assert all(timezones.canonical(alias) != alias for alias in BACKWARD_ALIASES if alias in links)
    assert timezones.canonical("Asia/Calcutta") == "Asia/Kolkata"


def test_picker_groups_common_zones_first_with_offsets(app) -> None:  # type: ignore[no-untyped-def]
    groups = timezones.zone_picker(datetime(2027, 1, 15, tzinfo=UTC))
    names = [group for group, _ in groups]
    assert names[0] == "Common" and {"America", "Europe", "Asia", "Africa", "Pacific"} <= set(names)
    common = dict(groups[0][1])
    assert list(common)[:4] == [
        "America/New_York",
        "America/Chicago",
        "America/Denver",
        "America/Los_Angeles",
    ]
    assert common["America/New_York"] == "Eastern (America/New York) — UTC−05:00"
    assert common["Asia/Kolkata"] == "Kolkata (Asia/Kolkata) — UTC+05:30"
    assert common["UTC"].endswith("— UTC")
    asia = dict(dict(groups)["Asia"])
    assert asia["Asia/Kathmandu"] == "Kathmandu — UTC+05:45"
    summer = dict(timezones.zone_picker(datetime(2027, 7, 15, tzinfo=UTC))[0][1])
    assert summer["America/New_York"].endswith("UTC−04:00")  # the offset is today's


def _options(html: str, select_id: str) -> list[str]:
    match = re.search(rf'<select[^>]*id="{select_id}"[^>]*>(.*?)</select>', html, re.S)
    assert match, select_id
    return re.findall(r'<option[^>]*value="([^"]*)"', match.group(1))


def test_officer_and_public_pickers_offer_the_same_list(app, client: FlaskClient) -> None:  # type: ignore[no-untyped-def]
    make_event("mentoring", [(datetime(2099, 3, 2, 10), datetime(2099, 3, 2, 18))])
    with clock.frozen(datetime(2027, 1, 15, tzinfo=UTC)):
        public = _options(client.get("/events/mentoring").get_data(as_text=True), "tz")
        make_officer()
        sign_in(client)
        officer = _options(client.get("/manage/events/new").get_data(as_text=True), "timezone")
    assert public == officer
    assert "Asia/Calcutta" not in public and "Asia/Kolkata" in public
    assert public.index("Asia/Kolkata") < public.index("Africa/Abidjan")  # common zones come first


def test_an_alias_typed_by_hand_is_stored_by_its_canonical_name(app, client: FlaskClient) -> None:  # type: ignore[no-untyped-def]
    make_officer()
    sign_in(client)
    make_event("series", [], kind="series", publish=False)
    response = post_form(
        client,
        "/manage/events/series/sessions",
        {"date": "2099-03-02", "start_time": "19:30", "end_time": "20:30", "timezone": "Asia/Calcutta"},
    )
    assert response.status_code == 302
    from forum.models import Event

    (session,) = Event.by_slug("series").sessions  # type: ignore[union-attr]
    assert session.timezone == "Asia/Kolkata"


# The loop templates/_zone_options.html ran before its markup was cached (web/helpers.py).
UNCACHED_OPTIONS = (
    "{%- for group, entries in picker %}\n"
    '<optgroup label="{{ group }}">{% for name, label in entries %}<option value="{{ name }}"'
    "{% if name == selected %} selected{% endif %}>{{ label }}</option>{% endfor %}</optgroup>\n"
    "{%- endfor %}"
)


def _cached_and_uncached(app, at: datetime, selected: str) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    with clock.frozen(at):
        cached = app.jinja_env.from_string(
            '{% from "_zone_options.html" import zone_options %}{{ zone_options(selected) }}'
        ).render(selected=selected)
    uncached = app.jinja_env.from_string(UNCACHED_OPTIONS).render(
        picker=timezones.build_zone_picker(at), selected=selected
    )
    return cached, uncached


def test_cached_picker_markup_equals_the_uncached_loop(app) -> None:  # type: ignore[no-untyped-def]
    with app.test_request_context():
        for selected in ("", "UTC", "Asia/Kolkata", "America/New_York", "Europe/Kyiv", "Not/AZone"):
            cached, uncached = _cached_and_uncached(app, datetime(2027, 1, 15, 12, tzinfo=UTC), selected)
            assert cached == uncached, selected
        # a zone in Common and in its region is selected in both places, as the loop did
        cached, _ = _cached_and_uncached(app, datetime(2027, 1, 15, 12, tzinfo=UTC), "Asia/Kolkata")
        assert cached.count('<option value="Asia/Kolkata" selected>') == 2
        assert cached.count(" selected>") == 2


def test_cached_picker_changes_at_the_instant_of_a_dst_change(app) -> None:  # type: ignore[no-untyped-def]
    """2027-03-14: New York springs forward at 07:00 UTC, Chicago at 08:00 UTC, the same
    UTC day; the cached picker follows each change to the minute, and the next day's too."""
    seen = {}
    with app.test_request_context():
        for at in (
            datetime(2027, 3, 14, 2, 0, tzinfo=UTC),  # Morocco's change of that day is behind
            datetime(2027, 3, 14, 4, 0, tzinfo=UTC),  # before Havana (05:00) and St John's (05:30)
            datetime(2027, 3, 14, 6, 59, tzinfo=UTC),
            datetime(2027, 3, 14, 7, 0, tzinfo=UTC),
            datetime(2027, 3, 14, 8, 0, tzinfo=UTC),
            datetime(2027, 3, 14, 13, 0, tzinfo=UTC),  # after Adak, the last (12:00)
            datetime(2027, 3, 15, 0, 0, tzinfo=UTC),
        ):
            cached, uncached = _cached_and_uncached(app, at, "America/Chicago")
            assert cached == uncached, at
            seen[at.strftime("%d %H:%M")] = cached
    new_york = "Eastern (America/New York) — UTC−0{}:00"
    chicago = "Central (America/Chicago) — UTC−0{}:00"
    assert new_york.format(5) in seen["14 06:59"] and chicago.format(6) in seen["14 06:59"]
    assert new_york.format(4) in seen["14 07:00"] and chicago.format(6) in seen["14 07:00"]
    assert new_york.format(4) in seen["14 08:00"] and chicago.format(5) in seen["14 08:00"]
    assert seen["14 02:00"] == seen["14 04:00"] != seen["14 06:59"]
    assert seen["14 13:00"] == seen["15 00:00"]
    assert len(set(seen.values())) == 5
