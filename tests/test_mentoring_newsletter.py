"""The programme's newsletter: a timed announcement to a cycle's current mentors and mentees,
sent now or at a wall time in the programme's zone, through one fan-out, each copy in its
reader's language; the officer pages and the API schedule it alike."""

from __future__ import annotations

from datetime import UTC, datetime

from forum.common.fanout import expand_pending
from forum.core import clock
from forum.core.extensions import db
from forum.models import Announcement, FanOut, MentoringCycle, MentoringMatch
from forum.scheduling.scheduler import run_job
from tests.conftest import submit
from tests.support.api import officer_token
from tests.support.mentoring import SLUG, matched_cycle, sign_in
from tests.support.subscriptions import link_in, outbox, parsed, text_of

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
    cycle = matched_cycle(client)[0]  # Paula mentors Marlowe; Noor is unmatched
    page = client.get(f"/manage/mentoring/{SLUG}/cycles/{cycle.id}")
    with clock.frozen(datetime(2027, 4, 1, 14, 0, tzinfo=UTC)):
        news = f"/manage/mentoring/{SLUG}/cycles/{cycle.id}/mail/news"
        now = submit(
            client, news, page.data, follow_redirects=True, subject="Spring news", body="Our **first** month."
        )
        assert b"The message is on its way." in now.data
        # a gap time (2 AM on the day US clocks spring forward) is refused with its reason
        gap = client.post(
            f"/api/v1/mentoring/cycles/{cycle.id}/mail",
            json={"kind": "news", "subject": "Odd", "body": "x", "send_at": "2028-03-12T02:30"},
            headers=officer_token(),
        )
        assert gap.status_code == 422 and "send_at" in gap.json["errors"]["json"]
        later = {"subject": "May news", "body": "Stories next month.", "send_at": "2027-05-03T09:00"}
        web_later = submit(client, news, page.data, follow_redirects=True, **later)
        assert b"The newsletter is scheduled." in web_later.data
        api_later = client.post(
            f"/api/v1/mentoring/cycles/{cycle.id}/mail",
            json={"kind": "news", **later},
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


def test_a_pair_invited_to_share_their_story_writes_it_through_their_link(app, client):
    cycle = matched_cycle(client)[0]
    match = db.session.scalar(db.select(MentoringMatch))
    page = client.get(f"/manage/mentoring/{SLUG}/cycles/{cycle.id}")
    invite = f"/manage/mentoring/{SLUG}/cycles/{cycle.id}/matches/{match.id}/story"
    submit(client, invite, page.data, note="Our June issue is about storytime.")
    invitations = outbox("mentoring-story")
    assert sorted(m.recipient for m in invitations) == ["marlowe@example.org", "paula@example.org"]
    mine = next(m for m in invitations if m.recipient == "marlowe@example.org")
    assert "Our June issue is about storytime." in text_of(mine)

    client.get("/logout")
    link = link_in(mine, "/mentoring/story/")
    form = client.get(link)
    assert form.status_code == 200 and form.headers["Referrer-Policy"] == "same-origin"
    empty = submit(client, link, form.data, text=" ")
    assert empty.status_code == 400 and b"Write your story first." in empty.data
    sent = submit(client, link, form.data, text="We planned a bilingual storytime.", may_publish="y")
    assert sent.status_code == 303
    # the other side's link cannot be guessed from this one
    assert client.get(link[:-4] + "abcd").status_code == 404

    sign_in(client)
    listed = client.get(f"/manage/mentoring/{SLUG}/cycles/{cycle.id}").get_data(as_text=True)
    assert "We planned a bilingual storytime." in listed and "may be published" in listed
    api = client.get(f"/api/v1/mentoring/cycles/{cycle.id}/stories", headers=officer_token())
    assert [(s["name"], s["text"], s["may_publish"]) for s in api.json] == [
        ("Marlowe Park", "We planned a bilingual storytime.", True)
    ]
    assert client.get(f"/api/v1/mentoring/cycles/{cycle.id}/stories").status_code == 401
