"""Following a pathway by email: one step per interval, at the follower's weekday and hour.

The rules live here for every door (the public follow form, the signed links in step
mails, the preferences page, the scheduler):

* one Participant per address, the same double opt-in and "register once" as events
  (an address confirmed for any event or pathway follows at once);
* steps go out only from the scheduler (`send_due_steps`), each claimed through
  `run_once` with a key per follower and step, in the transaction that records it;
* the next step is due at the follower's chosen weekday and local hour in their zone:
  wall time is the truth, so 9 AM stays 9 AM across daylight-saving changes;
* after downtime a follower gets one step per run, never the backlog, and the next one
  a full interval after it was really sent;
* the done / skip / pause links need no login (signed tokens), act only on POST;
* a follower who left, paused, or whose pathway went back to draft gets nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from flask_babel import LazyString
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from forum.common.jobs import JobReport, register_job, run_once
from forum.core import clock, timezones
from forum.core.extensions import db
from forum.core.tokens import make_token, read_token
from forum.core.urls import external_url
from forum.mail import links
from forum.mail.addresses import unfollow_mailto
from forum.mail.compose import build_message
from forum.mail.headers import address, fold_list
from forum.mail.inbound import Inbound, Outcome, register_handler
from forum.mail.outbox import enqueue
from forum.models import Participant, Subscription
from forum.models.base import newest_first
from forum.models.pathways import INTERVALS, Pathway, PathwayFollow, PathwayStep, StepProgress
from forum.pathways.service import minutes_of, public_title, recording_url, step_state, upcoming_sessions
from forum.subscriptions.erasure import Erasure, register_erasure_step
from forum.subscriptions.service import SubscriptionError, get_or_create_participant, normalize_email

#: Followers served per run of the job: each is its own small transaction (about 60 ms on a
#: busy SQLite), so a Monday-9-AM crowd is spread over a few sweeps instead of holding the
#: scheduler's single SQLite worker (and with it the outbox) for many minutes.
MAX_PER_RUN = 500
ACTIONS = {"done": "Mark this step done", "skip": "Skip this step", "pause": "Pause this pathway"}
DEFAULT_HOUR = 9


class FollowError(ValueError):
    """Follow settings a person can fix; `field` names the form field."""

    def __init__(self, message: str, field: str = "email"):
        super().__init__(message)
        self.field = field


# --- pacing -------------------------------------------------------------------------------


_instant = timezones.hour_on


def next_slot(follow: PathwayFollow, earliest: datetime) -> datetime:
    """The first instant at or after `earliest` that is the follower's hour on their weekday
    (any day for a daily pace), worked out in their zone."""
    day = timezones.to_zone(earliest, follow.timezone).date()
    for offset in range(15):
        candidate = day + timedelta(days=offset)
        if follow.interval_days != 1 and candidate.weekday() != follow.weekday:
            continue
        instant = _instant(candidate, follow.hour, follow.timezone)
        if instant >= earliest:
            return instant
    raise AssertionError("a weekday always comes round within 15 days")


def due_after_send(follow: PathwayFollow, sent_at: datetime) -> datetime:
    """When the step after one sent at `sent_at` is due: a whole interval later (in local
    days), then the follower's next weekday and hour."""
    local_day = timezones.to_zone(sent_at, follow.timezone).date()
    start = local_day + timedelta(days=follow.interval_days)
    return next_slot(follow, _instant(start, 0, follow.timezone))


# --- following ---------------------------------------------------------------------------------


def check_settings(interval_days: int, weekday: int, hour: int, zone: str) -> None:
    if interval_days not in INTERVALS:
        raise FollowError(_("Choose how often a step should come."), "interval_days")
    if not 0 <= weekday <= 6:
        raise FollowError(_("Choose a day of the week."), "weekday")
    if not 0 <= hour <= 23:
        raise FollowError(_("Choose an hour between 0 and 23."), "hour")
    if not timezones.is_zone(zone):
        raise FollowError(_("“%(zone)s” is not a known time zone.", zone=zone), "timezone")


