"""Fan-outs: a change that mails a whole list commits one record; the scheduler writes the copies.

Writing 10,000 personalised copies takes seconds, too long for a web request (gunicorn
kills it at 30 s and rolls the change back) and for an LMTP transaction (the relay
times out and delivers the post again). So the change commits with one `FanOut` row
(`record`), and the scheduler's outbox job, every few seconds, writes the copies
(`expand_pending`) on a thread beside its sending, which claims each step as it commits.

Exactly once, even across a crash between the two steps: the copies are inserted with
their usual per-recipient keys (`<fan-out key>:<subscription id>`, ``ON CONFLICT DO
NOTHING``) and `done_at` is set in the same transaction as the last of them. A process
killed half-way leaves `done_at` empty; the next run writes only the copies that are
missing. On PostgreSQL the row is locked (``FOR UPDATE SKIP LOCKED``) while it is
expanded, so two schedulers or senders never work on the same fan-out at once.

What a copy says is read when it is written, a few seconds after the change: a later
change to the same session supersedes an update not yet written (the calendar SEQUENCE
recorded in `params` no longer matches), so subscribers get the newest state once.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update

from forum.common.signals import sending_due
from forum.core import clock
from forum.core.extensions import db
from forum.models import FanOut, table_of
from forum.models.base import add_once

log = logging.getLogger(__name__)

#: After this many failed expansions a fan-out is left alone (its note says why).
MAX_ATTEMPTS = 5
#: Copies of a post written per step (each step its own transaction and stored body). Small,
#: because the sender sends what a step wrote while the next is written (`mail.lanes.Writer`):
#: the first copies go out after one step.
POST_CHUNK = 1000
#: Copies of a calendar update or cancellation per step (each also carries its own calendar).
CALENDAR_CHUNK = 2000

Step = tuple[int, str, int | None]


def record(
    kind: str, key: str, *, event_id: int | None, target_id: int | None, params: dict[str, Any] | None = None
) -> FanOut | None:
    """Record a fan-out in the caller's transaction; None if `key` was recorded before."""
    if kind not in EXPANDERS:
        raise ValueError(f"unknown fan-out kind {kind!r}")
    if db.session.scalar(select(FanOut.id).where(FanOut.key == key)) is not None:
        return None
    row = FanOut(kind=kind, key=key, event_id=event_id, target_id=target_id, params=params or {})
    return row if add_once(row) else None  # False: a concurrent transaction recorded the key first


def pending_count() -> int:
    """Fan-outs whose copies are not all written yet."""
    return db.session.scalar(select(func.count(FanOut.id)).where(FanOut.done_at.is_(None))) or 0


@dataclass
class ExpandReport:
    fan_outs: int = 0
    messages: int = 0
    failed: int = 0

    def __str__(self) -> str:
        text = f"{self.fan_outs} fan-out(s), {self.messages} message(s) queued"
        return text + (f", {self.failed} failed" if self.failed else "")


def expand_pending(limit: int | None = None, budget_seconds: float | None = None) -> ExpandReport:
    """Write the copies of pending fan-outs (oldest first), step by step, each step committed.

    A step writes up to POST_CHUNK (CALENDAR_CHUNK) copies and records how far it got in the same
    transaction, so a crash loses no progress and repeats nothing. With
    `budget_seconds`, no new step starts after that long (the sender then sends what is
    written and carries on next run). Commits the caller's session first. A fan-out
    whose step raises is rolled back, counted as an attempt and retried by the next run
    (up to MAX_ATTEMPTS).
    """
    db.session.commit()
    report = ExpandReport()
    failed: set[int] = set()
    started = time.monotonic()
    postgres = db.session.get_bind().dialect.name == "postgresql"
    while limit is None or report.fan_outs + report.failed < limit:
        if budget_seconds is not None and time.monotonic() - started >= budget_seconds:
            break
        stmt = (
            select(FanOut)
            .where(FanOut.done_at.is_(None), FanOut.attempts < MAX_ATTEMPTS)
            .order_by(FanOut.id)
            .limit(1)
        )
        if failed:
            stmt = stmt.where(FanOut.id.not_in(failed))
        if postgres:
            stmt = stmt.with_for_update(skip_locked=True)
        fan = db.session.scalar(stmt)
        if fan is None:
            db.session.rollback()
            break
        try:
            with _fewer_collections():
                count, note, after = EXPANDERS[fan.kind](fan)
            fan.recipients = (fan.recipients or 0) + count
            fan.note = note[:200]
            if after is None:
                fan.done_at = clock.now()
            else:
                fan.params = {**fan.params, "after": after}  # a new dict: JSON columns track assignment
            db.session.commit()
        except Exception as exc:
            db.session.rollback()
            log.exception("fan-out %s failed; it is retried on the next run", fan.key)
            _count_failure(fan.id, exc)
            failed.add(fan.id)
            report.failed += 1
            continue
        report.messages += count
        if after is None:
            report.fan_outs += 1
    return report


@contextmanager
def _fewer_collections(young: int = 20_000) -> Iterator[None]:
    """Run a step with the cyclic garbage collector's first threshold raised.

    A step makes some twenty objects per copy (rows, strings, the ORM's states), most of
    them kept until its commit; at the default threshold (700) the collector then ran
    hundreds of times a step, each pass walking more survivors: an eighth of the step's
    CPU. Nothing it would free is left for long: the step ends within seconds and the
    threshold is put back.
    """
    old = gc.get_threshold()
    gc.set_threshold(max(young, old[0]), *old[1:])
    try:
        yield
    finally:
        gc.set_threshold(*old)


def _count_failure(fan_id: int, exc: Exception) -> None:
    table = table_of(FanOut)
    db.session.execute(
        update(table)
        .where(table.c.id == fan_id)
        .values(attempts=table.c.attempts + 1, note=f"failed: {exc}"[:200])
    )
    db.session.commit()


# --- what each kind writes: registered by the area that owns it --------------------------------

#: What each kind writes in one step: (copies new, note, where to resume or None when done).
#: Filled by `register_kind` from the areas (discussion: "post"; calendars: "calendar-update",
#: "calendar-cancel"), so this module never imports the mail they build.
EXPANDERS: dict[str, Callable[[FanOut], Step]] = {}


def register_kind(kind: str, expander: Callable[[FanOut], Step]) -> Callable[[FanOut], Step]:
    """Let `record` take `kind`, and `expand_pending` write its copies with `expander`."""
    known = EXPANDERS.get(kind)
    if known is not None and known is not expander:
        raise ValueError(f"fan-out kind {kind!r} is registered twice")
    EXPANDERS[kind] = expander
    return expander


def _before_sending(_sender: object, budget_seconds: float | None = None, **_: Any) -> None:
    """The sender is about to send what is due: write the fan-outs' copies first."""
    expand_pending(budget_seconds=budget_seconds)


sending_due.connect(_before_sending, weak=False)
