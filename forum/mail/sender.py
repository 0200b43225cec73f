"""Deliver the outbox: claim due rows, send them over MAIL_CONNECTIONS reused connections, mark each.

The claim is the only way to a send. It is one short transaction that moves due rows
to ``sending`` under a lease (PostgreSQL: ``FOR UPDATE SKIP LOCKED``, so any number
of senders may run side by side; SQLite: the single UPDATE is atomic). While a row is
``sending`` its ``next_attempt_at`` holds the lease's end, so one index and one
condition find both due rows and rows whose sender died; a sender stops before its
own lease runs out, so a lease only lapses when its sender is gone.

Each accepted message is marked ``sent`` in the next small group commit (handed to the
database thread as soon as its previous commit is done, at most `GROUP_SIZE` messages
or `GROUP_SECONDS` after acceptance); rows of a shared body are assembled as they go
(forum.models.assemble). The connections and the database thread: forum/mail/lanes.py. 4xx replies and dropped
connections are retried with exponential backoff; 5xx replies fail the row and count
a hard bounce against the subscription, which is disabled at BOUNCE_LIMIT.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, any_, bindparam, func, select, update

from forum.common.signals import sending_due
from forum.core import clock
from forum.core.extensions import db
from forum.mail.bounces import count_hard_bounces
from forum.mail.envelope import DeliveryError, Envelope, Transport
from forum.mail.lanes import BodyCache, DatabaseThread, LeaseLost, Writer, load_body, send_on
from forum.mail.transport import make_transport
from forum.models import OutboundMessage, Subscription, assemble, table_of
from forum.models.outbox import UNSENT_STATUSES

#: Marks go to the database thread as soon as its previous commit is done, and at the
#: latest after GROUP_SIZE messages or GROUP_SECONDS, with at most MAX_WAITING_GROUPS
#: commits still waiting: a sender killed at any moment re-sends at most
#: (MAX_WAITING_GROUPS + 1) * GROUP_SIZE + 2 * MAIL_CONNECTIONS messages.
GROUP_SIZE = 25
GROUP_SECONDS = 0.25
MAX_WAITING_GROUPS = 1
#: How long a run writes fan-out copies (beside the sending; the rest is written next run).
EXPAND_SECONDS = 10.0
#: How long the sender waits for the writer's next step when nothing written is due yet.
WRITER_POLL_SECONDS = 0.02
#: A gap this long between two messages (a paused process) makes the sender ask the
#: database whether its rows are still its own before it sends another byte.
PAUSE_SECONDS = 1.0
#: Longest wait between two attempts of one message.
MAX_BACKOFF = timedelta(hours=6)

_outbox = table_of(OutboundMessage)
_subscriptions = table_of(Subscription)


@dataclass
class SendReport:
    """What one `send_due` run did."""

    sent: int = 0
    retry: int = 0
    failed: int = 0
    bounced_subscriptions: set[int] = field(default_factory=set)
    #: Why the run stopped early: the mail server could not be reached (None: it drained).
    unavailable: str | None = None
    #: Why a batch was abandoned: its lease ran out or another sender took it.
    lease_lost: str | None = None

    @property
    def processed(self) -> int:
        return self.sent + self.retry + self.failed

    def __str__(self) -> str:
        return f"sent: {self.sent}, retry: {self.retry}, failed: {self.failed}"


@dataclass(frozen=True)
class Claim:
    """A batch this sender may send until `lease_until`, identified by `token`."""

    token: str
    lease_until: datetime
    rows: Sequence[Any]


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def app_transport() -> Transport:
    """The transport MAIL_URL names (raises transport.MailURLError if it is unusable)."""
    cfg = current_app.config
    return make_transport(cfg["MAIL_URL"], dev_dir=cfg["DEV_MAILBOX_DIR"], helo=cfg["LIST_DOMAIN"])


def app_transports() -> list[Transport]:
    """MAIL_CONNECTIONS transports to the relay (one for the dev mailbox), each its own connection."""
    cfg = current_app.config
    first = app_transport()
    if cfg["MAIL_URL"].startswith("dev:"):
        return [first]
    return [first] + [app_transport() for _ in range(max(int(cfg.get("MAIL_CONNECTIONS", 4)), 1) - 1)]


#: The unsent statuses written into the SQL as literals (not bound at execution): only then do
#: SQLite's planner and a PostgreSQL generic plan see that the partial index
#: `ix_outbound_message_unsent` (models/outbox.py) holds every row the claim may take.
_UNSENT = _outbox.c.status.in_(bindparam("unsent", list(UNSENT_STATUSES), expanding=True, literal_execute=True))


def _due(now: datetime):
    # A row whose text the retention job cleared (forum.mail.retention) is never sendable.
    return and_(_UNSENT, _outbox.c.next_attempt_at <= now, _outbox.c.message.is_not(None))


def due_count() -> int:
    """Messages a sender would take now (for a progress bar)."""
    return db.session.scalar(select(func.count()).select_from(_outbox).where(_due(clock.now()))) or 0


def claim(limit: int, worker_id: str, lease_seconds: int | None = None) -> Claim:
    """Take up to `limit` due rows for this sender, in its own short transaction."""
    lease = lease_seconds if lease_seconds is not None else current_app.config["MAIL_LEASE_SECONDS"]
    now = clock.now()
    lease_until = now + timedelta(seconds=lease)
    token = f"{worker_id[:60]}:{uuid.uuid4().hex[:12]}"
    due = select(_outbox.c.id).where(_due(now)).order_by(_outbox.c.next_attempt_at, _outbox.c.id).limit(limit)
    if db.session.get_bind().dialect.name == "postgresql":
        # `id = ANY(ARRAY(SELECT ...))`: the ids are found first (the partial index, LIMIT rows),
        # then updated through the primary key. With `id IN (SELECT ...)` PostgreSQL planned a
        # hash semi-join over a scan of the whole table: a claim cost grew with the outbox.
        picked = _outbox.c.id == any_(func.array(due.with_for_update(skip_locked=True).scalar_subquery()))
    else:
        picked = _outbox.c.id.in_(due.scalar_subquery())
    stmt = (
        update(_outbox)
        .where(picked)
        .values(status="sending", claimed_by=token, lease_until=lease_until, next_attempt_at=lease_until)
        .returning(
            _outbox.c.id,
            _outbox.c.kind,
            _outbox.c.recipient,
            _outbox.c.envelope_from,
            _outbox.c.message,
            _outbox.c.body_id,
            _outbox.c.splits,
            _outbox.c.attempts,
            _outbox.c.subscription_id,
            _outbox.c.created_at,
        )
    )
    try:
        rows = db.session.execute(stmt).all()
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return Claim(token=token, lease_until=lease_until, rows=sorted(rows, key=lambda r: r.id))


def backoff(attempts: int) -> timedelta:
    """Delay before attempt `attempts + 1`: MAIL_RETRY_SECONDS doubled per attempt, capped."""
    base = current_app.config["MAIL_RETRY_SECONDS"]
    return min(timedelta(seconds=base * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)


@dataclass
class _Marks:
    """Outcomes waiting for the next group commit."""

    sent: list[int] = field(default_factory=list)
    retry: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.sent) + len(self.retry) + len(self.failed)


def _commit_marks(marks: _Marks, token: str, report: SendReport) -> None:
    """Write one group of outcomes, guarded by the claim token, in one transaction."""
    if not len(marks):
        return
    now = clock.now()
    mine = _outbox.c.claimed_by == token
    session = db.session
    try:
        sent = 0
        if marks.sent:
            # RETURNING: count only the rows this claim still owned (not ones another
            # sender took over after our lease ran out).
            sent = len(
                session.execute(
                    update(_outbox)
                    .where(_outbox.c.id.in_(marks.sent), mine)
                    .values(
                        status="sent",
                        sent_at=now,
                        lease_until=None,
                        attempts=_outbox.c.attempts + 1,
                        last_error=None,
                    )
                    .returning(_outbox.c.id)
                ).all()
            )
        retried = failed = 0
        bounces: list[int] = []
        for outcome in [*marks.retry, *marks.failed]:
            changed = session.execute(
                update(_outbox)
                .where(_outbox.c.id == outcome["row_id"], mine)
                .values(
                    status=outcome["new_status"],
                    attempts=outcome["new_attempts"],
                    next_attempt_at=outcome["retry_at"],
                    last_error=outcome["error"],
                    lease_until=None,
                )
                .returning(_outbox.c.subscription_id)
            ).all()
            if not changed:
                continue
            if outcome["new_status"] == "retry":
                retried += 1
            else:
                failed += 1
            if outcome.get("bounce") and changed[0][0] is not None:
                bounces.append(changed[0][0])
        if bounces:
            count_hard_bounces(bounces)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    report.sent += sent
    report.retry += retried
    report.failed += failed
    report.bounced_subscriptions.update(bounces)


def _release(
    ids: list[int], token: str, error: DeliveryError | None = None, report: SendReport | None = None
) -> None:
    """Give unsent rows back, not counted as an attempt: due again at once, for any sender
    (lease nearly over), or after the first retry delay (mail server unavailable).

    An outage is not the message's fault, so it uses up none of MAIL_MAX_ATTEMPTS: mail
    waits for the server for up to MAIL_MAX_QUEUE_DAYS, as an MTA's queue would.
    """
    if not ids:
        return
    if error is not None and report is not None:
        report.retry += len(ids)
    due = clock.now() + (backoff(1) if error else timedelta(0))
    db.session.execute(
        update(_outbox)
        .where(_outbox.c.id.in_(ids), _outbox.c.claimed_by == token)
        .values(
            status="queued",
            next_attempt_at=due,
            lease_until=None,
            last_error=str(error)[:1000] if error else _outbox.c.last_error,
        )
    )
    db.session.commit()


def _too_old(row: Any) -> bool:
    """Queued longer than MAIL_MAX_QUEUE_DAYS: stop waiting for the server and fail it."""
    return bool(row.created_at <= clock.now() - timedelta(days=current_app.config["MAIL_MAX_QUEUE_DAYS"]))


def _record_failure(marks: _Marks, row: Any, error: DeliveryError, give_up: bool = False) -> None:
    now = clock.now()
    attempts = row.attempts + 1
    text = str(error)[:1000]
    if error.permanent:
        marks.failed.append(
            {
                "row_id": row.id,
                "new_status": "failed",
                "new_attempts": attempts,
                "retry_at": now,
                "error": text,
                "bounce": True,  # counted against the subscription if the row was still ours
            }
        )
        return
    gave_up = give_up or attempts >= current_app.config["MAIL_MAX_ATTEMPTS"]
    marks.retry.append(
        {
            "row_id": row.id,
            "new_status": "failed" if gave_up else "retry",
            "new_attempts": attempts,
            "retry_at": now if gave_up else now + backoff(attempts),
            "error": text,
        }
    )


DBCall = Callable[..., "Future[Any]"]


def _inline(fn: Callable[..., Any], *args: Any) -> Future[Any]:
    """Run a database step now, on this thread (the default for `deliver`)."""
    future: Future[Any] = Future()
    try:
        future.set_result(fn(*args))
    except BaseException as exc:
        future.set_exception(exc)
    return future


def _owns(row_id: int, token: str) -> bool:
    """Is the row still this batch's (claimed by it, sent or not), not retaken by another sender?"""
    mine = db.session.scalar(
        select(_outbox.c.id).where(_outbox.c.id == row_id, _outbox.c.claimed_by == token)
    )
    db.session.commit()
    return mine is not None


