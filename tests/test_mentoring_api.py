"""The mentoring JSON API does what the officer pages do: a programme and a cycle made through
each door, and the same applicants matched through each door, give the same rows and mail."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from forum.core import clock
from forum.core.extensions import db
from forum.mentoring import applications, programmes
from forum.models import MentoringCheckIn, MentoringCycle, MentoringMatch, MentoringProgramme, Participant
from tests.conftest import csrf_from
from tests.support.api import officer_token
from tests.support.mentoring import sign_in
from tests.support.subscriptions import outbox, text_of

TAGGED = re.compile(r"[\w.-]+@example\.org")
DURING = datetime(2027, 3, 10, 15, 0, tzinfo=UTC)
AFTER = datetime(2027, 3, 29, 14, 0, tzinfo=UTC)
PROGRAMME = {
    "title": "Mentoring",
    "description": "Monthly conversations for a year.",
    "eligibility": "Mentors must be members.",
    "timezone": "America/Chicago",
    "length_months": 12,
    "checkin_months": 1,
    "contact_email": "officer@example.org",
}


def _via_web(client, slug: str) -> MentoringCycle:  # type: ignore[no-untyped-def]
    page = client.get("/manage/mentoring/")
    client.post("/manage/mentoring/", data={**PROGRAMME, "slug": slug, "csrf_token": csrf_from(page.data)})
    page = client.get(f"/manage/mentoring/{slug}")
    client.post(
        f"/manage/mentoring/{slug}",
        data={
            "name": "Spring 2027",
            "opens": "2027-03-01T09:00",
            "closes": "2027-03-26T17:00",
            "csrf_token": csrf_from(page.data),
        },
    )
    return MentoringProgramme.by_slug(slug).cycles[0]


def _via_api(client, slug: str, auth) -> MentoringCycle:  # type: ignore[no-untyped-def]
    made = client.post("/api/v1/mentoring/programmes", json={**PROGRAMME, "slug": slug}, headers=auth)
    assert made.status_code == 201, made.json
    cycle = client.post(
        f"/api/v1/mentoring/programmes/{slug}/cycles",
        json={"name": "Spring 2027", "opens": "2027-03-01T09:00", "closes": "2027-03-26T17:00"},
        headers=auth,
    )
    assert cycle.status_code == 201, cycle.json
    assert cycle.json["opens_at"] == "2027-03-01T15:00:00+00:00"
    return MentoringProgramme.by_slug(slug).cycles[0]


def _through_each_door(client, auth) -> tuple[MentoringCycle, MentoringCycle]:  # type: ignore[no-untyped-def]
    """The same programme and cycle, made by the signed-in officer on the pages ("web") and
    through the API ("api"): what the parity tests compare."""
    sign_in(client)
    return _via_web(client, "web"), _via_api(client, "api", auth)


def _applicants(cycle: MentoringCycle, tag: str) -> None:
    applications.import_members(f"mentor-{tag}@example.org")
    people = [
        (
            "mentor",
            f"mentor-{tag}@example.org",
            "Paula Holmes",
            "America/Los_Angeles",
            "senior",
            "storytime, stem",
        ),
        ("mentee", f"a-{tag}@example.org", "Marlowe Park", "Europe/London", "early", "storytime"),
        ("mentee", f"b-{tag}@example.org", "Noor Haddad", "America/New_York", "student", "grants"),
    ]
    for role, email, name, zone, stage, interests in people:
        item = applications.apply(
            cycle,
            role,
            email,
            {
                "name": name,
                "timezone": zone,
                "stage": stage,
                "interests": interests,
                "checkin_hour": 10,
                "adult": True,
            },
            {},
        ).application
        applications.confirm(item)
    db.session.commit()


def _shape(cycle: MentoringCycle) -> dict[str, object]:
    """What both doors must have made alike (ids and addresses aside)."""
    db.session.expire_all()
    programme = cycle.programme
    matches = db.session.scalars(db.select(MentoringMatch).where(MentoringMatch.cycle_id == cycle.id)).all()
    checkins = db.session.scalars(
        db.select(MentoringCheckIn).where(MentoringCheckIn.match_id.in_([m.id for m in matches]))
    ).all()
    mail = [
        (
            m.kind,
            re.sub(r"/(application|story)/\S+", r"/\1/TOKEN", TAGGED.sub("ADDRESS", text_of(m))).replace(
                programme.slug, "SLUG"
            ),
        )
        for m in outbox("mentoring-intro") + outbox("mentoring-story")
        if m.recipient.endswith(f"-{programme.slug}@example.org")
    ]
    return {
        "programme": [
            getattr(programme, f)
            for f in (
                "title",
                "description",
                "eligibility",
                "timezone",
                "length_months",
                "checkin_months",
                "contact_email",
            )
        ],
        "window": (cycle.opens_wall, cycle.closes_wall, cycle.opens_at, cycle.closes_at),
        "form_questions": len(programme.sections["mentee"]),
        "matches": sorted(
            (m.mentor.name, m.mentee.name, m.score, tuple(m.reasons), m.manual, m.status) for m in matches
        ),
        "checkins": sorted((c.application.name, c.number, c.due_at) for c in checkins),
        "mail": sorted(mail),
    }


def test_both_doors_make_the_same_programme_cycle_and_matches(app, client):
    auth = officer_token()
    with clock.frozen(DURING):
        web_cycle, api_cycle = _through_each_door(client, auth)
        _applicants(web_cycle, "web")
        _applicants(api_cycle, "api")
    with clock.frozen(AFTER):
        suggestions = client.get(f"/api/v1/mentoring/cycles/{api_cycle.id}/suggestions", headers=auth).json
        assert len(suggestions["pairs"]) == 1
        assert suggestions["unmatched"][0]["reason"] == "not enough mentors: 2 mentees for 1 place"
        pair = suggestions["pairs"][0]
        made = client.post(
            f"/api/v1/mentoring/cycles/{api_cycle.id}/matches",
            json={"matches": [{"mentor": pair["mentor"], "mentee": pair["mentee"]}]},
            headers=auth,
        )
        assert made.status_code == 201, made.json
        url = f"/manage/mentoring/web/cycles/{web_cycle.id}/matching"
        page = client.get(url).get_data(as_text=True)
        mentor = applications.active_applications(web_cycle, "mentor")[0]
        first, second = applications.active_applications(web_cycle, "mentee")
        client.post(
            url,
            data={
                "csrf_token": csrf_from(page),
                "action": "confirm",
                f"mentor-{first.id}": str(mentor.id),
                f"mentor-{second.id}": "",
            },
        )
        # the newsletter's invitation to share their story, through each door
        api_match = db.session.scalar(
            db.select(MentoringMatch).where(MentoringMatch.cycle_id == api_cycle.id)
        )
        web_match = db.session.scalar(
            db.select(MentoringMatch).where(MentoringMatch.cycle_id == web_cycle.id)
        )
        invited = client.post(
            f"/api/v1/mentoring/matches/{api_match.id}/story", json={"note": "Mock interviews?"}, headers=auth
        )
        assert invited.status_code == 202 and invited.json == {"invited": 2}
        page = client.get(f"/manage/mentoring/web/cycles/{web_cycle.id}")
        client.post(
            f"/manage/mentoring/web/cycles/{web_cycle.id}/matches/{web_match.id}/story",
            data={"csrf_token": csrf_from(page.data), "note": "Mock interviews?"},
        )
    web, api = _shape(web_cycle), _shape(api_cycle)
    assert web == api
    assert len(web["matches"]) == 1 and len(web["checkins"]) == 24 and len(web["mail"]) == 4


def test_api_refusals_are_4xx_with_a_reason(app, client):
    auth = officer_token()
    with clock.frozen(DURING):
        _via_api(client, "api", auth)
        taken = client.post("/api/v1/mentoring/programmes", json={**PROGRAMME, "slug": "api"}, headers=auth)
        assert taken.status_code == 409
        gap = client.post(
            "/api/v1/mentoring/programmes/api/cycles",
            json={"name": "Odd", "opens": "2027-03-01T09:00", "closes": "2027-03-14T02:30"},
            headers=auth,
        )
        assert gap.status_code == 422 and "does not exist" in gap.json["errors"]["json"]["closes"][0]
        cycle = MentoringProgramme.by_slug("api").cycles[0]
        _applicants(cycle, "api")
        mentor = applications.active_applications(cycle, "mentor")[0]
        mentee = applications.active_applications(cycle, "mentee")[0]
        early = client.post(
            f"/api/v1/mentoring/cycles/{cycle.id}/matches",
            json={"matches": [{"mentor": mentor.id, "mentee": mentee.id}]},
            headers=auth,
        )
        assert early.status_code == 409 and "after the application window closes" in early.json["message"]
        assert client.get(f"/api/v1/mentoring/cycles/{cycle.id}/applications").status_code == 401
        public = client.get("/api/v1/mentoring/programmes/api").json
        assert "applications" not in public and public["cycles"][0]["state"] == "open"
    assert (
        db.session.scalar(db.select(Participant.id).where(Participant.email == "nobody@example.org")) is None
    )


def test_a_question_added_through_either_door_is_the_same(app, client):
    auth = officer_token()
    with clock.frozen(DURING):
        web_cycle, api_cycle = _through_each_door(client, auth)
        page = client.get("/manage/mentoring/web")
        client.post(
            "/manage/mentoring/web/questions",
            data={
                "csrf_token": csrf_from(page.data),
                "role": "mentor",
                "preset_id": "",
                "kind": "choice",
                "label": "Years in youth services",
                "choices": "Under 5\n5 to 15\nOver 15",
                "required": "y",
            },
        )
        made = client.post(
            "/api/v1/mentoring/programmes/api/questions/mentor",
            json={
                "kind": "choice",
                "label": "Years in youth services",
                "choices": ["Under 5", "5 to 15", "Over 15"],
                "required": True,
            },
            headers=auth,
        )
        assert made.status_code == 201, made.json
        bad = client.post(
            "/api/v1/mentoring/programmes/api/questions/mentor",
            json={"kind": "choice", "label": "One"},
            headers=auth,
        )
        assert bad.status_code == 422 and "two choices" in bad.json["message"]

    def shape(cycle):  # type: ignore[no-untyped-def]
        form = programmes.question_form(cycle.programme, "mentor")
        return [(q.kind, q.label, q.choice_list, q.required, q.sensitive) for q in form.questions]

    assert shape(web_cycle) == shape(api_cycle)
    assert shape(web_cycle)[-1] == (
        "choice",
        "Years in youth services",
        ["Under 5", "5 to 15", "Over 15"],
        True,
        False,
    )


def test_officers_reorder_and_remove_application_questions_through_each_door(app, client):
    """The questions are the registration engine's: moved and removed by its rules, alike
    from the programme page and the API."""
    auth = officer_token()
    with clock.frozen(DURING):
        _via_api(client, "api", auth)
        sign_in(client)
        _via_web(client, "web")

    def labels(slug: str) -> list[str]:
        db.session.expire_all()
        return [
            q.label for q in programmes.question_form(MentoringProgramme.by_slug(slug), "mentee").questions
        ]

    before = labels("web")
    assert before[:3] == ["Gender", "Geographic region", "Race/Ethnicity"]
    web_region = programmes.question_form(MentoringProgramme.by_slug("web"), "mentee").questions[1]
    api_region = programmes.question_form(MentoringProgramme.by_slug("api"), "mentee").questions[1]
    page = client.get("/manage/mentoring/web")
    assert b"Move up: Geographic region" in page.data
    client.post(
        f"/manage/mentoring/web/questions/{web_region.id}/up", data={"csrf_token": csrf_from(page.data)}
    )
    moved = client.post(f"/api/v1/mentoring/programmes/api/questions/{api_region.id}/up", headers=auth)
    assert moved.status_code == 204
    assert labels("web") == labels("api") == ["Geographic region", "Gender", "Race/Ethnicity", *before[3:]]

    client.post(
        f"/manage/mentoring/web/questions/{web_region.id}/delete", data={"csrf_token": csrf_from(page.data)}
    )
    gone = client.post(f"/api/v1/mentoring/programmes/api/questions/{api_region.id}/delete", headers=auth)
    assert gone.status_code == 204
    assert labels("web") == labels("api") == ["Gender", "Race/Ethnicity", *before[3:]]

    # another programme's question, an unknown action, no token: refused with a reason
    web_gender = programmes.question_form(MentoringProgramme.by_slug("web"), "mentee").questions[0]
    other = client.post(f"/api/v1/mentoring/programmes/api/questions/{web_gender.id}/down", headers=auth)
    assert other.status_code == 404 and labels("web")[0] == "Gender"
    assert (
        client.post(
            f"/api/v1/mentoring/programmes/api/questions/{api_region.id}/sideways", headers=auth
        ).status_code
        == 404
    )
    assert client.post(f"/api/v1/mentoring/programmes/api/questions/{api_region.id}/up").status_code == 401


def test_a_question_edited_in_place_through_either_door_is_the_same(app, client):
    """An officer fixes an application question where it stands (no remove-and-add-again,
    which lost its answers): the programme page's edit form and the API's PATCH store the
    same question, under the same id."""
    auth = officer_token()
    with clock.frozen(DURING):
        sign_in(client)
        _via_web(client, "web")
        _via_api(client, "api", auth)
    typo = {"kind": "choice", "label": "Yeras in youth services", "choices": ["Under 5", "Over 5"]}
    for slug in ("web", "api"):
        made = client.post(f"/api/v1/mentoring/programmes/{slug}/questions/mentor", json=typo, headers=auth)
        assert made.status_code == 201, made.json
    web_q, api_q = (
        programmes.question_form(MentoringProgramme.by_slug(s), "mentor").questions[-1]
        for s in ("web", "api")
    )
    web_id, api_id = web_q.id, api_q.id

    page = client.get("/manage/mentoring/web")
    assert b"Edit: Yeras in youth services" in page.data
    form = client.get(f"/manage/mentoring/web/questions/{web_id}")
    assert form.status_code == 200 and b'value="Yeras in youth services"' in form.data
    assert b"Under 5\nOver 5</textarea>" in form.data  # the stored choices, one per line
    refused = client.post(
        f"/manage/mentoring/web/questions/{web_id}",
        data={"csrf_token": csrf_from(form.data), "kind": "choice", "label": "Years", "choices": "Only one"},
    )
    assert refused.status_code == 400 and b"two choices" in refused.data
    saved = client.post(
        f"/manage/mentoring/web/questions/{web_id}",
        data={
            "csrf_token": csrf_from(form.data),
            "kind": "choice",
            "label": "Years in youth services",
            "choices": "Under 5\n5 to 15\nOver 15",
            "required": "y",
        },
    )
    assert saved.status_code == 303
    assert "Question saved." in client.get(saved.headers["Location"]).get_data(as_text=True)

    url = f"/api/v1/mentoring/programmes/api/questions/{api_id}"
    bad = client.patch(url, json={"choices": ["Only one"]}, headers=auth)
    assert bad.status_code == 422 and "choices" in bad.json["errors"]["json"], bad.json
    changed = client.patch(
        url,
        json={"label": "Years in youth services", "choices": ["Under 5", "5 to 15", "Over 15"]},
        headers=auth,
    )
    assert changed.status_code == 200, changed.json
    assert changed.json["kind"] == "choice"  # not sent: kept
    assert client.patch(url, json={"required": True}, headers=auth).json["label"] == "Years in youth services"

    def stored(slug: str):  # type: ignore[no-untyped-def]
        db.session.expire_all()
        q = programmes.question_form(MentoringProgramme.by_slug(slug), "mentor").questions[-1]
        return q.id, (q.kind, q.label, q.choice_list, q.required, q.sensitive)

    assert stored("web") == (
        web_id,
        ("choice", "Years in youth services", ["Under 5", "5 to 15", "Over 15"], True, False),
    )
    assert stored("api") == (api_id, stored("web")[1])

    # another programme's question, through either door; no token
    assert (
        client.patch(
            f"/api/v1/mentoring/programmes/api/questions/{web_id}", json={"label": "X"}, headers=auth
        ).status_code
        == 404
    )
    assert client.get(f"/manage/mentoring/web/questions/{api_id}").status_code == 404
    assert client.patch(url, json={"label": "X"}).status_code == 401
    assert stored("web")[1][1] == stored("api")[1][1] == "Years in youth services"
