"""The sender's helpers that run beside it: connections sharing a run, its database thread.

`send_on` spreads one run's messages over several pipelined connections (one thread
each, MAIL_CONNECTIONS of them) and hands their outcomes back in a bounded queue, so
while the sender waits for a commit the connections wait too: what the relay accepted
but nobody marked yet stays within a few messages. `DatabaseThread` runs the claims and
group commits on a connection of their own, overlapping the SMTP traffic. `BodyCache`
keeps the shared bodies (forum.models.OutboundBody) a run has loaded. `Writer` runs the
fan-outs' writing (the `sending_due` receivers) beside the sending, so the first copies go
out while the rest are written.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from flask import Flask
from flask.ctx import AppContext
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from forum.core.extensions import db
from forum.mail.envelope import Envelope, Outcome, Transport
from forum.models import OutboundBody, table_of

_bodies = table_of(OutboundBody)
log = logging.getLogger(__name__)


class LeaseLost(Exception):
    """The batch's lease ran out, or another sender took its rows: send none of it any more."""


class _SharedIterator(Iterator[Envelope]):
    """One envelope source pulled by several connections (threads) in turn.

    Once the source raised `LeaseLost`, every connection's next pull raises it too, so
    none of them writes the content of a message it had opened (see `send_many`).
    """

    def __init__(self, source: Iterator[Envelope]) -> None:
        self._source, self._lock, self.lost = source, threading.Lock(), False

    def __next__(self) -> Envelope:
        with self._lock:
            if self.lost:
                raise LeaseLost
            try:
                return next(self._source)
            except LeaseLost:
                self.lost = True
                raise


_LANE_DONE = object()


def send_on(transports: Sequence[Transport], source: Iterator[Envelope]) -> Iterator[Outcome]:
    """Outcomes of sending `source` over one or several connections (one thread each)."""
    if len(transports) == 1:
        yield from transports[0].send_many(source)
        return
    shared = _SharedIterator(source)
    # Bounded: while the consumer waits for a commit, the connections wait too, so what
    # the server accepted but nobody marked yet stays within a few messages.
    outcomes: queue.Queue[Any] = queue.Queue(maxsize=len(transports))

    def lane(transport: Transport) -> None:
        try:
            for outcome in transport.send_many(shared):
                outcomes.put(outcome)
        except BaseException as exc:  # handed to the consuming thread below
            outcomes.put(exc)
        finally:
            outcomes.put(_LANE_DONE)

    threads = [threading.Thread(target=lane, args=(t,), name="outbox-smtp", daemon=True) for t in transports]
    for thread in threads:
        thread.start()
    failure: BaseException | None = None
    running = len(threads)
    while running:
        item = outcomes.get()
        if item is _LANE_DONE:
            running -= 1
        elif isinstance(item, BaseException):
            failure = failure or item
        else:
            yield item
    if failure is not None:
        raise failure


class BodyCache:
    """The last few shared bodies (forum.models.OutboundBody) a sender loaded, by id.

    Rows of one fan-out are claimed together, so a handful of bodies serve a whole run.
    """

    def __init__(self, size: int = 16) -> None:
        self.size = size
        self._items: dict[int, tuple[bytes, str]] = {}

    def get(self, body_id: int) -> tuple[bytes, str] | None:
        item = self._items.pop(body_id, None)
        if item is not None:
            self._items[body_id] = item  # most recently used last
        return item

    def put(self, body_id: int, item: tuple[bytes, str]) -> None:
        self._items[body_id] = item
        while len(self._items) > self.size:
            del self._items[next(iter(self._items))]


def load_body(body_id: int) -> tuple[bytes, str]:
    row = db.session.execute(select(_bodies.c.data, _bodies.c.cuts).where(_bodies.c.id == body_id)).one()
    db.session.commit()
    return bytes(row.data), row.cuts


class Writer:
    """`fn(*args)` on a thread (and database connection) of its own, under the app's context.

    The sender starts the fan-outs' writing here and claims what each committed step
    wrote while the next step is written: writing and sending overlap instead of adding
    up (10,000 copies wrote in 2.4 s, then sent in 3.4 s). Each step is still one
    transaction with its progress mark, so a crash repeats and loses nothing more.
    """

    def __init__(self, app: Flask, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._run, args=(app, fn, args, kwargs), name="outbox-writer", daemon=True
        )
        self._thread.start()

    def _run(self, app: Flask, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        with app.app_context():
            try:
                fn(*args, **kwargs)
            except BaseException as exc:  # handed to the sender by `join`
                self._error = exc
            finally:
                db.session.remove()

    def done(self) -> bool:
        return not self._thread.is_alive()

    def wait(self, seconds: float) -> None:
        """Wait up to `seconds` for the writing to finish (a step to commit, more likely)."""
        self._thread.join(seconds)

    def join(self, reraise: bool = True) -> None:
        """Wait for the writing to finish; re-raise what it raised.

        With `reraise=False` (the sender is already failing) the writing's own error is
        logged instead: raising it would replace the sending error that stopped the run,
        and the operator would chase the wrong one.
        """
        self._thread.join()
        if self._error is None:
            return
        if reraise:
            raise self._error
        log.error("fan-out writing failed while the sending failed too", exc_info=self._error)


class DatabaseThread:
    """All of one run's database steps, in order, on a thread (and connection) of their own.

    Claims and group commits then overlap the SMTP traffic instead of stalling it
    (sqlite3 and psycopg release the GIL while they wait on the database). The thread keeps
    one connection checked out for the run: a session per group commit used to check one
    out of the pool, which pinged it (pool_pre_ping) and rolled it back on return, a
    round trip each and a tenth of the thread's CPU. Each step is still its own transaction
    (the session begins one on the connection and commits or rolls it back).
    """

    def __init__(self, app: Flask):
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="outbox-db")
        self._ctx: AppContext | None = None
        self._connection: Connection | None = None
        self._pool.submit(self._enter, app).result()

    def _enter(self, app: Flask) -> None:
        self._ctx = app.app_context()
        self._ctx.push()
        self._connection = db.engine.connect()  # pinged once, here
        # This app context's `db.session` (the steps use it) is a session on that connection: a
        # plain one, as flask-sqlalchemy's picks the engine (a pooled connection) by itself.
        db.session.registry.set(Session(bind=self._connection))  # type: ignore[arg-type]

    def _leave(self) -> None:
        try:
            db.session.remove()
        finally:
            if self._connection is not None:
                self._connection.close()  # back to the pool
            if self._ctx is not None:
                self._ctx.pop()

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        return self._pool.submit(fn, *args)

    def close(self) -> None:
        self._pool.submit(self._leave).result()
        self._pool.shutdown(wait=True)
