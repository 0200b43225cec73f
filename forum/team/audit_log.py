"""Reading the audit log: an event's entries, filtered, newest first (pages and API share it)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, cast

from flask import current_app
from sqlalchemy import Delete, Select, delete, func, select

from forum.common.jobs import JobReport, register_job
from forum.core import timezones
from forum.core.extensions import db
from forum.models import AuditEntry, WebhookDelivery

if TYPE_CHECKING:
    from sqlalchemy import CursorResult

LIMIT = 500
#: Kept this long unless AUDIT_KEEP_DAYS says otherwise; delivered webhooks' log for 30 days.
AUDIT_KEEP_DAYS = 730
WEBHOOK_LOG_DAYS = 30


def _filtered(
    query: Select[Any],
    event_id: int | None,
    *,
    action: str = "",
    actor: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
    everywhere: bool = False,
) -> Select[Any]:
    if not everywhere:  # one event's log, or (None) the site's own: sign-ins, site settings
        query = query.where(AuditEntry.event_id == event_id)
    if action:
        query = query.where(
            (AuditEntry.action == action)
            | (AuditEntry.action.startswith(action.rstrip(".") + ".", autoescape=True))
        )
    if actor:
        query = query.where(func.lower(AuditEntry.actor).contains(actor.strip().lower(), autoescape=True))
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if until is not None:
        query = query.where(AuditEntry.at < until)
    return query


def entries(
    event_id: int | None,
    *,
    action: str = "",
    actor: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = LIMIT,
    everywhere: bool = False,
) -> list[AuditEntry]:
    """Newest first. `action` matches a whole action ("session.moved") or its kind ("session");
    `actor` is part of the actor's label (an email address)."""
    query = _filtered(
        select(AuditEntry),
        event_id,
        action=action,
        actor=actor,
        since=since,
        until=until,
        everywhere=everywhere,
    )
    return list(db.session.scalars(query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)))


def day_start(day: date, zone: str) -> datetime:
    """The instant a local day begins (the filters' "from" and "to" are local dates)."""
    return datetime.combine(day, time(), tzinfo=timezones.get_zone(zone)).astimezone(UTC)


#: The chart shows at most this many days (the newest ones of the filtered span).
CHART_DAYS = 31
DEFAULT_DAYS = 14


def daily_counts(
    event_id: int | None,
    *,
    first: date,
    last: date,
    zone: str,
    action: str = "",
    actor: str = "",
    everywhere: bool = False,
) -> list[tuple[date, int]]:
    """Entries per local day from `first` to `last` (inclusive, at most CHART_DAYS), with the
    table's filters: the activity chart. Counted in Python over the span's timestamps, which
    one query brings, so SQLite and PostgreSQL agree on where a day ends (the zone's midnight)."""
    first = max(first, last - timedelta(days=CHART_DAYS - 1))
    start, end = day_start(first, zone), day_start(last + timedelta(days=1), zone)
    query = _filtered(
        select(AuditEntry.at),
        event_id,
        action=action,
        actor=actor,
        since=start,
        until=end,
        everywhere=everywhere,
    )
    counts: dict[date, int] = {}
    for at in db.session.scalars(query):
        day = timezones.to_zone(at, zone).date()
        counts[day] = counts.get(day, 0) + 1
    days = (last - first).days + 1
    return [(first + timedelta(days=n), counts.get(first + timedelta(days=n), 0)) for n in range(days)]


def actions_in(event_id: int | None, *, everywhere: bool = False) -> list[str]:
    """The actions this event's log (or the whole log) holds: the filter's choices."""
    query = select(AuditEntry.action).distinct().order_by(AuditEntry.action)
    if not everywhere:
        query = query.where(AuditEntry.event_id == event_id)
    return list(db.session.scalars(query))


def prune(at: datetime, report: JobReport, event: object = None) -> None:
    """The `team-retention` job: audit entries past AUDIT_KEEP_DAYS, finished webhook
    deliveries past WEBHOOK_LOG_DAYS. The log names no participant (summaries carry ids, not
    addresses), so erasing a participant leaves it as it is."""
    days = int(current_app.config.get("AUDIT_KEEP_DAYS") or AUDIT_KEEP_DAYS)
    gone = _deleted(delete(AuditEntry).where(AuditEntry.at < at - timedelta(days=days)))
    old = at - timedelta(days=WEBHOOK_LOG_DAYS)
    sent = _deleted(
        delete(WebhookDelivery).where(WebhookDelivery.status != "pending", WebhookDelivery.created_at < old)
    )
    db.session.commit()
    report.add(f"removed {gone} audit entries older than {days} days and {sent} old webhook deliveries")


def _deleted(statement: Delete) -> int:
    """Rows a DELETE removed (a DML statement's result is a CursorResult)."""
    return cast("CursorResult[Any]", db.session.execute(statement)).rowcount


register_job("team-retention", "remove audit entries and webhook deliveries past their keeping time", prune)
