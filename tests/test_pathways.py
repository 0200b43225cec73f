"""Learning pathways, the officer's and the reader's side: building a pathway from events and
external resources on the officer pages, importing resources, browsing /pathways by need,
topic and search, the pathway page, the gaps report (with a real local HTTP server for the
link check) and the JSON API."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sqlalchemy import select

from forum.core.extensions import db
from forum.demo import data as demo
from forum.events import service as events
from forum.models import Participant
from forum.models.pathways import LearningNeed, Pathway, PathwayFollow, Resource, StepProgress
from forum.pathways import gaps as pathway_gaps
from forum.pathways import service as pathways
from forum.pathways.demo import load_pathway
from forum.scheduling.scheduler import run_job
from tests.conftest import csrf_from
from tests.support.api import officer_token
from tests.support.factories import weekly
from tests.support.live import make_event, make_officer, post_form, serving, sign_in
from tests.support.pathways import make_pathway


def plain(html: bytes) -> str:
    """The page's text as a reader sees it (tags dropped, spaces collapsed)."""
    return " ".join(re.sub(r"<[^>]+>", " ", html.decode()).split())


def signed_in(client):  # type: ignore[no-untyped-def]
    make_officer()
    assert sign_in(client).status_code == 302
    return client


# --- building -------------------------------------------------------------------------------------


def test_an_officer_who_chose_french_reads_the_confirmation_in_french(app, client):
    """The confirmations the officer pages flash went out in English whatever the officer had
    chosen (a plain string handed to the page's save helper): they are in the officer's language."""
    signed_in(client)
    chosen = post_form(
        client, "/manage/pathways/needs", {"language": "fr", "next": "/manage/pathways/needs"}, action="/language"
    )
    assert chosen.status_code == 303
    answer = post_form(client, "/manage/pathways/needs", {"title": "New to serials"})
    assert answer.status_code == 303
    page = plain(client.get(answer.headers["Location"]).data)
    assert "Besoin d’apprentissage ajouté." in page
    assert "Learning need added." not in page


def test_an_officer_builds_a_pathway_from_events_and_external_resources(app, client):
    signed_in(client)
    series = make_event("cataloging-series", weekly(datetime(2030, 6, 4, 14)), kind="series")
    forum = make_event("mentoring", [(datetime(2030, 5, 1, 10), datetime(2030, 5, 1, 18))])

    answer = post_form(client, "/manage/pathways/needs", {"title": "New to technical services"})
    assert answer.status_code == 303
    need = db.session.scalar(select(LearningNeed))
    assert need is not None and need.slug == "new-to-technical-services"

    answer = post_form(
        client,
        "/manage/pathways/resources",
        {"title": "RDA in a nutshell", "url": "ftp://example.org/rda", "kind": "document", "minutes": "25"},
    )
    assert answer.status_code == 400
    assert "Enter a full web address starting with https://" in plain(answer.data)
    answer = post_form(
        client,
        "/manage/pathways/resources",
        {
            "title": "RDA in a nutshell",
            "url": "https://example.org/rda",
            "kind": "document",
            "minutes": "25",
            "topics": "RDA, cataloging",
            "description": "Start *here*.",
        },
    )
    assert answer.status_code == 303
    doc = db.session.scalar(select(Resource).where(Resource.kind == "document"))
    assert doc is not None and doc.topic_list == ["RDA", "cataloging"]

    answer = post_form(
        client,
        "/manage/pathways/new",
        {"title": "New to technical services", "audience": "First-year staff", "needs": str(need.id)},
    )
    assert answer.status_code == 303 and answer.location.endswith(
        "/manage/pathways/new-to-technical-services"
    )
    page = "/manage/pathways/new-to-technical-services"
    steps = [
        {"source": f"resource:{doc.id}", "why": "The vocabulary first.", "stage": "Start here"},
        {"source": f"session:{series.sessions[1].id}", "why": "Authority work, live.", "stage": "Learn live"},
        {"source": f"event:{forum.id}", "why": "Ask the mentors.", "stage": ""},
    ]
    for step in steps:
        assert post_form(client, page, step).status_code == 303
    bad = post_form(client, page, {"source": "resource:9999", "why": ""})
    assert bad.status_code == 400 and "Not a valid choice." in plain(bad.data)
    unchosen = post_form(client, page, {"source": "", "why": "Something"})
    assert unchosen.status_code == 400 and "Choose a resource for this step." in plain(unchosen.data)

    pathway = Pathway.by_slug("new-to-technical-services")
    assert pathway is not None
    assert [s.resource.kind for s in pathway.steps] == ["document", "session", "event"]
    assert [s.stage for s in pathway.steps] == ["Start here", "Learn live", "Learn live"]
    assert client.get("/pathways/new-to-technical-services").status_code == 200  # officers preview drafts

    # move the event up one place, then publish
    step_id = pathway.steps[2].id
    post_form(client, page, {}, action=f"{page}/steps/{step_id}/up")
    db.session.expire_all()
    assert [s.resource.kind for s in pathway.steps] == ["document", "event", "session"]
    assert post_form(client, page, {}, action=f"{page}/publish").status_code == 303
    db.session.expire_all()
    assert pathway.status == "published"

    public = plain(client.get("/pathways/new-to-technical-services").data)
    assert "For: First-year staff" in public
    assert "3 steps · about 1.4 hours in all" not in public  # 25 + 60 minutes, the e-forum unestimated
    assert "3 steps · about 85 minutes in all" in public
    order = [public.index(t) for t in ("RDA in a nutshell", "Mentoring", "Cataloging Series")]
    assert order == sorted(order)
    assert "Tuesday, 6/11/2030" in public and "2:00 PM–3:00 PM (Eastern)" in public
    assert (
        'href="/events/cataloging-series#register"'
        in client.get("/pathways/new-to-technical-services").data.decode()
    )