def follow(
    pathway: Pathway,
    raw_email: str,
    *,
    interval_days: int = 7,
    weekday: int = 0,
    hour: int = DEFAULT_HOUR,
    zone: str = "America/New_York",
    advance_on_done: bool = True,
) -> PathwayFollow:
    """Handle a follow request; the caller shows the same "check your inbox" whatever happens.

    Unconfirmed address -> pending + confirmation mail (once per hour). Confirmed address
    -> following at once (register once), first step at the next scheduler run. Already
    following -> settings unchanged (a stranger must not change someone's pace).
    """
    if pathway.status != "published":
        raise FollowError(_("This pathway is not open for following."), "email")
    try:
        email = normalize_email(raw_email)
    except SubscriptionError as exc:
        raise FollowError(str(exc), "email") from None
    check_settings(interval_days, weekday, hour, zone)
    participant = get_or_create_participant(email)
    existing = db.session.scalar(
        select(PathwayFollow).where(
            PathwayFollow.pathway_id == pathway.id, PathwayFollow.participant_id == participant.id
        )
    )
    if existing is not None and existing.status in ("active", "paused", "completed"):
        return existing
    item = existing or PathwayFollow(pathway=pathway, participant=participant)
    item.interval_days, item.weekday, item.hour, item.timezone = interval_days, weekday, hour, zone
    item.advance_on_done = advance_on_done
    if existing is None:
        db.session.add(item)
    if participant.confirmed_at is not None:
        start(item)
    else:
        item.status = "pending"
        db.session.flush()
        send_confirmation(item)
    return item


def start(item: PathwayFollow) -> None:
    """pending / left -> active; the next step (the first, for a new follower) is due now."""
    now = clock.now()
    item.status, item.left_at = "active", None
    item.confirmed_at = item.confirmed_at or now
    if item.participant.confirmed_at is None:
        item.participant.confirmed_at = now
    item.next_due_at = now
    db.session.flush()


def confirm(item: PathwayFollow) -> bool:
    """The double opt-in click; idempotent, and a follow ended meanwhile stays ended."""
    if item.status == "pending":
        start(item)
    return item.status in ("active", "paused", "completed")


def set_pace(
    item: PathwayFollow, *, interval_days: int, weekday: int, hour: int, zone: str, advance_on_done: bool
) -> None:
    """New pace from the preferences page; the next step moves to the new weekday and hour."""
    check_settings(interval_days, weekday, hour, zone)
    item.interval_days, item.weekday, item.hour, item.timezone = interval_days, weekday, hour, zone
    item.advance_on_done = advance_on_done
    if item.status == "active" and item.next_due_at is not None and item.next_due_at > clock.now():
        item.next_due_at = _next_regular(item)


def pause(item: PathwayFollow) -> None:
    if item.status == "active":
        item.status = "paused"


def resume(item: PathwayFollow) -> None:
    """Paused -> active: the next step at the follower's weekday and hour, a whole interval
    after the last one at the earliest (pausing for a minute does not hurry the next step)."""
    if item.status == "paused":
        item.status = "active"
        item.next_due_at = _next_regular(item)


def _next_regular(item: PathwayFollow) -> datetime:
    now = clock.now()
    if item.last_sent_at is not None:
        return max(due_after_send(item, item.last_sent_at), next_slot(item, now))
    return next_slot(item, now)


def leave(item: PathwayFollow) -> None:
    """Stop following; idempotent. No step is mailed after this commits."""
    if item.status != "left":
        item.status, item.left_at, item.next_due_at = "left", clock.now(), None


def _unfollow_by_mail(message: Inbound) -> Outcome:
    """Mail to the signed mailto List-Unsubscribe of step mail: the address is the authority
    (as for list mail's `leave`), so none of a post's checks apply; leaving twice is harmless."""
    item = db.session.get(PathwayFollow, message.target.unfollow_id)
    if item is None:
        return Outcome("unknown_list", "No such pathway follow")
    leave(item)
    return Outcome("unsubscribed", f"Stopped following {item.pathway.title}")


register_handler("unfollow", _unfollow_by_mail)


def _handed_out(item: PathwayFollow) -> list[StepProgress]:
    """Progress rows of the steps mailed to this follower, in the order they went out."""
    return [p for p in item.progress if p.sent_at is not None]


def next_step(item: PathwayFollow) -> PathwayStep | None:
    """The first step, in the pathway's current order, not yet mailed to this follower.

    Worked out from what was sent rather than from an index, so an officer may insert,
    reorder or remove steps while people follow: nobody gets a step twice or misses a new one.
    """
    sent = {p.step_id for p in _handed_out(item)}
    return next((s for s in item.pathway.steps if s.id not in sent), None)


def current_step(item: PathwayFollow) -> PathwayStep | None:
    """The step mailed most recently (None before the first)."""
    handed = _handed_out(item)
    return handed[-1].step if handed else None


def mark(item: PathwayFollow, step: PathwayStep, state: str) -> None:
    """Done or skipped. Finishing the step just mailed brings the next one now when the
    follower asked for that ("done moves me on"); finishing it when nothing is left completes."""
    if state not in ("done", "skipped"):
        raise ValueError(state)
    progress = _progress(item, step)
    progress.state, progress.finished_at = state, clock.now()
    if step.pathway_id != item.pathway_id or item.status not in ("active", "paused"):
        return
    if step is not current_step(item):
        return
    if next_step(item) is None:
        _complete(item)
    elif item.advance_on_done and item.status == "active":
        item.next_due_at = clock.now()


