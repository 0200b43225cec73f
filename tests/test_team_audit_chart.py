"""The audit page's activity chart (entries per day, the table kept as its accessible
alternative) and its filters by action, who and dates, on the page and in the API."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from flask import Flask
from flask.testing import FlaskClient

from forum.core import clock
from forum.core.extensions import db
from forum.team import audit
from tests.support.api import make_event
from tests.support.team import bearer, officer_with, sign_in

DAYS = [(datetime(2030, 9, 10, 10), datetime(2030, 9, 10, 18))]
NOW = datetime(2030, 9, 20, 15, 0, tzinfo=UTC)


def _entries(event_id: int) -> None:
    """Three exports on 9/12, one on 9/15 and one failed sign-in (site-wide) on 9/15."""
    for day, count in ((12, 3), (15, 1)):
        with clock.frozen(datetime(2030, 9, day, 14, 0, tzinfo=UTC)):
            for _ in range(count):
                audit.record("registrants.exported", event_id=event_id, summary="Pub")
    with clock.frozen(datetime(2030, 9, 15, 14, 0, tzinfo=UTC)):
        audit.record("signin.failed", summary="someone@example.org")
    db.session.commit()


def test_the_event_log_has_a_chart_per_day_and_date_filters(app: Flask, client: FlaskClient) -> None:
    with clock.frozen(NOW - timedelta(days=30)):
        event = make_event("pub", DAYS)
        owner = officer_with(event, "owner", "owner@example.org")
    _entries(event.id)
    sign_in(client, owner)
    with clock.frozen(NOW):
        page = client.get("/manage/events/pub/audit?action=registrants")
        html = page.get_data(as_text=True)
        assert page.status_code == 200
        assert 'role="img"' in html and "Entries per day, 2030-09-07 to 2030-09-20" in html
        table = html[html.index('<table class="chart-table">') :]
        cells = re.findall(r"</th><td>(\d+)</td>", table[: table.index("</table>")])
        assert [int(n) for n in cells] == [0] * 5 + [3, 0, 0, 1] + [0] * 5  # 9/7 .. 9/20
        one_day = client.get("/manage/events/pub/audit?action=registrants&from=2030-09-15&to=2030-09-15")
        text = one_day.get_data(as_text=True)
        assert text.count("<code>registrants.exported</code>") == 1
        assert "Entries per day, 2030-09-15 to 2030-09-15" in text
        bad = client.get("/manage/events/pub/audit?from=2030-13-01")
        assert bad.status_code == 400 and "Give the dates as YYYY-MM-DD" in bad.get_data(as_text=True)
        answer = client.get(
            "/api/v1/events/pub/audit?action=registrants&since=2030-09-12&until=2030-09-12",
            headers=bearer(owner),
        )
        assert answer.status_code == 200 and len(answer.get_json()) == 3
        assert client.get("/api/v1/events/pub/audit?since=soon", headers=bearer(owner)).status_code == 422


def test_the_site_log_filters_by_who(app: Flask, client: FlaskClient) -> None:
    event = make_event("pub", DAYS)
    admin = officer_with(None, None, "admin@example.org", admin=True)
    _entries(event.id)
    sign_in(client, admin)
    with clock.frozen(NOW):
        html = client.get("/manage/audit?action=signin&from=2030-09-01").get_data(as_text=True)
        assert html.count("<code>signin.failed</code>") == 1
        assert "<code>registrants.exported</code>" not in html
        nobody = client.get("/manage/audit?who=nobody-by-that-name").get_data(as_text=True)
        assert "Nothing recorded that matches" in nobody
