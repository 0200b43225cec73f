"""Reading the audit log: an event's entries, filtered, newest first (pages and API share it)."""

from __future__ import annotations

from dataclasses import dataclass, replace
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


@dataclass(frozen=True)
class AuditFilter:
    """Which entries a reader asked for; the table, the chart and the API read through one.

    `event_id`: one event's log, or (None) the site's own (sign-ins, site settings);
    `everywhere`: the whole log instead. `action` matches a whole action ("session.moved") or
    its kind ("session"); `actor` is part of the actor's label (an email address); `since` and
    `until` bound the instants (until excluded)."""

    event_id: int | None
    action: str = ""
    actor: str = ""
    since: datetime | None = None
    until: datetime | None = None
    everywhere: bool = False

    def applied(self, query: Select[Any]) -> Select[Any]:
        if not self.everywhere:
            query = query.where(AuditEntry.event_id == self.event_id)
        if self.action:
            query = query.where(
                (AuditEntry.action == self.action)
                | (AuditEntry.action.startswith(self.action.rstrip(".") + ".", autoescape=True))
            )
        if self.actor:
            query = query.where(
                func.lower(AuditEntry.actor).contains(self.actor.strip().lower(), autoescape=True)
            )
        if self.since is not None:
            query = query.where(AuditEntry.at >= self.since)
        if self.until is not None:
            query = query.where(AuditEntry.at < self.until)
        return query


def entries(wanted: AuditFilter, *, limit: int = LIMIT) -> list[AuditEntry]:
    """The entries `wanted` names, newest first."""
    query = wanted.applied(select(AuditEntry)).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    return list(db.session.scalars(query.limit(limit)))


def day_start(day: date, zone: str) -> datetime:
    """The instant a local day begins (the filters' "from" and "to" are local dates)."""
    return datetime.combine(day, time(), tzinfo=timezones.get_zone(zone)).astimezone(UTC)


#: The chart shows at most this many days (the newest ones of the filtered span).
CHART_DAYS = 31
DEFAULT_DAYS = 14


def daily_counts(wanted: AuditFilter, *, first: date, last: date, zone: str) -> list[tuple[date, int]]:
    """Entries per local day from `first` to `last` (inclusive, at most CHART_DAYS), with the
    table's filters: the activity chart. Counted in Python over the span's timestamps, which
    one query brings, so SQLite and PostgreSQL agree on where a day ends (the zone's midnight)."""
    first = max(first, last - timedelta(days=CHART_DAYS - 1))
    span = replace(wanted, since=day_start(first, zone), until=day_start(last + timedelta(days=1), zone))
    query = span.applied(select(AuditEntry.at))
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