def _complete(item: PathwayFollow) -> None:
    item.status, item.completed_at, item.next_due_at = "completed", clock.now(), None


def _progress(item: PathwayFollow, step: PathwayStep) -> StepProgress:
    found = db.session.scalar(
        select(StepProgress).where(StepProgress.follow_id == item.id, StepProgress.step_id == step.id)
    )
    if found is None:
        found = StepProgress(follow=item, step=step, state="sent")
        db.session.add(found)
    return found


# --- the scheduled job ---------------------------------------------------------------------------


def due_follows(at: datetime, limit: int = MAX_PER_RUN) -> list[PathwayFollow]:
    """Active followers of published pathways whose next step is due, longest waiting first."""
    return list(
        db.session.scalars(
            select(PathwayFollow)
            .join(Pathway)
            .where(
                PathwayFollow.status == "active",
                PathwayFollow.next_due_at <= at,
                Pathway.status == "published",
            )
            .options(joinedload(PathwayFollow.participant))
            .order_by(PathwayFollow.next_due_at, PathwayFollow.id)
            .limit(limit)
        )
    )


def send_due_steps(at: datetime, limit: int = MAX_PER_RUN) -> list[str]:
    """Mail every follower whose next step is due by `at`: one step each, exactly once.

    Called by the scheduler's "pathways" job; `run_once` claims (follower, step) in the
    same transaction as the mail and the follower's progress, so a rerun, a racing
    scheduler or a catch-up sends no step twice, and each run sends at most one per follower.
    """
    lines = []
    for item_id in [f.id for f in due_follows(at, limit)]:
        item = db.session.get(PathwayFollow, item_id)
        if item is None or item.status != "active":
            continue
        if not item.participant.email:  # erased: nobody to write to
            leave(item)
            db.session.commit()
            continue
        step = next_step(item)
        if step is None:  # everything mailed, and an interval has passed since the last step
            _complete(item)
            db.session.commit()
            continue
        run = run_once(
            "pathway-step",
            f"follow:{item.id}",
            f"step:{step.id}",
            item.next_due_at,
            partial(send_step, item, step, at),
        )
        if run is not None:
            lines.append(f"pathway {item.pathway.slug} follower {item.id}: {run.note}")
    return lines


def send_step(item: PathwayFollow, step: PathwayStep, at: datetime) -> tuple[int, str]:
    """Record the step as sent, move the follower's clock on, and enqueue the mail (all in
    run_once's transaction); the mail says when the next step comes."""
    progress = _progress(item, step)
    progress.state, progress.sent_at = "sent", at
    number = len(_handed_out(item))
    item.position, item.last_sent_at = number, at
    item.next_due_at = due_after_send(item, at)
    enqueue(
        step_message(item, step, number),
        kind="pathway-step",
        key=f"pathway-step:{item.id}:{step.id}",
        event_id=step.resource.the_event.id if step.resource.the_event is not None else None,
    )
    return 1, f"step {number} of {len(item.pathway.steps)}"


# --- mail -----------------------------------------------------------------------------------------


def confirm_url(item: PathwayFollow) -> str:
    return links.signed_link("pathways.confirm", "pathway-confirm", item.id)


def action_url(item: PathwayFollow, step: PathwayStep, action: str) -> str:
    return external_url(
        "pathways.step_action", token=make_token("pathway-step", [item.id, step.id]), action=action
    )


def leave_url(item: PathwayFollow) -> str:
    return links.signed_link("pathways.leave", "pathway-leave", item.id)


def read_follow_token(purpose: str, token: str) -> PathwayFollow | None:
    """The follow a confirm or leave link names; raises tokens.TokenError when bad or old."""
    lifetime = "confirm" if purpose == "pathway-confirm" else None
    return links.linked_row(PathwayFollow, purpose, token, lifetime)


def read_step_token(token: str) -> tuple[PathwayFollow, PathwayStep] | None:
    payload = read_token("pathway-step", token, links.token_max_age("pathway-step"))
    if not (isinstance(payload, list) and len(payload) == 2):
        return None
    item, step = db.session.get(PathwayFollow, payload[0]), db.session.get(PathwayStep, payload[1])
    if item is None or step is None or step.pathway_id != item.pathway_id:
        return None
    return item, step


