"""Helpers for the pathway tests: a pathway built from events and external resources,
a follower made through the real pages, and the step mails in the outbox."""

from __future__ import annotations

from datetime import datetime

from flask.testing import FlaskClient

from forum.core.extensions import db
from forum.models import Event, OutboundMessage
from forum.models.pathways import LearningNeed, Pathway
from forum.pathways import service as pathways
from tests.conftest import csrf_from
from tests.support.live import make_event
from tests.support.subscriptions import link_in, outbox

ZONE = "America/New_York"


def make_pathway(
    slug: str = "new-to-cataloging",
    *,
    external: int = 3,
    series_start: datetime = datetime(2030, 6, 4, 14),
    publish: bool = True,
) -> Pathway:
    """External resources around one upcoming webinar session (step 2):
    doc, the series' first session, then `external - 1` more external resources."""
    need = LearningNeed.by_slug("new-to-cataloging") or pathways.save_need(None, title="New to cataloging")
    series = Event.by_slug("cataloging-series") or make_event(
        "cataloging-series",
        [(series_start, series_start.replace(hour=series_start.hour + 1))],
        kind="series",
        description="Subject headings in practice.",
    )
    docs = [
        pathways.save_external(
            None,
            title=f"Reading {n}: cataloging basics" if n == 0 else f"Video {n}: authority records",
            url=f"https://example.org/res/{slug}/{n}",
            kind="document" if n == 0 else "video",
            minutes=20,
            topics="cataloging, authority control" if n else "cataloging",
            description="An *introduction* for new staff.",
        )
        for n in range(external)
    ]
    item = pathways.save_pathway(
        None,
        title=slug.replace("-", " ").capitalize(),
        slug=slug,
        needs=[need],
        audience="Staff new to cataloging",
    )
    pathways.add_step(item, docs[0], stage="Start here", why="The vocabulary you will hear every day.")
    pathways.add_step(item, pathways.resource_for_session(series.sessions[0]), why="See it done live.")
    for doc in docs[1:]:
        pathways.add_step(item, doc, stage="Practice", why="Hands-on.")
    if publish:
        pathways.publish(item)
    db.session.commit()
    return item


def follow_form(client: FlaskClient, pathway: Pathway, email: str, **pace: object):  # type: ignore[no-untyped-def]
    """Submit the public follow form as a visitor would."""
    page = client.get(f"/pathways/{pathway.slug}")
    assert page.status_code == 200
    data = {
        "email": email,
        "interval_days": "7",
        "weekday": "0",
        "hour": "9",
        "timezone": ZONE,
        "advance_on_done": "y",
        "csrf_token": csrf_from(page.data),
    }
    data.update({k: str(v) for k, v in pace.items()})
    if pace.get("advance_on_done") is False:
        data.pop("advance_on_done")
    return client.post(f"/pathways/{pathway.slug}", data=data)


def click(client: FlaskClient, path: str):  # type: ignore[no-untyped-def]
    """GET a signed-link page (which must change nothing), then press its button."""
    page = client.get(path)
    assert page.status_code == 200, page.data[:300]
    return client.post(path, data={"csrf_token": csrf_from(page.data)})


def confirm_by_mail(client: FlaskClient, email: str) -> None:
    row = outbox("pathway-confirm", email)[-1]
    assert click(client, link_in(row, "/pathways/follow/")).status_code == 200


def steps_to(email: str) -> list[OutboundMessage]:
    return outbox("pathway-step", email)
