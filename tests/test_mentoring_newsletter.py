"""The programme's newsletter: a timed announcement to a cycle's current mentors and mentees,
sent now or at a wall time in the programme's zone, through one fan-out, each copy in its
reader's language; the officer pages and the API schedule it alike."""

from __future__ import annotations

from datetime import UTC, datetime

from forum.common.fanout import expand_pending
from forum.core import clock
from forum.core.extensions import db
from forum.models import Announcement, FanOut, MentoringCycle
from forum.scheduling.scheduler import run_job
from tests.conftest import csrf_from
from tests.support.api import officer_token
from tests.support.mentoring import (
    SLUG,
    make_cycle,
    make_programme,
    match_on_the_page,
    sign_in,
    three_applicants,
)
from tests.support.subscriptions import outbox, parsed, text_of

LATER = datetime(2027, 5, 3, 14, 0, tzinfo=UTC)


def _rows(cycle: MentoringCycle) -> list[tuple[str, str, str, datetime, str]]:
    db.session.expire_all()
    return [
        (a.subject, a.body, a.timezone, a.send_wall, a.status)
        for a in db.session.scalars(
            db.select(Announcement)
            .where(Announcement.mentoring_cycle_id == cycle.id)
            .order_by(Announcement.id)
        )
    ]


def test_newsletter_now_and_at_a_time_through_each_door(app, client):
    cycle = make_cycle(make_programme())
    three_applicants(client)
    match_on_the_page(client)  # Paula mentors Marlowe; Noor is unmatched
    page = client.get(f"/manage/mentoring/{SLUG}/cycles/{cycle.id}")
    with clock.frozen(datetime(2027, 4, 1, 14, 0, tzinfo=UTC)):
        now = client.post(
            f"/manage/mentoring/{SLUG}/cycles/{cycle.id}/mail/news",
            data={
                "csrf_token": csrf_from(page.data),
                "subject": "Spring news",
                "body": "Our **first** month.",
            },
            follow_redirects=True,
        )
        assert b"The message is on its way." in now.data
        # a gap time (2 AM on the day US clocks spring forward) is refused with its reason
        gap = client.post(
            f"/api/v1/mentoring/cycles/{cycle.id}/mail",
            json={"kind": "news", "subject": "Odd", "body": "x", "send_at": "2028-03-12T02:30"},
            headers=officer_token(),
        )
        assert gap.status_code == 422 and "send_at" in gap.json["errors"]["json"]
        web_later = client.post(
            f"/manage/mentoring/{SLUG}/cycles/{cycle.id}/mail/news",
            data={
                "csrf_token": csrf_from(page.data),
                "subject": "May news",
                "body": "Stories next month.",
                "send_at": "2027-05-03T09:00",
            },
            follow_redirects=True,
        )
        assert b"The newsletter is scheduled." in web_later.data
        api_later = client.post(
            f"/api/v1/mentoring/cycles/{cycle.id}/mail",
            json={
                "kind": "news",
                "subject": "May news",
                "body": "Stories next month.",
                "send_at": "2027-05-03T09:00",
            },
            headers=officer_token(),
        )
        assert api_later.status_code == 202 and api_later.json == {"queued": False}
    rows = _rows(cycle)
    assert rows[1] == rows[2], "both doors schedule the same announcement"
    assert rows[1][2:] == ("America/Chicago", datetime(2027, 5, 3, 9, 0), "scheduled")
    assert rows[0][4] == "sent"

    # the first goes out through one fan-out, to the matched pair only
    expand_pending()
    news = outbox("mentoring-news")
    assert sorted(m.recipient for m in news) == ["marlowe@example.org", "paula@example.org"]
    assert "Our **first** month." in text_of(news[0]) and parsed(news[0])["Subject"] == "Spring news"

    # the scheduled ones leave when 9 AM comes in Chicago (14:00 UTC), once each, however often the job runs
    with clock.frozen(datetime(2027, 5, 3, 13, 59, tzinfo=UTC)):
        run_job("mentoring")
    assert [r[4] for r in _rows(cycle)] == ["sent", "scheduled", "scheduled"]
    with clock.frozen(LATER):
        run_job("mentoring")
        run_job("mentoring")
        expand_pending()
    assert [r[4] for r in _rows(cycle)] == ["sent", "sent", "sent"]
    assert db.session.scalar(db.select(db.func.count(FanOut.id)).where(FanOut.kind == "mentoring-news")) == 3
    assert len(outbox("mentoring-news")) == 6
    sign_in(client)
    listed = client.get(f"/manage/mentoring/{SLUG}/cycles/{cycle.id}").get_data(as_text=True)
    assert "May news" in listed and "Spring news" in listed
