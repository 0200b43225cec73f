"""Demo learning pathway for `make run`: "New to technical services", built from the demo
e-forum and webinar series plus a few external resources, and the needs it serves."""

from __future__ import annotations

from typing import Any

from forum.core.text import slugify
from forum.models import Event
from forum.models.pathways import LearningNeed, Pathway, Resource
from forum.pathways import service as pathways

NEEDS = [
    (
        "New to technical services",
        "You have just joined acquisitions, cataloging, metadata or e-resources work.",
    ),
    (
        "New to a member library",
        "You have just started at a member library and want to know how we work together.",
    ),
    ("New to acquisitions work", "You order, receive and pay for materials for the first time."),
]

EXTERNAL: list[dict[str, Any]] = [
    {
        "title": "Core Competencies for Cataloging and Metadata Professional Librarians",
        "url": "https://alair.ala.org/handle/11213/7853",
        "kind": "document",
        "minutes": 30,
        "topics": "cataloging, metadata, competencies",
        "description": "The skills the profession expects of catalogers, in plain language: read it to see "
        "where you are and what to ask your mentor about.",
    },
    {
        "title": "Library of Congress Cataloger's Learning Workshop: RDA essentials",
        "url": "https://www.loc.gov/catworkshop/",
        "kind": "course",
        "minutes": 240,
        "topics": "cataloging, RDA",
        "description": "Free self-paced course materials from the Library of Congress.",
    },
    {
        "title": "Acquisitions basics: from order to invoice",
        "url": "https://www.ala.org/core/continuing-education",
        "kind": "video",
        "minutes": 45,
        "topics": "acquisitions, invoices, budgets",
        "description": "A recorded walk-through of the order, receipt and payment cycle.",
    },
]

PATHWAY = {
    "slug": "new-to-technical-services",
    "title": "New to technical services",
    "audience": "Library staff in their first year in acquisitions, cataloging or metadata work",
    "summary": "Eight weeks, one step a week: the landscape first, then people who do the work, then the skills.",
}


def load_pathway(report: Any) -> Pathway | None:
    """Needs, external resources and the pathway (published); None when it already exists."""
    if Pathway.by_slug(PATHWAY["slug"]) is not None:
        report.existing.append(f"pathway {PATHWAY['slug']} (left as it is)")
        return None
    needs = []
    for title, description in NEEDS:
        need = LearningNeed.by_slug(slugify(title, "pathway"))
        needs.append(need or pathways.save_need(None, title=title, description=description))
    docs = [pathways.save_external(None, **spec) for spec in EXTERNAL]
    forum = Event.by_slug("mentoring-in-technical-services")
    series = Event.by_slug("re-envisioning-technical-services")
    pathway = pathways.save_pathway(None, needs=needs[:1], **PATHWAY)
    pathways.add_step(
        pathway,
        docs[0],
        stage="Find your bearings",
        why="Names the skills you will grow into, so the rest of the pathway has a map.",
    )

    def ours(resource: Resource, topics: str, why: str, stage: str = "", minutes: int | None = None) -> None:
        """A step on one of our own events or sessions, with the topics and time it is filed under."""
        pathways.set_internal(resource, topics=topics, minutes=minutes)
        pathways.add_step(pathway, resource, stage=stage, why=why)

    if series is not None and series.sessions:
        ours(
            pathways.resource_for_session(series.sessions[0]),
            "technical services, staff development",
            "How technical services work is changing, and where new staff fit in.",
        )
    if forum is not None:
        ours(
            pathways.resource_for_event(forum),
            "mentoring, career development",
            "Ask mentors and peers the questions you have after your first weeks.",
            stage="Learn from people who do the work",
            minutes=90,
        )
    if series is not None and len(series.sessions) > 2:
        ours(
            pathways.resource_for_session(series.sessions[2]),
            "staff development, mentoring",
            "Residencies, peer training and succession planning: how others learned the job.",
        )
    pathways.add_step(
        pathway, docs[1], stage="Build your skills", why="The standard you will catalog to, at your own pace."
    )
    pathways.add_step(
        pathway, docs[2], why="If your work includes ordering: the whole cycle from order to invoice."
    )
    pathways.publish(pathway)
    report.created.append(f"pathway {pathway.slug} ({len(pathway.steps)} steps)")
    return pathway