def test_publishing_needs_a_step_and_drafts_stay_private(app, client):
    signed_in(client)
    pathways.save_pathway(None, title="Empty one")
    db.session.commit()
    answer = post_form(client, "/manage/pathways/empty-one", {}, action="/manage/pathways/empty-one/publish")
    assert answer.status_code == 303
    assert "Add at least one step before publishing." in plain(client.get("/manage/pathways/empty-one").data)
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/manage/pathways/").data)})
    assert client.get("/pathways/empty-one").status_code == 404
    assert client.get("/manage/pathways/").status_code == 302


def test_csv_import_adds_good_rows_and_reports_bad_ones_by_line(app, client):
    signed_in(client)
    pathways.save_external(None, title="Known", url="https://example.org/known", kind="video")
    db.session.commit()
    csv_text = (
        "title,url,kind,minutes,topics\n"
        "Serials 101,https://example.org/serials,course,90,serials; acquisitions\n"
        "\n"
        "No address,,document,10,\n"
        "Known again,https://example.org/known,video,,\n"
        '"Multi-line\n title",https://example.org/ml,podcast,5,\n'
        "Budgets,https://example.org/budgets,document,ten,\n"
        "Invoices,https://example.org/invoices,webinar,30,acquisitions\n"
    )
    page = client.get("/manage/pathways/resources")
    answer = client.post(
        "/manage/pathways/resources/import",
        data={"csrf_token": csrf_from(page.data), "file": (io.BytesIO(csv_text.encode()), "resources.csv")},
        content_type="multipart/form-data",
    )
    text = plain(answer.data)
    assert "2 added, 4 skipped (of 6 rows)" in text
    assert "Line 4: Enter a full web address" in text
    assert "Line 5: https://example.org/known is already on file." in text
    assert "Line 6: Kind must be one of: document, video, course, webinar." in text
    assert "Line 8: “ten” is not a number of minutes." in text
    titles = set(db.session.scalars(select(Resource.title)))
    assert titles == {"Known", "Serials 101", "Invoices"}


# --- browsing -------------------------------------------------------------------------------------


def test_browse_by_need_topic_and_search(app, client):
    make_pathway()
    draft = make_pathway("draft-pathway", publish=False)
    pathways.save_need(None, title="New to acquisitions work")
    db.session.commit()

    index = plain(client.get("/pathways").data)
    assert (
        "Start from where you are New to cataloging New to cataloging 4 steps · Staff new to cataloging"
        in index
    )
    assert "New to acquisitions work" not in index, "a need with no published pathway is not offered"
    assert draft.title not in index
    assert "authority control (4)" in index  # two videos in each pathway; external resources are public

    by_topic = plain(client.get("/pathways?topic=Authority+Control").data)
    assert "Topic: Authority Control" in by_topic
    assert "Video 1: authority records" in by_topic and "Reading 0" not in by_topic
    assert "Part of: New to cataloging" in by_topic

    found = plain(client.get("/pathways?q=subject+headings").data)  # words from the event's description
    assert "Cataloging Series" in found and "Reading 0" not in found
    assert "(1 resource)" in found
    nothing = plain(client.get("/pathways?q=zebra").data)
    assert "Nothing matches yet." in nothing
    assert client.get("/pathways/draft-pathway").status_code == 404


