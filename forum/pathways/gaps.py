"""The officer's gaps report on learning pathways: what serves each learning need, needs
nothing serves, steps that lead nowhere, and how followers fare (where people stop).

Read-only questions over forum.pathways' data, for the officer page (and anything else
that wants the same numbers).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from forum.core.extensions import db
from forum.models.pathways import LearningNeed, Pathway, PathwayFollow, PathwayStep, Resource, StepProgress
from forum.pathways.service import dead_ends


@dataclass
class NeedCoverage:
    need: LearningNeed
    pathways: list[Pathway]
    resources: list[Resource]

    @property
    def published(self) -> list[Pathway]:
        return [p for p in self.pathways if p.is_published]


@dataclass
class FollowerFunnel:
    """How followers of one pathway fare: counts, and how many stopped after each step."""

    pathway: Pathway
    started: int = 0
    active: int = 0
    paused: int = 0
    completed: int = 0
    left: int = 0
    stopped_after: list[int] = field(default_factory=list)  # index i: stopped after step i+1


@dataclass
class GapReport:
    needs: list[NeedCoverage]
    uncovered: list[LearningNeed]
    dead_ends: list[tuple[Pathway, PathwayStep, str]]
    funnels: list[FollowerFunnel]
    unused_resources: list[Resource]


def gap_report() -> GapReport:
    """Per need: what serves it; needs no published pathway serves; dead-end steps; followers."""
    pathways = list(
        db.session.scalars(
            select(Pathway)
            .options(
                selectinload(Pathway.steps).selectinload(PathwayStep.resource), selectinload(Pathway.needs)
            )
            .order_by(Pathway.title)
        )
    )
    coverage = []
    for need in db.session.scalars(select(LearningNeed).order_by(LearningNeed.position, LearningNeed.title)):
        serving = [p for p in pathways if need in p.needs]
        resources: dict[int, Resource] = {}
        for pathway in serving:
            for step in pathway.steps:
                resources.setdefault(step.resource_id, step.resource)
        coverage.append(
            NeedCoverage(need, serving, sorted(resources.values(), key=lambda r: r.display_title))
        )
    used = {step.resource_id for p in pathways for step in p.steps}
    unused = [r for r in db.session.scalars(select(Resource).order_by(Resource.title)) if r.id not in used]
    return GapReport(
        needs=coverage,
        uncovered=[c.need for c in coverage if not c.published],
        dead_ends=[(p, step, why) for p in pathways for step, why in dead_ends(p)],
        funnels=[follower_funnel(p) for p in pathways if p.is_published or _has_followers(p)],
        unused_resources=unused,
    )


def _has_followers(pathway: Pathway) -> bool:
    return bool(
        db.session.scalar(select(func.count(PathwayFollow.id)).where(PathwayFollow.pathway_id == pathway.id))
    )


def follower_funnel(pathway: Pathway) -> FollowerFunnel:
    """Started = confirmed followers; where people stop = last step mailed to those who
    paused or left before the end."""
    funnel = FollowerFunnel(pathway, stopped_after=[0] * len(pathway.steps))
    follows = db.session.scalars(
        select(PathwayFollow).where(
            PathwayFollow.pathway_id == pathway.id, PathwayFollow.confirmed_at.is_not(None)
        )
    ).all()
    for follow in follows:
        funnel.started += 1
        if follow.status == "completed":
            funnel.completed += 1
            continue
        if follow.status == "active":
            funnel.active += 1
            continue
        if follow.status == "paused":
            funnel.paused += 1
        elif follow.status == "left":
            funnel.left += 1
        if 0 < follow.position <= len(funnel.stopped_after):
            funnel.stopped_after[follow.position - 1] += 1
    return funnel


def step_outcomes(pathway: Pathway) -> dict[int, dict[str, int]]:
    """Per step id: how many followers were mailed it, marked it done, skipped it."""
    out: dict[int, dict[str, int]] = {s.id: {"sent": 0, "done": 0, "skipped": 0} for s in pathway.steps}
    rows = db.session.execute(
        select(StepProgress.step_id, StepProgress.state, func.count())
        .join(PathwayStep)
        .where(PathwayStep.pathway_id == pathway.id)
        .group_by(StepProgress.step_id, StepProgress.state)
    )
    for step_id, state, n in rows:
        if step_id in out:
            out[step_id][state] = n
    return out
