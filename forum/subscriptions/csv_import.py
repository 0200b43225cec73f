"""CSV import of registrants (officer upload and `flask forum import-subscribers`).

Streams the file and works in batches (one SELECT per question, multi-row INSERTs, a
commit per batch), so a 50,000-row file costs flat memory; the per-address rules are
the same as a sign-up's (forum.subscriptions: one participant per address, double
opt-in unless the officer vouches for the addresses, welcome + invites when active).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import selectinload

from forum.calendars import invites
from forum.common import signals
from forum.core import clock
from forum.core.extensions import db
from forum.core.validation import control_character_problem
from forum.mail.outbox import enqueue_many
from forum.models import Event, Participant, Subscription
from forum.subscriptions.service import (
    SubscriptionError,
    check_mode,
    confirmation,
    email_key,
    normalize_email,
    welcome,
)
from forum.webinars import seats


@dataclass
class ImportReport:
    """What an import did: counts, and every skipped row with its line number and reason."""

    added: int = 0
    already: int = 0
    rows: int = 0
    bad: list[tuple[int, str]] = field(default_factory=list)

    @property
    def summary(self) -> str:
        return (
            f"{self.added} added, {self.already} already on the list, "
            f"{len(self.bad)} skipped (of {self.rows} rows)"
        )


@dataclass
class _Row:
    line: int
    email: str
    key: str
    name: str
    mode: str


HEADER_NAMES = {"email", "name", "mode"}


def _records(lines: Iterable[str]) -> Iterator[tuple[int, list[str]]]:
    """(line number where the record starts, cells), blank lines skipped."""
    reader = csv.reader(lines)
    start = 1
    for cells in reader:
        line, start = start, reader.line_num + 1
        if cells and any(c.strip() for c in cells):
            yield line, cells


def _columns(first: list[str]) -> tuple[dict[str, int], bool]:
    """Column positions from a header row, or positional (email,name,mode) when there is none."""
    lowered = [c.strip().lower() for c in first]
    if "email" in lowered:
        return {name: lowered.index(name) for name in HEADER_NAMES if name in lowered}, True
    return {"email": 0, "name": 1, "mode": 2}, False


def _cell(cells: list[str], columns: dict[str, int], name: str) -> str:
    pos = columns.get(name)
    return cells[pos].strip() if pos is not None and pos < len(cells) else ""


def _parse_rows(lines: Iterable[str], default_mode: str, report: ImportReport) -> Iterator[_Row]:
    """Valid-looking rows, streamed; bad ones go to the report with their line numbers."""
    columns: dict[str, int] | None = None
    for line, cells in _records(lines):
        if columns is None:
            columns, is_header = _columns(cells)
            if is_header:
                continue
        report.rows += 1
        try:
            email = normalize_email(_cell(cells, columns, "email"))
            mode = check_mode(_cell(cells, columns, "mode") or default_mode)
        except SubscriptionError as exc:
            report.bad.append((line, str(exc)))
            continue
        name = _cell(cells, columns, "name")[:200]
        if problem := control_character_problem(name):
            report.bad.append((line, f"name: {problem}"))
            continue
        yield _Row(line, email, email_key(email), name, mode)


def _batches(rows: Iterator[_Row], size: int) -> Iterator[list[_Row]]:
    batch: list[_Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def import_rows(
    event: Event,
    lines: Iterable[str],
    *,
    confirmed: bool = False,
    mode: str = "each",
    batch_size: int = 1000,
    on_batch: Callable[[ImportReport], None] | None = None,
) -> ImportReport:
    """Import a CSV (header `email[,name][,mode]`, or those columns without a header).

    Streams `lines` and inserts in batches, committing after each, so memory does not
    grow with the file. Never duplicates a participant (matched on email_key). With
    `confirmed`, the officer vouches for the addresses: they are active at once and
    marked confirmed, and no mail goes out. Otherwise unconfirmed addresses get a
    pending subscription and a confirmation mail; already-confirmed ones join at once
    with a welcome mail, as if they had subscribed on the web.
    """
    default_mode = check_mode(mode)
    report = ImportReport()
    # Subscriptions made by this run have ids above the mark: a row that meets one is a
    # repeat within the file. This keeps memory flat (no set of every address seen).
    mark = db.session.scalar(select(func.max(Subscription.id))) or 0
    for batch in _batches(_parse_rows(lines, default_mode, report), batch_size):
        _store_batch(event, _drop_repeats(batch, report), confirmed, report, mark)
        db.session.commit()
        if on_batch:
            on_batch(report)
    db.session.commit()
    report.bad.sort()
    return report


def _drop_repeats(batch: list[_Row], report: ImportReport) -> list[_Row]:
    """Repeats inside one batch; repeats across batches are caught in _store_batch."""
    seen: set[str] = set()
    kept = []
    for row in batch:
        if row.key in seen:
            report.bad.append((row.line, f"{row.email} appears earlier in the file."))
        else:
            seen.add(row.key)
            kept.append(row)
    return kept


def _store_batch(event: Event, batch: list[_Row], confirmed: bool, report: ImportReport, mark: int) -> None:
    """Participants first (created or found), then the subscriptions this batch adds."""
    now = clock.now()
    known = _participant_ids(batch, confirmed, now)
    new_rows = _new_rows(event, batch, known, report, mark)
    if not new_rows:
        return
    active = _vouched(known, confirmed)
    waiting = _over_the_limit(event, new_rows, known, active)
    sub_ids = _insert_subscriptions(event, new_rows, known, active - waiting, waiting, now)
    signals.subscriptions_added.send(event, ids=sub_ids)
    report.added += len(new_rows)
    if not confirmed:
        _mail_batch(sub_ids)


def _participant_ids(batch: list[_Row], confirmed: bool, now: datetime) -> dict[str, int]:
    """email_key -> participant id for every row, creating the unknown ones in one INSERT;
    with `confirmed` the officer vouches for every address, old or new."""
    keys = [row.key for row in batch]
    known = dict(
        db.session.execute(
            select(Participant.email_key, Participant.id).where(Participant.email_key.in_(keys))
        ).all()
    )
    fresh = [row for row in batch if row.key not in known]
    if fresh:
        created = db.session.execute(
            insert(Participant).returning(Participant.email_key, Participant.id),
            [
                {
                    "email": r.email,
                    "email_key": r.key,
                    "name": r.name,
                    "confirmed_at": now if confirmed else None,
                }
                for r in fresh
            ],
        ).all()
        known.update(dict(created))
    if confirmed:
        db.session.execute(
            update(Participant)
            .where(Participant.id.in_(list(known.values())), Participant.confirmed_at.is_(None))
            .values(confirmed_at=now),
            execution_options={"synchronize_session": False},
        )
    return known


def _new_rows(
    event: Event, batch: list[_Row], known: dict[str, int], report: ImportReport, mark: int
) -> list[_Row]:
    """Rows whose person is not on the event yet; the others are counted as already there
    or, when this run subscribed them (id above `mark`), reported as repeats in the file."""
    by_this_run = {
        participant_id: sub_id > mark and source == "import"
        for participant_id, sub_id, source in db.session.execute(
            select(Subscription.participant_id, Subscription.id, Subscription.source).where(
                Subscription.event_id == event.id, Subscription.participant_id.in_(list(known.values()))
            )
        )
    }
    new_rows = []
    for r in batch:
        if known[r.key] not in by_this_run:
            new_rows.append(r)
        elif by_this_run[known[r.key]]:
            report.bad.append((r.line, f"{r.email} appears earlier in the file."))
        else:
            report.already += 1
    return new_rows


def _vouched(known: dict[str, int], confirmed: bool) -> set[int]:
    """Participants who join at once: all of them when the officer vouches, else those
    who confirmed their address before (register once)."""
    if confirmed:
        return set(known.values())
    return set(
        db.session.scalars(
            select(Participant.id).where(
                Participant.id.in_(list(known.values())), Participant.confirmed_at.is_not(None)
            )
        )
    )


def _over_the_limit(event: Event, rows: list[_Row], known: dict[str, int], active: set[int]) -> set[int]:
    """Of those who would join at once, the ones a capped series has no seat for (in file
    order, and all of them while anyone is already waiting): they join the waiting list.
    Holds the event lock (forum/webinars/seats.py) for the rest of the batch's transaction."""
    if not seats.has_limit(event):
        return set()
    seats.lock_event(event)
    counts = seats.counts(event)
    free = 0 if counts.waiting else (counts.left or 0)
    joining = [known[r.key] for r in rows if known[r.key] in active]
    return set(joining[free:])