# --- gaps and the link check ------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    def _answer(self, body: bool) -> None:
        if self.path == "/gone":
            self.send_response(404)
        elif self.path == "/no-head" and self.command == "HEAD":
            self.send_response(405)
        elif self.path == "/broken":
            self.send_response(503)
        else:
            self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        if body:
            self.wfile.write(b"ok")

    def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
        self._answer(False)

    def do_GET(self) -> None:  # noqa: N802
        self._answer(True)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@contextmanager
def web_server() -> Iterator[str]:
    with serving(ThreadingHTTPServer(("127.0.0.1", 0), _Handler)) as url:
        yield url


def test_gaps_report_lists_uncovered_needs_dead_links_and_cancelled_events(app, client):
    signed_in(client)
    pathway = make_pathway(external=4)
    pathways.save_need(None, title="New to acquisitions work")
    app.config["OUTBOUND_ALLOW_LOOPBACK"] = True  # the "web" here is a server on 127.0.0.1
    with web_server() as base:
        for step, path in zip(pathway.steps[2:], ("/gone", "/no-head", "/broken"), strict=True):
            step.resource.url = base + path
        pathway.steps[0].resource.url = base + "/fine"
        db.session.commit()
        run_job("link-check")
    db.session.expire_all()
    statuses = [s.resource.link_status for s in pathway.steps if s.resource.is_external]
    assert statuses == [200, 404, 200, 503]
    session = pathway.steps[1].resource.session
    events.cancel_session(session)
    db.session.commit()

    text = plain(client.get("/manage/pathways/gaps").data)
    uncovered = text.split("Learning needs with no published pathway")[1].split("Dead ends")[0]
    assert "New to acquisitions work" in uncovered and "New to cataloging" not in uncovered
    dead = text.split("Dead ends")[1].split("What serves each learning need")[0]
    assert f"{base}/gone answers 404" in dead
    assert f"{base}/broken answers 503" in dead
    assert "/no-head" not in dead and "/fine" not in dead
    assert "Cataloging Series was cancelled" in dead
    assert "Resources in no pathway" not in text
    resources_page = plain(client.get("/manage/pathways/resources").data)
    assert "404" in resources_page and "not checked yet" not in resources_page


def test_link_check_records_a_server_that_does_not_answer(app):
    with web_server() as base:
        pass  # the server is gone again: its port refuses connections
    app.config["OUTBOUND_ALLOW_LOOPBACK"] = True
    resource = pathways.save_external(None, title="Gone", url=f"{base}/x", kind="document")
    db.session.commit()
    run_job("link-check")
    db.session.expire_all()
    assert resource.link_status is None and resource.link_error == "no answer"
    assert resource.link_broken


def test_follower_progress_is_a_chart_with_a_table(app, client):
    signed_in(client)
    pathway = make_pathway()
    now = datetime(2030, 1, 1).astimezone()
    rows = [
        ("active", 1),
        ("active", 2),
        ("completed", 4),
        ("left", 1),
        ("left", 2),
        ("paused", 2),
        ("pending", 0),
    ]
    for n, (status, position) in enumerate(rows):
        person = Participant(email=f"p{n}@example.org", email_key=f"p{n}@example.org")
        follow = PathwayFollow(
            pathway=pathway,
            participant=person,
            status=status,
            position=position,
            confirmed_at=None if status == "pending" else now,
        )
        db.session.add(follow)
        for i, step in enumerate(pathway.steps[:position]):  # mailed; done but the last (all when completed)
            done = status == "completed" or i < position - 1
            db.session.add(
                StepProgress(follow=follow, step=step, state="done" if done else "sent", sent_at=now)
            )
    db.session.commit()
    html = client.get("/manage/pathways/gaps").data.decode()
    assert html.count("<svg") == 2
    overview = plain(html.split("Followers of New to cataloging</caption>")[1].split("</table>")[0].encode())
    assert overview == "Started Active Completed Paused Left 6 2 1 1 2"
    stops = plain(html.split("and followers who stopped there</caption>")[1].split("</table>")[0].encode())
    assert stops == (
        "Step Mailed Done Skipped Stopped here "
        "1. Reading 0: cataloging basics 6 4 0 1 "
        "2. Cataloging Series 4 1 0 2 "
        "3. Video 1: authority records 1 1 0 0 "
        "4. Video 2: authority records 1 1 0 0"
    )


