"""The public pages' version counter: bumped in the same transaction as any change a public
page can show, read once per request by the page cache (`forum/web/page_cache.py`).

One place decides, for every door (forms, JSON API, CLI, scheduler, LMTP): SQLAlchemy's
`before_flush` sees every ORM change and `do_orm_execute` every bulk INSERT/UPDATE/DELETE
written past the ORM (a CSV import's batch). The test is by table, and it is a deny-list:
a table nobody shows on a public page (the outbox, the audit log, job runs ...) is listed
as quiet; everything else bumps, so a table added later is safe by default (a needless
bump costs one re-render, a missing one a stale page). One bump per transaction, as it
commits (`before_commit`), in it.

Subscriptions change all the time (bounce counts, delivery modes) but pages show only
how many seats are taken: a subscription bumps when it is added, removed or changes status.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import Table, inspect, select, update
from sqlalchemy import event as sa_event
from sqlalchemy.orm import ORMExecuteState, SessionTransaction, scoped_session
from sqlalchemy.orm import Session as OrmSession

from forum.core import clock
from forum.models import PageVersion, Subscription

KEY = "public"
#: tables no public page (event, index, panelist, pathways, public calendar feeds) shows
QUIET_TABLES = frozenset(
    {
        "page_version",
        "outbound_body",
        "outbound_message",
        "fan_out",
        "job_run",
        "scheduler_lock",
        "audit_entry",
        "webhook_endpoint",
        "webhook_delivery",
        "officer",
        "api_token",
        "event_role",
        "participant",
        "attendance",
        "certificate",
        "evaluation_response",
        "evaluation_answer",
        "form_answer",
        "pathway_follow",
        "pathway_progress",
        "relay_capability",
        "rsvp",
        # mentoring: its public page is not served from the page cache
        "mentoring_programme",
        "mentoring_cycle",
        "mentoring_application",
        "mentoring_member",
        "mentoring_decline",
        "mentoring_match",
        "mentoring_checkin",
        "mentoring_watch",
        "mentoring_story",
    }
)
_CHANGED = "forum_page_version_changed"


_table = PageVersion.__table__
assert isinstance(_table, Table)
#: Built once and run as a Core statement: every cached page and every 304 reads it, and the
#: ORM's per-statement work (building, the cache key, the ORM context) was a third of a 304.
_CURRENT = select(_table.c.value, _table.c.changed_at).where(_table.c.key == KEY)


def current(session: OrmSession | scoped_session[Any]) -> tuple[int, datetime] | None:
    """The version now and when it changed (None where the row is missing: then nothing
    may be cached)."""
    row = session.connection().execute(_CURRENT).first()
    return (row[0], row[1]) if row is not None else None


def bump(session: OrmSession) -> None:
    """value + 1 in the caller's transaction (the row lock serialises concurrent changes)."""
    table = PageVersion.__table__
    assert isinstance(table, Table)
    done = session.execute(
        update(table).where(table.c.key == KEY).values(value=table.c.value + 1, changed_at=clock.now())
    )
    if not getattr(done, "rowcount", 0):
        # A database made by create_all (tests): start at a random point, so two databases
        # sharing one Redis never hand each other pages (the migration seeds a row too).
        session.execute(table.insert().values(key=KEY, value=secrets.randbits(40), changed_at=clock.now()))


def _shows(obj: object) -> bool:
    table = getattr(type(obj), "__tablename__", None)
    return table is not None and table not in QUIET_TABLES


def _changed(session: OrmSession) -> bool:
    for obj in session.new | session.deleted:
        if _shows(obj):
            return True
    for obj in session.dirty:
        if isinstance(obj, Subscription):
            if inspect(obj).attrs.status.history.has_changes():
                return True
        elif _shows(obj) and session.is_modified(obj):
            return True
    return False


@sa_event.listens_for(OrmSession, "before_flush")
def _note_flush(session: OrmSession, _context: Any, _instances: Any) -> None:
    if not session.info.get(_CHANGED) and _changed(session):
        session.info[_CHANGED] = True


@sa_event.listens_for(OrmSession, "do_orm_execute")
def _note_bulk(state: ORMExecuteState) -> None:
    if not (state.is_insert or state.is_update or state.is_delete) or state.session.info.get(_CHANGED):
        return
    table = getattr(state.statement, "table", None)
    if table is not None and getattr(table, "name", None) not in QUIET_TABLES:
        state.session.info[_CHANGED] = True


@sa_event.listens_for(OrmSession, "before_commit")
def _bump_as_it_commits(session: OrmSession) -> None:
    """The bump is the transaction's last statement, so the counter row is locked only for
    the moment of the commit and always after every lock the change itself took (an event's
    seat lock, say): no transaction waits on it while holding rows it read, none deadlocks."""
    if session.in_nested_transaction():
        return  # a savepoint: the bump waits for the whole transaction
    session.flush()  # the commit's own changes, so they are noted now
    if session.info.pop(_CHANGED, None):
        bump(session)


@sa_event.listens_for(OrmSession, "after_transaction_end")
def _forget(session: OrmSession, transaction: SessionTransaction) -> None:
    """At the end of the whole transaction (a rolled-back change needs no bump)."""
    if transaction.parent is None:
        session.info.pop(_CHANGED, None)