def _insert_subscriptions(
    event: Event, rows: list[_Row], known: dict[str, int], active: set[int], waiting: set[int], now: datetime
) -> list[int]:
    """One multi-row INSERT (file order, so ids keep the waiting list's order); returns the ids."""

    def status(participant_id: int) -> str:
        return (
            "active" if participant_id in active else "waitlisted" if participant_id in waiting else "pending"
        )

    ids = db.session.execute(
        insert(Subscription).returning(Subscription.id),
        [
            {
                "participant_id": known[r.key],
                "event_id": event.id,
                "mode": r.mode,
                "status": status(known[r.key]),
                "source": "import",
                "confirmed_at": now if known[r.key] in active else None,
                "waitlisted_at": now if known[r.key] in waiting else None,
            }
            for r in rows
        ],
    ).scalars()
    return list(ids)


def _mail_batch(sub_ids: list[int]) -> None:
    """Confirmation or welcome mail for each new subscription, queued in bulk."""
    subs = db.session.scalars(
        select(Subscription)
        .where(Subscription.id.in_(sub_ids))
        .options(selectinload(Subscription.participant))
    ).all()
    enqueue_many((confirmation(s) for s in subs if s.status == "pending"), kind="confirm")
    active = [s for s in subs if s.is_active]
    enqueue_many((welcome(s) for s in active), kind="welcome")
    for sub in active:
        invites.send_session_invites(sub, invites.later_invite_sessions(sub))
    for sub in subs:
        if sub.status == "waitlisted":
            seats.send_waitlisted(sub)