# --- API ------------------------------------------------------------------------------------------------


def test_api_reads_published_without_a_token_and_writes_with_one(app, client):
    make_pathway()
    make_pathway("draft-pathway", publish=False)
    listed = client.get("/api/v1/pathways").get_json()
    assert [p["slug"] for p in listed] == ["new-to-cataloging"]
    one = client.get("/api/v1/pathways/new-to-cataloging").get_json()
    assert [s["resource"]["kind"] for s in one["steps"]] == ["document", "session", "video", "video"]
    assert one["total_minutes"] == 20 + 60 + 20 + 20
    assert one["needs"] == ["new-to-cataloging"]
    assert client.get("/api/v1/pathways/draft-pathway").status_code == 404
    assert client.post("/api/v1/needs", json={"title": "New to serials"}).status_code == 401

    headers = officer_token()
    assert client.get("/api/v1/pathways/draft-pathway", headers=headers).status_code == 200
    need = client.post("/api/v1/needs", json={"title": "New to serials"}, headers=headers)
    assert need.status_code == 201 and need.get_json()["slug"] == "new-to-serials"
    # a second one at the same address clashes with what exists: 409, as for events
    again = client.post("/api/v1/needs", json={"title": "New to serials"}, headers=headers)
    assert again.status_code == 409 and "already uses the address" in again.get_json()["errors"]["json"]["slug"][0]
    no_url = client.post("/api/v1/resources", json={"title": "X", "url": "", "kind": "video"}, headers=headers)
    assert no_url.status_code == 422 and "url" in no_url.get_json()["errors"]["json"]
    bad = client.post(
        "/api/v1/resources",
        json={"title": "X", "url": "https://example.org/x", "kind": "podcast"},
        headers=headers,
    )
    assert bad.status_code == 422 and "kind" in bad.get_json()["errors"]["json"]
    res = client.post(
        "/api/v1/resources",
        json={
            "title": "Serials basics",
            "url": "https://example.org/serials",
            "kind": "course",
            "topics": ["serials"],
        },
        headers=headers,
    )
    assert res.status_code == 201
    made = client.post(
        "/api/v1/pathways",
        json={
            "title": "New to serials",
            "needs": ["new-to-serials"],
            "steps": [
                {"resource_id": res.get_json()["id"], "why": "Basics first", "stage": "Start"},
                {"event": "cataloging-series", "why": "Live practice"},
            ],
            "publish": True,
        },
        headers=headers,
    )
    assert made.status_code == 201, made.get_json()
    assert [s["resource"]["title"] for s in made.get_json()["steps"]] == [
        "Serials basics",
        "Cataloging Series",
    ]
    assert client.get("/api/v1/pathways/new-to-serials").status_code == 200
    unknown = client.post(
        "/api/v1/pathways", json={"title": "Other", "steps": [{"event": "nope"}]}, headers=headers
    )
    assert unknown.status_code == 404 and Pathway.by_slug("other") is None
    assert unknown.get_json()["errors"]["json"]["steps"] == ["No event “nope”."]
    taken = client.post("/api/v1/pathways", json={"title": "New to serials"}, headers=headers)
    assert taken.status_code == 409 and "slug" in taken.get_json()["errors"]["json"]
    again = client.post("/api/v1/needs", json={"title": "New to serials"}, headers=headers)
    assert again.status_code == 409 and "slug" in again.get_json()["errors"]["json"]
    twice = client.post(
        "/api/v1/pathways", json={"title": "Serials again", "needs": ["new-to-serials"] * 2}, headers=headers
    )
    assert twice.status_code == 201 and twice.get_json()["needs"] == ["new-to-serials"]
    empty = client.post("/api/v1/pathways", json={"title": "Empty"}, headers=headers)
    assert empty.status_code == 201 and empty.get_json()["status"] == "draft"
    assert client.post("/api/v1/pathways", json={"title": "Empty"}, headers=headers).status_code == 409
    refused = client.post("/api/v1/pathways/empty/publish", headers=headers)
    assert refused.status_code == 409
    assert refused.get_json()["errors"]["json"]["steps"] == ["Add at least one step before publishing."]
    step = client.post(
        "/api/v1/pathways/empty/steps", json={"resource_id": res.get_json()["id"]}, headers=headers
    )
    assert step.status_code == 201 and len(step.get_json()["steps"]) == 1
    assert client.post("/api/v1/pathways/empty/publish", headers=headers).get_json()["status"] == "published"
    assert client.post("/api/v1/pathways/empty/publish").status_code == 401
    spec = client.get("/api/openapi.json").get_json()
    assert {"/api/v1/pathways", "/api/v1/needs", "/api/v1/resources"} <= set(spec["paths"])