def deliver(
    batch: Claim,
    transport: Transport | Sequence[Transport],
    report: SendReport,
    progress: Callable[[int], None] | None = None,
    db_call: DBCall = _inline,
    pending: deque[tuple[Future[Any], int]] | None = None,
    bodies: BodyCache | None = None,
) -> None:
    """Send a claimed batch and mark every row; stops short of the lease running out.

    The transports (one per connection) pull envelopes as they go; a pipelining one
    writes a message's content together with the next message's commands, so the lease
    is checked before each pull: past the lease (e.g. the process was paused), or after
    any pause when the database says another sender took the rows, sending stops and
    the message already opened is abandoned (its connection is dropped before its
    content). Rows never settled - lease nearly over, server unavailable - are handed
    back without counting an attempt. Outcomes are committed in small groups on the
    database thread (at most one group waiting), so a sender killed at any moment has
    sent at most two groups plus one message per connection that it had not marked.
    Every mark is committed before this returns, unless the caller passes `pending`
    and waits for those commits itself.
    """
    transports = [transport] if not isinstance(transport, Sequence) else list(transport)
    wait_here = pending is None
    pending = deque() if pending is None else pending
    margin = timedelta(seconds=max(current_app.config["MAIL_LEASE_SECONDS"] / 10, 1))
    rows = {row.id: row for row in batch.rows}
    settled: set[int] = set()
    marks = _Marks()
    last_commit = time.monotonic()
    unavailable: DeliveryError | None = None
    lost = False

    def check_lease(row_id: int | None, last_pull: float) -> bool:
        """False to stop cleanly (lease nearly over); raises LeaseLost if the rows are not ours.

        Past the lease, or after a pause, the database decides: another sender may have
        taken the rows (then nothing more goes out), or nobody did (then this one stops
        cleanly and hands the rest back).
        """
        now = clock.now()
        expired = now >= batch.lease_until
        paused = time.monotonic() - last_pull > PAUSE_SECONDS
        if (expired or paused) and row_id is not None and not db_call(_owns, row_id, batch.token).result():
            raise LeaseLost(f"rows of {batch.token} were taken by another sender")
        return now < batch.lease_until - margin

    def envelopes() -> Iterator[Envelope]:
        last_pull, last_id = time.monotonic(), None
        for row in batch.rows:
            if unavailable is not None or not check_lease(row.id, last_pull):
                break
            data = bytes(row.message)
            if row.body_id is not None:
                body = bodies.get(row.body_id) if bodies is not None else None
                if body is None:
                    body = db_call(load_body, row.body_id).result()
                    if bodies is not None:
                        bodies.put(row.body_id, body)
                data = assemble(data, row.splits, *body)
            yield Envelope(row.id, row.envelope_from, row.recipient, data, row.kind)
            last_pull, last_id = time.monotonic(), row.id
        if unavailable is None:
            check_lease(last_id, last_pull)  # before the last opened message's content goes out

    def flush() -> None:
        nonlocal marks, last_commit
        if len(marks):
            pending.append((db_call(_commit_marks, marks, batch.token, report), len(marks)))
        marks, last_commit = _Marks(), time.monotonic()
        settle_commits(pending, progress, wait=False)
        while len(pending) > MAX_WAITING_GROUPS:  # keep the unmarked window small
            future, count = pending.popleft()
            future.result()
            if progress and count:
                progress(count)

    try:
        for env, error in send_on(transports, envelopes()):
            if error is not None and error.unavailable:
                # The server is down or refuses us: stop, and hand this row back with the
                # rest (no attempt counted) unless it has waited too long already.
                unavailable = error
                report.unavailable = str(error)
                if not _too_old(rows[env.id]):
                    continue
                _record_failure(marks, rows[env.id], error, give_up=True)
                settled.add(env.id)
                continue
            settled.add(env.id)
            if error is None:
                marks.sent.append(env.id)
            else:
                _record_failure(marks, rows[env.id], error)
            # Group commit: hand the marks over as soon as the previous commit is done (so
            # groups stay small while the database keeps up), and at GROUP_SIZE wait for it.
            idle = not pending or pending[-1][0].done()
            if idle or len(marks) >= GROUP_SIZE or time.monotonic() - last_commit >= GROUP_SECONDS:
                flush()
    except LeaseLost as exc:
        lost = True
        report.lease_lost = str(exc)
    finally:
        flush()  # also on an unexpected error: what the server accepted is marked sent
        if wait_here:
            settle_commits(pending, progress, wait=True)
    unsettled = [r.id for r in batch.rows if r.id not in settled]
    if unsettled and not lost:
        pending.append((db_call(_release, unsettled, batch.token, unavailable, report), 0))
        if wait_here:
            settle_commits(pending, progress, wait=True)


