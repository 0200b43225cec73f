"""The e-forum's scheduler jobs: daily digests, the opening and closing notices, and the
batched notices of held posts to moderators.

*What* a digest holds is `digests.py`'s business; this module says *when* each is due
for every forum that ran within the catch-up window, and claims each with `run_once`.
Registered with `forum.common.jobs` at import (the scheduler imports this module).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from functools import partial

from sqlalchemy import select

from forum.common.audience import active_subscriptions
from forum.common.jobs import CATCH_UP, JobReport, register_job, run_once
from forum.core import timezones
from forum.core.extensions import db
from forum.core.urls import external_url
from forum.discussion import digest_schedules, digests, notices
from forum.mail import texts as mail_texts
from forum.mail.compose import ListOptions
from forum.mail.list_copies import ListCopy, list_messages
from forum.mail.outbox import enqueue_copies
from forum.models import Event, Session, Subscription


def open_forums(at: datetime) -> list[Event]:
    """Published e-forums that ran within the catch-up window (or are running now)."""
    stmt = (
        select(Event)
        .where(
            Event.kind == "eforum",
            Event.status == "published",
            Event.id.in_(
                select(Session.event_id).where(
                    Session.status != "cancelled", Session.ends_at > at - CATCH_UP, Session.starts_at <= at
                )
            ),
        )
        .order_by(Event.id)
    )
    return list(db.session.scalars(stmt))


def digests_job(at: datetime, report: JobReport, event: Event | None = None) -> None:
    """The `digests` job: every digest due by `at`, each once."""
    for ev in [event] if event else open_forums(at):
        _digests(ev, at, report)


def _digests(event: Event, at: datetime, report: JobReport) -> None:
    """Each schedule's digests due by `at`, each claimed once (`run_once`): the forum's own
    (key `event:<id>`, period the local date) and those its readers chose."""
    if not event.is_eforum or event.status != "published":
        return
    for schedule in digest_schedules.schedules_in_use(event):
        target = schedule.target(event)
        for period in digests.due_periods(event, at, CATCH_UP, schedule):
            run = run_once(
                "digest", target, period.label, period.due_at, partial(digests.send_digest, event, period, schedule)
            )
            if run is not None:
                name = f"{event.slug}{' ' + schedule.code if schedule.code else ''} {period.label}"
                report.add(f"digest {name}: {run.recipients} messages ({run.note})", run.recipients)


def notices_job(at: datetime, report: JobReport, event: Event | None = None) -> None:
    """The `notices` job: the forum is open / has closed, once each."""
    for ev in [event] if event else open_forums(at):
        _notices(ev, at, report)


def _notices(event: Event, at: datetime, report: JobReport) -> None:
    """The forum is open / has closed: one notice each to its subscribers."""
    start, end = event.starts_at, event.ends_at
    if start is None or end is None or event.status != "published":
        return
    target = f"event:{event.id}"
    if start <= at < end:
        run = run_once("forum-open", target, "open", start, lambda: _send_notice(event, "forum_open"))
        if run is not None:
            report.add(f"forum-open {event.slug}: {run.recipients} messages", run.recipients)
    elif end <= at < end + CATCH_UP:
        run = run_once("forum-closed", target, "closed", end, lambda: _send_notice(event, "forum_closed"))
        if run is not None:
            report.add(f"forum-closed {event.slug}: {run.recipients} messages", run.recipients)


def _send_notice(event: Event, template: str) -> tuple[int, str]:
    kind = template.replace("_", "-")
    copies = notice_copies(event, template, active_subscriptions(event, include_no_mail=False))
    return enqueue_copies(copies, kind=kind, key=f"{kind}:{event.id}", event_id=event.id), ""


def notice_copies(event: Event, template: str, subscriptions: Iterable[Subscription]) -> Iterator[ListCopy]:
    """The opening or closing notice for these subscribers (the job: every active one who
    gets mail; the officer's mail-text preview: one sample)."""
    opening = template == "forum_open"
    zone = event.timezone
    end = event.ends_at
    subject = (
        f"[{event.title}] The e-forum is open: reply to this message to post"
        if opening
        else f"[{event.title}] The e-forum has closed: thank you"
    )

    def viewer_zone(subscription: Subscription) -> str:
        return timezones.reader_zone(subscription.participant.timezone, fallback=zone)

    by_name = mail_texts.uses_name(event, template)
    return list_messages(
        event,
        subscriptions,
        ListOptions(
            subject=subject,
            template=template,
            context={
                "archive_url": external_url("discussion.archive", slug=event.slug),
                "event_url": external_url("public.event", slug=event.slug),
            },
            group_key=lambda s: (viewer_zone(s), s.mode, s.participant.name if by_name else ""),  # the text shows these
            group_context=lambda s: {
                "closes": timezones.stated_instant(end, zone, s.participant.timezone) if end else ""
            },
            shared={"participant.timezone", "subscription.mode", *(["participant.name"] if by_name else [])},
            automated=True,
            posting_open=opening,
        ),
    )


mail_texts.register_sample(
    "forum_open",
    lambda event, subscription, session: next(iter(notice_copies(event, "forum_open", [subscription]))).data,
)


def hold_notices_job(at: datetime, report: JobReport, event: Event | None = None) -> None:
    """The `hold-notices` job: moderators hear of held posts in batches (`notices`), each once."""
    for ev, posts in notices.held_since_last_notice(at, event):
        run = run_once(notices.HOLD_JOB, str(ev.id), str(posts[-1].id), at, partial(notices.hold_notices, ev, posts))
        if run is not None:
            report.add(f"hold notices for {ev.slug}: {len(posts)} post(s), {run.recipients} notice(s)", run.recipients)


register_job("digests", "e-forum digests (daily or weekly, at each reader's hour), and the final one at close", digests_job)
register_job(
    "hold-notices", "one notice per moderator per interval listing the posts held since the last", hold_notices_job
)
register_job("notices", "e-forum opening and closing notices", notices_job)