def test_demo_data_has_the_new_to_technical_services_pathway(app):
    demo.load()
    pathway = Pathway.by_slug("new-to-technical-services")
    assert pathway is not None and pathway.status == "published"
    kinds = [s.resource.kind for s in pathway.steps]
    assert kinds == ["document", "session", "event", "session", "course", "video"]
    assert {s.resource.the_event.slug for s in pathway.steps if s.resource.the_event} == {
        "mentoring-in-technical-services",
        "re-envisioning-technical-services",
    }
    assert [n.title for n in pathway.needs] == ["New to technical services"]
    assert pathway_gaps.gap_report().uncovered[0].title == "New to a member library"
    again = demo.DemoReport()
    assert load_pathway(again) is None and again.existing == [
        "pathway new-to-technical-services (left as it is)"
    ]


def test_deleting_keeps_what_is_in_use(app, client):
    signed_in(client)
    pathway = make_pathway()
    used = pathway.steps[0].resource
    spare = pathways.save_external(None, title="Spare", url="https://example.org/spare", kind="video")
    need = pathway.needs[0]
    db.session.commit()
    page = f"/manage/pathways/resources/{used.id}"
    answer = post_form(client, page, {}, action=f"{page}/delete")
    assert answer.status_code == 303
    assert "Used in: New to cataloging. Remove those steps first." in plain(client.get(page).data)
    assert db.session.get(Resource, used.id) is not None
    page = f"/manage/pathways/resources/{spare.id}"
    post_form(client, page, {}, action=f"{page}/delete")
    assert db.session.get(Resource, spare.id) is None

    page = "/manage/pathways/new-to-cataloging"
    post_form(client, page, {}, action=f"{page}/delete")
    assert "Move the pathway back to draft before deleting it." in plain(client.get(page).data)
    post_form(client, page, {}, action=f"{page}/unpublish")
    assert post_form(client, page, {}, action=f"{page}/delete").location.endswith("/manage/pathways/")
    db.session.expire_all()
    assert Pathway.by_slug("new-to-cataloging") is None
    page = f"/manage/pathways/needs/{need.id}"
    post_form(client, page, {}, action=f"{page}/delete")
    assert db.session.scalar(select(LearningNeed)) is None


def test_import_resources_command_lists_bad_rows_by_line(app, tmp_path):
    path = tmp_path / "resources.csv"
    path.write_text(
        "\ufefftitle,url,kind\nGood one,https://example.org/good,video\nBad one,https://example.org/bad,poster\n",
        encoding="utf-8",
    )
    result = app.test_cli_runner().invoke(args=["forum", "import-resources", str(path)])
    assert result.exit_code == 0, result.output
    assert "line 3: Kind must be one of: document, video, course, webinar." in result.output
    assert "1 added, 1 skipped (of 2 rows)" in result.output
    assert [r.title for r in db.session.scalars(select(Resource))] == ["Good one"]


def test_an_event_resource_takes_topics_and_a_time_estimate(app, client):
    signed_in(client)
    forum = make_event("mentoring", [(datetime(2030, 5, 1, 10), datetime(2030, 5, 2, 18))])
    resource = pathways.resource_for_event(forum)
    db.session.commit()
    assert pathways.minutes_of(resource) is None  # days of e-forum say nothing about a learner's time
    page = f"/manage/pathways/resources/{resource.id}"
    assert "its title, description and times come from the event" in plain(client.get(page).data)
    bad = post_form(client, page, {"topics": "mentoring", "minutes": "-5"})
    assert bad.status_code == 400 and "Estimated minutes must be between 1 and 100000." in plain(bad.data)
    assert post_form(client, page, {"topics": "mentoring; careers", "minutes": "90"}).status_code == 303
    db.session.expire_all()
    assert (resource.topic_list, pathways.minutes_of(resource)) == (["mentoring", "careers"], 90)