def settle_commits(
    pending: deque[tuple[Future[Any], int]], progress: Callable[[int], None] | None, wait: bool
) -> None:
    """Collect finished database steps in order (re-raising their errors), reporting progress."""
    while pending and (wait or pending[0][0].done()):
        future, count = pending.popleft()
        future.result()
        if progress and count:
            progress(count)


def send_due(
    limit: int | None = None,
    batch_size: int = 200,
    worker_id: str | None = None,
    progress: Callable[[int], None] | None = None,
    transport: Transport | None = None,
) -> SendReport:
    """Drain what is due now (at most `limit` messages), batch by batch; safe to run anywhere.

    The `sending_due` receivers (the fan-outs' copies, `forum.common.fanout.expand_pending`)
    write for up to EXPAND_SECONDS on a thread of their own (`lanes.Writer`) while this
    claims and sends what each of their committed steps wrote: a post accepted a moment ago
    is mailed in this run, its first copies going out while the rest are written; a huge
    list's copies are written over several runs. Commits the caller's session first (so its
    mail is visible and no lock is held), then works on a database thread of its own,
    claiming the next batch while the current one is sent. `progress(n)` is called as groups
    of `n` messages are marked. Rows put back for a retry are not due again within the same run.
    """
    worker = worker_id or default_worker_id()
    own_transport = transport is None
    transports = [transport] if transport is not None else app_transports()
    report = SendReport()
    db.session.commit()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    writer = Writer(app, sending_due.send, app, budget_seconds=EXPAND_SECONDS)
    database = DatabaseThread(app)
    claimed = 0
    next_claim: tuple[Future[Claim], bool] | None = None
    pending: deque[tuple[Future[Any], int]] = deque()
    bodies = BodyCache()

    def claim_ahead() -> tuple[Future[Claim], bool] | None:
        """The next claim, and whether the writing had finished before it was taken (then
        an empty claim means the run is drained, not that the next step is not committed yet)."""
        size = batch_size if limit is None else min(batch_size, limit - claimed)
        if size <= 0:
            return None
        written = writer.done()  # asked before the claim runs: a step committed after it is claimed
        return database.submit(claim, size, worker), written

    failing = True  # until the loop ends normally: then the writer's own error is raised
    try:
        next_claim = claim_ahead()
        while next_claim is not None:
            batch, written = next_claim[0].result(), next_claim[1]
            next_claim = None
            if not batch.rows:
                if written:
                    break
                writer.wait(WRITER_POLL_SECONDS)  # the next step is being written
                next_claim = claim_ahead()
                continue
            claimed += len(batch.rows)
            next_claim = claim_ahead()
            deliver(
                batch, transports, report, progress, db_call=database.submit, pending=pending, bodies=bodies
            )
            if report.unavailable:
                break
        failing = False
    finally:
        settle_commits(pending, progress, wait=True)
        if next_claim is not None:  # claimed ahead but not needed: hand it straight back
            ahead = next_claim[0].result()
            if ahead.rows:
                database.submit(_release, [r.id for r in ahead.rows], ahead.token).result()
        database.close()
        if own_transport:
            for each in transports:
                each.close()
        # The writing goes on to its budget even if sending stopped early. When the sending
        # failed, its error is the one raised: the writer's is logged, not put in its place.
        writer.join(reraise=not failing)
    return report