def send_confirmation(item: PathwayFollow) -> None:
    participant = item.participant
    msg = build_message(
        to=address(participant.email, participant.name),
        language=participant.language,
        subject=LazyString(lambda: _("Confirm: follow the pathway “%(pathway)s”", pathway=item.pathway.title)),
        template="pathway_confirm",
        context={
            "participant": participant,
            "follow": item,
            "pathway": item.pathway,
            "confirm_url": confirm_url(item),
            "valid_hours": links.token_max_age("confirm") // 3600,
        },
        headers={"Auto-Submitted": "auto-generated"},
    )
    enqueue(msg, kind="pathway-confirm", key=f"pathway-confirm:{item.id}:{clock.now():%Y%m%d%H}")


@dataclass
class SessionLine:
    title: str
    when: str


def session_lines(step: PathwayStep, zone: str, at: datetime) -> list[SessionLine]:
    """Upcoming sessions of a step's event, in the follower's zone."""
    label = timezones.zone_label(zone)
    out = []
    for session in upcoming_sessions(step.resource, at):
        local = timezones.to_zone(session.starts_at, zone)
        span = timezones.format_range(session.starts_at, session.ends_at, zone, f"{label}, {local.tzname()}")
        out.append(SessionLine(session.display_title, f"{timezones.format_date(local)}, {span}"))
    return out


def step_message(item: PathwayFollow, step: PathwayStep, number: int):  # type: ignore[no-untyped-def]
    participant, pathway, resource = item.participant, item.pathway, step.resource
    at = clock.now()
    state = step_state(resource, at)
    event = resource.the_event
    registered = event is not None and bool(
        db.session.scalar(
            select(Subscription.id).where(
                Subscription.participant_id == participant.id,
                Subscription.event_id == event.id,
                Subscription.is_active,
            )
        )
    )
    context = {
        "participant": participant,
        "title": public_title(resource),
        "registered": registered,
        "follow": item,
        "pathway": pathway,
        "step": step,
        "resource": resource,
        "number": number,
        "count": len(pathway.steps),
        "minutes": minutes_of(resource),
        "state": state,
        "sessions": session_lines(step, item.timezone, at) if state == "upcoming" else [],
        "event_url": external_url("public.event", slug=event.slug) if event is not None else "",
        "register_url": external_url("subscriptions.subscribe", slug=event.slug) if event is not None else "",
        "recording_url": recording_url(resource) if state == "past" else None,
        "pathway_url": external_url("pathways.pathway", slug=pathway.slug),
        "done_url": action_url(item, step, "done"),
        "skip_url": action_url(item, step, "skip"),
        "pause_url": action_url(item, step, "pause"),
        "leave_url": leave_url(item),
        "preferences_url": links.preferences_url(participant),
        "next_due": _local_text(item.next_due_at, item.timezone) if next_step(item) is not None else "",
    }
    return build_message(
        to=address(participant.email, participant.name),
        language=participant.language,
        subject=f"{pathway.title}, step {number} of {len(pathway.steps)}: {public_title(resource)}",
        template="pathway_step",
        context=context,
        headers={
            "Auto-Submitted": "auto-generated",
            # RFC 8058 one-click, as on every list mail: the https link first, then mailto.
            "List-Unsubscribe": fold_list([f"<{leave_url(item)}>", f"<{unfollow_mailto(item.id)}>"]),
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )


# --- the preferences page ------------------------------------------------------------------------


def follows_of(participant: Participant) -> list[PathwayFollow]:
    """Everything a person follows or followed, newest first, for their preferences page."""
    return newest_first(PathwayFollow, PathwayFollow.participant_id == participant.id)


def _local_text(instant: datetime | None, zone: str) -> str:
    """`Monday, 3/9/2026 9:00 AM EDT` in a zone."""
    if instant is None:
        return ""
    local = timezones.to_zone(instant, zone)
    return f"{timezones.format_date(local)} {timezones.format_time(local)} {local.tzname()}"


def next_due_text(item: PathwayFollow) -> str:
    """When the next step comes, in the follower's zone ("" when none is coming)."""
    if item.status != "active" or item.next_due_at is None:
        return ""
    if next_step(item) is None:
        return ""
    return _local_text(max(item.next_due_at, clock.now()), item.timezone)


def pathways_job(at: datetime, report: JobReport, event: object = None) -> None:
    """The `pathways` job: each follower who is due one gets their next step."""
    for line in send_due_steps(at):
        report.add(line, 1)


register_job("pathways", "the next step of each learning pathway follower who is due one", pathways_job)


@register_erasure_step
def _stop_following(erasure: Erasure) -> None:
    """"Delete my data": the pathways they followed stop."""
    db.session.execute(
        update(PathwayFollow)
        .where(PathwayFollow.participant_id == erasure.participant_id, PathwayFollow.status != "left")
        .values(status="left", left_at=clock.now(), next_due_at=None),
        execution_options={"synchronize_session": False},
    )
