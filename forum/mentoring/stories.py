"""Stories for the programme's newsletter: the officer invites a pair, each member answers
through their own signed link (no login), and the officer reads what came in.

A story is stored per pair member (`MentoringStory`, one per match and person; sending again
replaces it) with the writer's consent to publish it, so the officer never prints what was
written only for them.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from forum.core import clock, i18n
from forum.core.extensions import db
from forum.core.tokens import make_stable_token, read_stable_token
from forum.core.urls import external_url
from forum.mentoring.pairs import send_mail
from forum.mentoring.programmes import MentoringError
from forum.models import MentoringApplication, MentoringCycle, MentoringMatch, MentoringStory
from forum.models.base import newest_first
from forum.subscriptions.erasure import Erasure, register_erasure_step

MAX_TEXT = 10000


def story_url(match: MentoringMatch, side: MentoringApplication) -> str:
    return external_url("mentoring.story", token=make_stable_token("mentoring-story", [match.id, side.id]))


def read_story_token(token: str) -> tuple[MentoringMatch, MentoringApplication] | None:
    """(match, person) a story link names; raises tokens.TokenError for a cut or changed one."""
    value = read_stable_token("mentoring-story", token)
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) for v in value)):
        return None
    match, side = db.session.get(MentoringMatch, value[0]), db.session.get(MentoringApplication, value[1])
    if match is None or side is None or side.id not in (match.mentor_id, match.mentee_id):
        return None
    return match, side


def invite_story(match: MentoringMatch, note: str = "") -> int:
    """Ask a pair to share their story for the newsletter: each gets a link to write it."""
    if match.status not in ("active", "completed"):
        raise MentoringError(_("Only a pair in the programme can be invited."), field="match")
    sent = 0
    for me, other in ((match.mentor, match.mentee), (match.mentee, match.mentor)):
        if not me.participant.email:
            continue
        with i18n.in_locale(me.participant.language):
            send_mail(
                me,
                _("Would you share your story? %(title)s", title=match.cycle.programme.title),
                "mentoring_story",
                f"mentoring-story:{match.id}:{me.id}:{clock.now():%Y%m%d}",
                other=other,
                note=note.strip()[:2000],
                story_url=story_url(match, me),
            )
        sent += 1
    db.session.flush()
    return sent


def story_of(match: MentoringMatch, side: MentoringApplication) -> MentoringStory | None:
    return db.session.scalar(
        select(MentoringStory).where(
            MentoringStory.match_id == match.id, MentoringStory.application_id == side.id
        )
    )


def submit_story(
    match: MentoringMatch, side: MentoringApplication, text: str, may_publish: bool
) -> MentoringStory:
    """Store (or replace) one person's story; the caller commits."""
    text = (text or "").strip()
    if not text:
        raise MentoringError(_("Write your story first."), field="text")
    if len(text) > MAX_TEXT:
        raise MentoringError(_("Keep this under %(limit)d characters.", limit=MAX_TEXT), field="text")
    if side.status == "withdrawn":
        raise MentoringError(_("This application was withdrawn."), field="text")
    item = story_of(match, side)
    if item is None:
        item = MentoringStory(match_id=match.id, application_id=side.id)
        db.session.add(item)
    item.text, item.may_publish, item.submitted_at = text, may_publish, clock.now()
    db.session.flush()
    return item


def stories_of(cycle: MentoringCycle) -> list[MentoringStory]:
    """What the cycle's pairs sent, newest first, for the officer."""
    pairs = select(MentoringMatch.id).where(MentoringMatch.cycle_id == cycle.id)
    return newest_first(MentoringStory, MentoringStory.match_id.in_(pairs), by=MentoringStory.submitted_at)


@register_erasure_step
def _forget_stories(erasure: Erasure) -> None:
    """ "Delete my data": the person's stories go."""
    for item in db.session.scalars(
        select(MentoringStory)
        .join(MentoringApplication, MentoringStory.application_id == MentoringApplication.id)
        .where(MentoringApplication.participant_id == erasure.participant_id)
    ):
        db.session.delete(item)
