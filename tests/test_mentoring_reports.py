"""The officer's figures: applications per day (chart and table), ratio, match rate, check-ins
answered, sensitive sections only in groups of five or more (page, CSV and API alike), and
the call for mentors as one fan-out to past mentors and the member list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from forum.core import clock
from forum.core.extensions import db
from forum.mentoring import applications, outreach, pairs, reports
from forum.models import FanOut, MentoringCheckIn
from forum.scheduling.scheduler import run_job
from tests.support.api import officer_token
from tests.support.mentoring import SLUG, make_cycle, make_programme, matched_cycle, sign_in
from tests.support.subscriptions import outbox

DURING = datetime(2027, 3, 10, 15, 0, tzinfo=UTC)


def _mentees(cycle, regions: list[str]) -> None:  # type: ignore[no-untyped-def]
    question = cycle.programme.sections["mentee"]["region"]
    for n, region in enumerate(regions):
        with clock.frozen(DURING + timedelta(days=n % 2)):
            item = applications.apply(
                cycle,
                "mentee",
                f"m{n}@example.org",
                {"name": f"Mentee {n}", "adult": True},
                {question: region},
            ).application
            applications.confirm(item)
    db.session.commit()


def test_sensitive_answers_only_in_groups_of_five_or_more(app, client):
    cycle = make_cycle(make_programme())
    _mentees(cycle, ["West"] * 5 + ["Midwest"] * 2 + ["Southeast"])
    with clock.frozen(DURING + timedelta(days=3)):
        data = reports.overview(cycle)
    # the three others are not even shown folded together: a group of three is under five
    assert data.sections["mentee:region"] == [("West", 5)]
    days = {d.isoformat(): (m, e) for d, m, e in data.per_day}
    assert len(days) == 13, "every day of the window so far, quiet ones included"
    assert (days["2027-03-01"], days["2027-03-10"], days["2027-03-11"]) == ((0, 0), (0, 4), (0, 4))
    assert (data.ratio, data.match_rate) == ("0:8", 0)
    csv_text = reports.overview_csv(cycle)
    assert "mentee:region,West,5" in csv_text and "Midwest" not in csv_text and "Southeast" not in csv_text
    with clock.frozen(DURING + timedelta(days=3)):
        sign_in(client)
        page = client.get(f"/manage/mentoring/{SLUG}/cycles/{cycle.id}").get_data(as_text=True)
        api = client.get(f"/api/v1/mentoring/cycles/{cycle.id}/overview", headers=officer_token()).json
    assert "Applications per day as a table" in page and "<svg" in page
    assert "Midwest" not in page
    assert api["sections"]["mentee:region"] == [{"label": "West", "count": 5}]
    assert api["mentees"] == 8


def test_call_for_mentors_is_one_fan_out_to_past_mentors_and_members(app):
    programme = make_programme()
    earlier = make_cycle(programme, datetime(2026, 9, 1, 9), datetime(2026, 9, 30, 17))
    applications.import_members("paula@example.org\nnew-member@example.org\nA-99")
    with clock.frozen(datetime(2026, 9, 10, 15, 0, tzinfo=UTC)):
        item = applications.apply(
            earlier, "mentor", "paula@example.org", {"name": "Paula Holmes"}, {}
        ).application
        applications.confirm(item)
    db.session.commit()
    cycle = make_cycle(programme)
    with clock.frozen(DURING):
        outreach.call_for_mentors(cycle, "We need mentors", "Twenty-five mentees applied in the first days.")
        db.session.commit()
    assert db.session.scalar(db.select(db.func.count(FanOut.id))) == 1
    sent = outbox("mentoring-call")
    assert sorted(m.recipient for m in sent) == ["new-member@example.org", "paula@example.org"]


def test_checkin_response_rate_per_month_and_pairs_active(app, client):
    """Chart and table on the cycle page, the same figures in the CSV and the API."""
    cycle = matched_cycle(client)[0]
    with clock.frozen(datetime(2027, 4, 29, 17, 0, tzinfo=UTC)):
        run_job("mentoring")
    checkin = db.session.scalar(db.select(MentoringCheckIn).where(MentoringCheckIn.sent_at.is_not(None)))
    with clock.frozen(datetime(2027, 4, 30, 8, 0, tzinfo=UTC)):
        pairs.record_answer(checkin, "going-well")
        db.session.commit()
    with clock.frozen(datetime(2027, 7, 1, 12, 0, tzinfo=UTC)):
        data = reports.overview(cycle)
        page = client.get(f"/manage/mentoring/{SLUG}/cycles/{cycle.id}").get_data(as_text=True)
        api = client.get(f"/api/v1/mentoring/cycles/{cycle.id}/overview", headers=officer_token()).json
        csv_text = reports.overview_csv(cycle)
    assert data.checkin_rates[0] == (1, 2, 1, 50)
    assert data.active_at == {3: 1, 6: 0, 12: 0}
    assert (
        "Check-in answers per month as a table" in page
        and "Pairs active at 3, 6 and 12 months as a table" in page
    )
    assert '<th scope="row">Month 1</th><td>2</td><td>1</td><td>50%</td>' in page
    assert api["checkins"][0] == {"number": 1, "sent": 2, "answered": 1, "rate": 50}
    assert api["active_at"] == {"3": 1, "6": 0, "12": 0}
    assert (
        "check-ins,month 1 response rate percent,50" in csv_text and "pairs active,at 3 months,1" in csv_text
    )
