"""Learning pathways: the officer's actions and the public questions, for every door.

Resources (this app's events and sessions, external documents, videos, courses,
webinars), learning needs and pathways of steps are built here, whether the officer
uses the web pages, the JSON API or the demo loader; browsing, search and the gaps
report read from here too. Following a pathway by email lives in `pathway_follow.py`,
the scheduled link check in `link_check.py`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from urllib.parse import urlsplit

from flask_babel import gettext as _
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from forum.common import topics as topic_list
from forum.core import clock
from forum.core.extensions import db
from forum.core.text import slugify
from forum.models import Event, Session
from forum.models.pathways import (
    EXTERNAL_KINDS,
    RESOURCE_KINDS,
    LearningNeed,
    Pathway,
    PathwayFollow,
    PathwayStep,
    Resource,
    StepProgress,
    split_topics,
)


class PathwayError(ValueError):
    """Input an officer can fix; `field` names the form field it belongs to."""

    def __init__(self, message: str, field: str = "title"):
        super().__init__(message)
        self.field = field


# --- resources ------------------------------------------------------------------------------


def check_url(url: str) -> str:
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise PathwayError(_("Enter a full web address starting with https:// (or http://)."), "url")
    return url


def check_minutes(value: object) -> int | None:
    if value in (None, ""):
        return None
    try:
        minutes = int(str(value).strip())
    except ValueError:
        raise PathwayError(_("“%(value)s” is not a number of minutes.", value=value), "minutes") from None
    if not 0 < minutes <= 100_000:
        raise PathwayError(_("Estimated minutes must be between 1 and 100000."), "minutes")
    return minutes


def save_external(
    resource: Resource | None,
    *,
    title: str,
    url: str,
    kind: str,
    minutes: object = None,
    description: str = "",
    topics: str | Iterable[str] = "",
) -> Resource:
    """Create or change an external resource; raises PathwayError for input to fix."""
    title = " ".join((title or "").split())
    if not title:
        raise PathwayError(_("Give the resource a title."), "title")
    if len(title) > 200:
        raise PathwayError(_("Keep the title under 200 characters."), "title")
    kind = (kind or "").strip().lower()
    if kind not in EXTERNAL_KINDS:
        raise PathwayError(_("Kind must be one of: %(kinds)s.", kinds=', '.join(EXTERNAL_KINDS)), "kind")
    url = check_url(url)
    topic_text = ", ".join(split_topics(topics if isinstance(topics, str) else ",".join(topics)))
    if len(topic_text) > 500:
        raise PathwayError(_("Keep the topics under 500 characters."), "topics")
    if resource is None:
        resource = Resource(kind=kind)
        db.session.add(resource)
    if resource.url != url:
        resource.link_status, resource.link_error, resource.link_checked_at = None, "", None
    resource.kind, resource.title, resource.url = kind, title, url
    resource.minutes = check_minutes(minutes)
    resource.description = description or ""
    resource.topics = topic_text
    db.session.flush()
    return resource


def resource_for_event(event: Event) -> Resource:
    """The one resource standing for an event (made on first use)."""
    found = db.session.scalar(select(Resource).where(Resource.kind == "event", Resource.event_id == event.id))
    if found is None:
        found = Resource(kind="event", event=event)
        db.session.add(found)
        db.session.flush()
    return found


def resource_for_session(session: Session) -> Resource:
    """The one resource standing for a single session of an event."""
    found = db.session.scalar(
        select(Resource).where(Resource.kind == "session", Resource.session_id == session.id)
    )
    if found is None:
        found = Resource(kind="session", session=session, event_id=session.event_id)
        db.session.add(found)
        db.session.flush()
    return found


def set_internal(resource: Resource, *, topics: str, minutes: object = None) -> None:
    """What an officer may set on an event or session resource: topics and a time estimate
    (an e-forum's days say little about the time a learner spends in it)."""
    resource.topics = ", ".join(split_topics(topics))
    resource.minutes = check_minutes(minutes)


def minutes_of(resource: Resource) -> int | None:
    """Time a resource takes: the officer's estimate, or the length of its live sessions."""
    if resource.is_external:
        return resource.minutes
    if resource.minutes:
        return resource.minutes
    event = resource.the_event
    if resource.session is None and event is not None and event.is_eforum:
        return None  # days of asynchronous discussion: only the officer's estimate means anything
    sessions = [resource.session] if resource.session is not None else live_sessions(resource)
    return (
        sum(int((s.ends_at - s.starts_at).total_seconds() // 60) for s in sessions if s is not None) or None
    )


def live_sessions(resource: Resource) -> list[Session]:
    if resource.session is not None:
        return [resource.session] if resource.session.status != "cancelled" else []
    return resource.event.active_sessions if resource.event is not None else []


def upcoming_sessions(resource: Resource, at: datetime | None = None) -> list[Session]:
    """Sessions of a published event, not cancelled, not yet over."""
    at = at or clock.now()
    event = resource.the_event
    if event is None or event.status != "published":
        return []
    return [s for s in live_sessions(resource) if s.ends_at > at]


def step_state(resource: Resource, at: datetime | None = None) -> str:
    """`external`, `upcoming`, `past`, `cancelled` or `unavailable` (a draft event)."""
    if resource.is_external:
        return "external"
    event = resource.the_event
    if event is None or event.status == "cancelled":
        return "cancelled"
    if resource.session is not None and resource.session.status == "cancelled":
        return "cancelled"
    if event.status != "published":
        return "unavailable"
    return "upcoming" if upcoming_sessions(resource, at) else "past"


def public_title(resource: Resource) -> str:
    """The title a visitor may see: a draft event's title stays private until it is published."""
    if not resource.is_external and step_state(resource) == "unavailable":
        return _("An event to be announced")
    return resource.display_title


def recording_url(resource: Resource) -> str | None:
    """The public recording of a past event or session, when there is one to share.

    The one place pathway pages and mails ask for "the recording": the first public
    "recording" material of the session (or of the event's sessions, in order). Only public
    ones, since a follower need not be a registrant and the pathway page is public.
    """
    sessions = (
        [resource.session]
        if resource.session is not None
        else (resource.event.sessions if resource.event else [])
    )
    for session in sessions:
        for material in session.materials:
            if material.kind == "recording" and material.public:
                return material.url
    return None


# --- learning needs and pathways --------------------------------------------------------------


def _title_and_slug(
    model: type[LearningNeed] | type[Pathway],
    row: LearningNeed | Pathway | None,
    title: str,
    slug: str,
    fallback: str,
    *,
    empty: str,
    taken: str,
) -> tuple[str, str]:
    """A need's or a pathway's title (spaces tidied, required) and its address (made from the
    title when empty, and not another row's): both are found by their slug."""
    title = " ".join((title or "").split())
    if not title:
        raise PathwayError(empty, "title")
    slug = slugify(slug or title, fallback)
    clash = model.by_slug(slug)
    if clash is not None and clash is not row:
        raise PathwayError(taken.format(slug=slug), "slug")
    return title, slug


def save_need(
    need: LearningNeed | None, *, title: str, slug: str = "", description: str = ""
) -> LearningNeed:
    title, slug = _title_and_slug(
        LearningNeed,
        need,
        title,
        slug,
        "need",
        empty="Describe the learning need, e.g. “New to acquisitions work”.",
        taken="Another learning need already uses the address “{slug}”.",
    )
    if need is None:
        need = LearningNeed(position=(db.session.scalar(select(func.max(LearningNeed.position))) or 0) + 1)
        db.session.add(need)
    need.title, need.slug, need.description = title[:200], slug, description or ""
    db.session.flush()
    return need


def save_pathway(
    pathway: Pathway | None,
    *,
    title: str,
    slug: str = "",
    summary: str = "",
    audience: str = "",
    description: str = "",
    needs: Iterable[LearningNeed] = (),
    topics: Iterable[str] | None = None,
) -> Pathway:
    """Create or change a pathway; `topics` are topic addresses (None leaves them as they are)."""
    title, slug = _title_and_slug(
        Pathway,
        pathway,
        title,
        slug,
        "pathway",
        empty="Give the pathway a title.",
        taken="Another pathway already uses the address /pathways/{slug}.",
    )
    if len(audience or "") > 300:
        raise PathwayError(_("Keep the audience line under 300 characters."), "audience")
    try:
        chosen = None if topics is None else topic_list.by_slugs(topics)
    except topic_list.TopicError as exc:
        raise PathwayError(str(exc), "topics") from None
    if pathway is None:
        pathway = Pathway()
        db.session.add(pathway)
    pathway.title, pathway.slug = title[:200], slug
    pathway.summary, pathway.audience, pathway.description = summary or "", audience or "", description or ""
    pathway.needs = list(needs)
    if chosen is not None:
        pathway.topics = chosen
    db.session.flush()
    return pathway


def add_step(pathway: Pathway, resource: Resource, *, why: str = "", stage: str = "") -> PathwayStep:
    """Append a step; a step with no stage name joins the stage of the step before it."""
    if len(why or "") > 500:
        raise PathwayError(_("Keep “why this step” under 500 characters."), "why")
    stage = " ".join((stage or "").split())[:120]
    if not stage and pathway.steps:
        stage = pathway.steps[-1].stage
    step = PathwayStep(resource=resource, why=(why or "").strip(), stage=stage, position=len(pathway.steps))
    pathway.steps.append(step)
    db.session.flush()
    return step


def update_step(step: PathwayStep, *, why: str, stage: str) -> None:
    if len(why or "") > 500:
        raise PathwayError(_("Keep “why this step” under 500 characters."), "why")
    step.why, step.stage = (why or "").strip(), " ".join((stage or "").split())[:120]


def move_step(step: PathwayStep, delta: int) -> None:
    steps = list(step.pathway.steps)
    i = steps.index(step)
    j = max(0, min(len(steps) - 1, i + delta))
    steps.insert(j, steps.pop(i))
    for position, s in enumerate(steps):
        s.position = position
    db.session.flush()
    db.session.refresh(step.pathway, ["steps"])


def remove_step(step: PathwayStep) -> None:
    """Take a step out (with its progress rows); followers carry on with the steps left."""
    pathway = step.pathway
    for progress in db.session.scalars(select(StepProgress).where(StepProgress.step_id == step.id)):
        db.session.delete(progress)
    pathway.steps.remove(step)
    db.session.delete(step)
    for position, s in enumerate(pathway.steps):
        s.position = position
    db.session.flush()


def publish(pathway: Pathway) -> None:
    if not pathway.steps:
        raise PathwayError(_("Add at least one step before publishing."), "steps")
    pathway.status = "published"
    pathway.published_at = pathway.published_at or clock.now()


def unpublish(pathway: Pathway) -> None:
    """Back to draft: gone from public pages; followers get no more steps until it returns."""
    pathway.status = "draft"


def delete_pathway(pathway: Pathway) -> None:
    """Delete a draft pathway with its steps and its followers' records."""
    if pathway.is_published:
        raise PathwayError(_("Move the pathway back to draft before deleting it."), "status")
    for follow in db.session.scalars(select(PathwayFollow).where(PathwayFollow.pathway_id == pathway.id)):
        db.session.delete(follow)
    db.session.delete(pathway)
    db.session.flush()


def delete_resource(resource: Resource) -> None:
    """Delete a resource no pathway uses (take it out of the pathways first)."""
    users = db.session.scalars(
        select(Pathway.title).join(PathwayStep).where(PathwayStep.resource_id == resource.id).distinct()
    ).all()
    if users:
        raise PathwayError(_("Used in: %(pathways)s. Remove those steps first.", pathways=', '.join(sorted(users))), "title")
    db.session.delete(resource)
    db.session.flush()


def delete_need(need: LearningNeed) -> None:
    """Delete a learning need; pathways that served it simply no longer list it."""
    need.pathways = []
    db.session.delete(need)
    db.session.flush()


def stages(pathway: Pathway) -> list[tuple[str, list[PathwayStep]]]:
    """Consecutive steps with the same stage name, in order: [(stage, steps), ...]."""
    groups: list[tuple[str, list[PathwayStep]]] = []
    for step in pathway.steps:
        if groups and groups[-1][0] == step.stage:
            groups[-1][1].append(step)
        else:
            groups.append((step.stage, [step]))
    return groups


def total_minutes(pathway: Pathway) -> int:
    return sum(minutes_of(step.resource) or 0 for step in pathway.steps)


def dead_ends(pathway: Pathway) -> list[tuple[PathwayStep, str]]:
    """Steps that lead nowhere: a link answering an error, a cancelled event or session."""
    found = []
    for step in pathway.steps:
        resource = step.resource
        if resource.is_external and resource.link_broken:
            what = f"answers {resource.link_status}" if resource.link_status else resource.link_error
            found.append((step, f"{resource.url} {what}"))
        elif not resource.is_external and step_state(resource) == "cancelled":
            found.append((step, f"{resource.display_title} was cancelled"))
    return found


# --- public questions -------------------------------------------------------------------------


def _published_pathways() -> list[Pathway]:
    return list(
        db.session.scalars(
            select(Pathway)
            .where(Pathway.status == "published")
            .options(
                selectinload(Pathway.needs), selectinload(Pathway.steps).selectinload(PathwayStep.resource)
            )
            .order_by(Pathway.title)
        )
    )


def pathway_for_page(slug: str) -> Pathway | None:
    """A pathway with what its page shows (needs, steps, their resources, events and
    sessions) loaded in a few queries, not several per step."""
    return db.session.scalar(
        select(Pathway)
        .where(Pathway.slug == slug)
        .options(
            selectinload(Pathway.needs),
            selectinload(Pathway.steps).selectinload(PathwayStep.resource).selectinload(Resource.session),
            selectinload(Pathway.steps)
            .selectinload(PathwayStep.resource)
            .selectinload(Resource.event)
            .selectinload(Event.sessions),
        )
    )


def needs_with_pathways() -> list[tuple[LearningNeed, list[Pathway]]]:
    """Each learning need with its published pathways (needs without one are left out)."""
    needs = db.session.scalars(
        select(LearningNeed)
        .order_by(LearningNeed.position, LearningNeed.title)
        # the list shows each pathway's steps (count, minutes): all in a few queries, not per need
        .options(selectinload(LearningNeed.pathways).selectinload(Pathway.steps).selectinload(PathwayStep.resource))
    ).all()
    out = []
    for need in needs:
        published = sorted((p for p in need.pathways if p.is_published), key=lambda p: p.title)
        if published:
            out.append((need, published))
    return out


def public_resources() -> list[Resource]:
    """Resources a visitor may see: every external one, and those of published or cancelled events."""
    resources = db.session.scalars(
        select(Resource).options(selectinload(Resource.event), selectinload(Resource.session))
    ).all()
    return sorted(
        (
            r
            for r in resources
            if r.is_external or (r.the_event is not None and r.the_event.status != "draft")
        ),
        key=lambda r: r.display_title.lower(),
    )


def topic_counts() -> list[tuple[str, int]]:
    """Every topic on a public resource, with how many resources carry it, A-Z."""
    counts: dict[str, tuple[str, int]] = {}
    for resource in public_resources():
        for topic in resource.topic_list:
            label, n = counts.get(topic.lower(), (topic, 0))
            counts[topic.lower()] = (label, n + 1)
    return sorted(counts.values(), key=lambda pair: pair[0].lower())


def _text_of(resource: Resource) -> str:
    parts = [resource.display_title, resource.description, resource.topics]
    event = resource.the_event
    if event is not None:
        parts += [event.title, event.summary, event.description]
    return " ".join(parts).lower()


def search(query: str = "", topic: str = "") -> tuple[list[Resource], list[Pathway]]:
    """Point-of-need lookup: public resources (and published pathways) matching every word
    of `query` in titles, descriptions and topics, and carrying `topic` when given."""
    words = [w for w in (query or "").lower().split() if w]
    topic_key = (topic or "").strip().lower()
    resources = [
        r
        for r in public_resources()
        if all(w in _text_of(r) for w in words)
        and (not topic_key or topic_key in {t.lower() for t in r.topic_list})
    ]
    pathways = []
    if words:
        for pathway in _published_pathways():
            text = " ".join([pathway.title, pathway.summary, pathway.audience, pathway.description]).lower()
            if all(w in text for w in words):
                pathways.append(pathway)
    return resources, pathways


def pathways_with(resource: Resource) -> list[Pathway]:
    """Published pathways that use a resource (so a point-of-need hit leads into a sequence)."""
    return list(
        db.session.scalars(
            select(Pathway)
            .join(PathwayStep)
            .where(PathwayStep.resource_id == resource.id, Pathway.status == "published")
            .distinct()
            .order_by(Pathway.title)
        )
    )


def find_resources(text: str) -> list[Resource]:
    """Officer's resource picker: external resources whose title or URL contains `text`."""
    like = f"%{text.strip()}%"
    stmt = select(Resource).where(Resource.kind.in_(EXTERNAL_KINDS))
    if text.strip():
        stmt = stmt.where(
            or_(Resource.title.ilike(like), Resource.url.ilike(like), Resource.topics.ilike(like))
        )
    return list(db.session.scalars(stmt.order_by(Resource.title)))


KIND_CHOICES = [(k, RESOURCE_KINDS[k]) for k in EXTERNAL_KINDS]
