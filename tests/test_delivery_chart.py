"""The manage overview's delivery chart: mail per day (sent, failed, waiting) and bounces."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from flask import Flask
from flask.testing import FlaskClient

from forum.core import clock
from forum.core.extensions import db
from forum.models import Event, OutboundMessage
from forum.subscriptions import service
from tests.support.subscriptions import login_officer, make_event

# Noon in New York, 2030-03-20 (EDT, UTC-4).
NOW = datetime(2030, 3, 20, 16, tzinfo=UTC)
_seq = iter(range(10**6))


def mail(event: Event | None, status: str, at: datetime, n: int = 1) -> None:
    """`n` outbox rows of `event` whose outcome (`status`) happened at `at`."""
    for _ in range(n):
        key = next(_seq)
        db.session.add(
            OutboundMessage(
                idempotency_key=f"seed:{key}",
                kind="digest",
                recipient=f"r{key}@example.org",
                envelope_from="list@example.org",
                message=None if status == "sent" else b"Subject: x\r\n\r\nhi\r\n",
                event_id=event.id if event else None,
                status=status,
                created_at=at - timedelta(minutes=5),
                next_attempt_at=at,
                sent_at=at if status == "sent" else None,
            )
        )


def rows_of(html: str) -> dict[str, tuple[int, int, int]]:
    """The text alternative: day -> (sent, failed, waiting)."""
    table = html[html.index('class="delivery-table"') :]
    table = table[: table.index("</table>")]
    found = re.findall(
        r"<tr><t[dh][^>]*>([^<]+)</t[dh]><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td></tr>", table
    )
    return {day: (int(s), int(f), int(w)) for day, s, f, w in found}


def overview(client: FlaskClient, event: Event) -> str:
    login_officer(client)
    with clock.frozen(NOW):
        page = client.get(f"/manage/events/{event.slug}")
    assert page.status_code == 200
    return page.data.decode()


def test_chart_and_table_count_the_events_mail_by_local_day(app: Flask, client: FlaskClient) -> None:
    event = make_event()
    other = make_event(slug="other", title="Other forum")
    mail(event, "sent", datetime(2030, 3, 20, 13, tzinfo=UTC), 5)  # today, 9:00 in New York
    mail(event, "failed", datetime(2030, 3, 20, 14, tzinfo=UTC), 2)
    mail(event, "queued", datetime(2030, 3, 20, 15, 50, tzinfo=UTC), 1)
    mail(event, "retry", datetime(2030, 3, 20, 15, 50, tzinfo=UTC), 2)
    # 02:00 UTC on the 19th is still the 18th in New York
    mail(event, "sent", datetime(2030, 3, 19, 2, tzinfo=UTC), 3)
    mail(event, "sent", datetime(2030, 2, 19, 16, tzinfo=UTC), 1)  # the 30th day back: shown
    mail(event, "sent", datetime(2030, 2, 18, 16, tzinfo=UTC), 7)  # 31 days back: not shown
    mail(other, "sent", datetime(2030, 3, 20, 13, tzinfo=UTC), 9)  # another event's mail
    mail(None, "failed", datetime(2030, 3, 20, 13, tzinfo=UTC), 4)  # mail of no event
    mail(event, "cancelled", datetime(2030, 3, 20, 15, 50, tzinfo=UTC), 6)  # erased recipients: not shown
    db.session.commit()

    html = overview(client, event)

    assert "Mail delivery, last 30 days" in html
    assert rows_of(html) == {
        "2/19/2030": (1, 0, 0),
        "3/18/2030": (3, 0, 0),
        "3/20/2030": (5, 2, 3),
        "Total": (9, 2, 3),
    }
    assert "9 sent, 2 failed, 3 queued or retrying" in html
    svg = html[html.index('aria-labelledby="delivery-title delivery-desc"') : html.index("</svg>")]
    bars = re.findall(r'<rect class="bar-(\w+)"[^>]*><title>(\d+) ', svg)
    assert sorted(bars) == sorted(
        [("sent", "1"), ("sent", "3"), ("sent", "5"), ("failed", "2"), ("waiting", "3")]
    )
    assert "2/19/2030" in svg and "3/20/2030" in svg  # x axis: the 30 days up to today
    assert 'style="' not in html  # strict CSP: colours come from classes


def test_bounce_counts_and_empty_chart(app: Flask, client: FlaskClient) -> None:
    event = make_event()
    subs = []
    for email in ("a@example.org", "b@example.org", "c@example.org", "d@example.org"):
        sub = service.subscribe(event, email, conduct_accepted=True)
        service.confirm(sub)
        subs.append(sub)
    subs[0].status, subs[0].hard_bounces = "disabled", 3
    subs[1].status, subs[1].hard_bounces = "disabled", 3
    subs[2].hard_bounces = 1
    db.session.commit()

    html = overview(client, event)

    assert "2 subscriptions disabled by bounces" in html
    assert f'href="/manage/events/{event.slug}/subscribers?status=disabled"' in html
    assert "1 more bounced but still get mail" in html
    assert "0 sent, 0 failed, 0 queued or retrying" in html
    assert "No mail for this event in the last 30 days." in html
