"""Reading the public pages' version counter (`page_versions.py`) for every cached page and
every 304: often the only work such an answer has, so it must cost next to nothing.

On PostgreSQL (psycopg) each thread of each process keeps connections of its own, out of
the pool and in autocommit mode:

- a **watch** (`LISTEN forum_page_version`; every bump sends `NOTIFY` in its transaction,
  delivered as it commits): the version read last is kept, and each request only asks the
  kernel whether the watch's socket has anything to read (one poll, no round trip). A
  notification, or a bump committed by this very process (`page_versions.committed_here`,
  known before its commit returns), and the next read goes to the database. The watch
  listens before its first read, so no change falls between the two. PostgreSQL signals
  the listeners before the writer's COMMIT returns; another process sees the change once
  the notification has reached its socket: microseconds later on a quiet host, but
  milliseconds on a loaded one, where a request right after the commit can still get the
  page before the change. So the watch is a setting (`PAGE_VERSION_WATCH=1`), off by
  default: then the row is read on every request, and the next request shows any change.
- a **reader**: a prepared statement, one round trip, no BEGIN, no ROLLBACK, no pre-ping
  (the pool's checkout did three round trips around the SELECT). Autocommit: each read sees
  every transaction committed before it. It is run through libpq itself (`pgconn`,
  psycopg's thin layer over it), not a cursor: the cursor's machinery around one prepared
  SELECT (its generators, the row maker, the timestamptz loader) was half the CPU a read
  cost under load. The time of the change comes back as microseconds since the epoch, and
  is turned into a datetime only when it differs from the last one read.

A failure closes the connections (the next read opens new ones) and raises; the caller
then lets the app answer. Elsewhere (SQLite: a local file, no round trip) a pooled
connection is used for each read.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import pq
from sqlalchemy import Engine

from forum.common import page_versions

_STATEMENT = b"forum_page_version"
_SQL = b"SELECT value, (extract(epoch FROM changed_at) * 1000000)::int8 FROM page_version WHERE key = $1"
_KEY = [page_versions.KEY.encode()]


@dataclass
class _Held:
    """One thread's connections and what it read last."""

    pid: int
    conn: Any
    watch: Any = None
    poller: Any = None
    known: tuple[int, datetime] | None = None
    seen_here: int = -1
    micros: int = -1
    changed: datetime | None = None


class Reader:
    def __init__(self, engine: Engine, *, watch: bool = False) -> None:
        self._engine = engine
        self._own = engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg"
        self._watch = watch and self._own
        self._local = threading.local()
        self._opened: list[Any] = []
        self._lock = threading.Lock()

    def read(self) -> tuple[int, datetime] | None:
        """The version now and when it changed (None where the row is missing)."""
        if not self._own:
            with self._engine.connect() as conn:
                found = conn.execute(page_versions._CURRENT).first()
            return (found[0], found[1]) if found is not None else None
        held = self._held()
        try:
            if held.known is not None and held.seen_here == page_versions.committed_here and not self._notified(held):
                return held.known
            seen_here = page_versions.committed_here
            result = held.conn.pgconn.exec_prepared(_STATEMENT, _KEY)
            if result.status != pq.ExecStatus.TUPLES_OK:
                raise psycopg.OperationalError(f"page version: {result.error_message.decode(errors='replace')}")
        except Exception:
            self._forget()
            raise
        if not result.ntuples:
            return None
        micros = int(result.get_value(0, 1) or 0)
        if micros != held.micros or held.changed is None:
            seconds, part = divmod(micros, 1_000_000)  # exact: a float would round the microseconds
            held.micros, held.changed = micros, datetime.fromtimestamp(seconds, UTC).replace(microsecond=part)
        version = int(result.get_value(0, 0) or 0), held.changed
        if self._watch:
            held.known, held.seen_here = version, seen_here
        return version

    @staticmethod
    def _notified(held: _Held) -> bool:
        """Whether anything came on the watch since the last look (one poll when nothing)."""
        if not held.poller.poll(0):
            return False
        pgconn = held.watch.pgconn
        pgconn.consume_input()  # raises when the connection broke
        while pgconn.notifies() is not None:
            pass
        return True  # a notification, or anything else: read again to be sure

    def _connect(self) -> Any:
        pooled = self._engine.raw_connection()
        pooled.detach()  # ours for good: the pool neither resets nor recycles it
        dbapi: Any = pooled.dbapi_connection
        dbapi.rollback()  # the pool's pre-ping may have opened a transaction
        dbapi.autocommit = True
        with self._lock:
            self._opened.append(dbapi)
        return dbapi

    def _held(self) -> _Held:
        held: _Held | None = getattr(self._local, "held", None)
        if held is None or held.pid != os.getpid():  # a forked worker opens its own
            conn = self._connect()
            prepared = conn.pgconn.prepare(_STATEMENT, _SQL)
            if prepared.status != pq.ExecStatus.COMMAND_OK:
                raise psycopg.OperationalError(f"page version: {prepared.error_message.decode(errors='replace')}")
            held = _Held(os.getpid(), conn)
            if self._watch:
                held.watch = self._connect()
                held.watch.execute(f"LISTEN {page_versions.CHANNEL}")  # before the first read
                held.poller = select.poll()
                held.poller.register(held.watch.pgconn.socket, select.POLLIN | select.POLLERR | select.POLLHUP)
            self._local.held = held
        return held

    def _forget(self) -> None:
        held: _Held | None = getattr(self._local, "held", None)
        self._local.held = None
        if held is not None:
            for conn in (held.conn, held.watch):
                with contextlib.suppress(Exception):  # already broken: closing is only tidying up
                    if conn is not None:
                        conn.close()

    def close(self) -> None:
        """Close every connection this reader opened (an app being thrown away: tests)."""
        with self._lock:
            opened, self._opened = self._opened, []
        for dbapi in opened:
            with contextlib.suppress(Exception):  # closing is only tidying up
                dbapi.close()
        self._local = threading.local()
