"""One app per database backend per pytest process, handed to each test as if new.

`create_app` cost about 138 ms of CPU per test (registering ~40 blueprints, the OpenAPI
spec, Jinja set-up), more than most tests themselves; templates were also compiled again
for every test because each app had its own Jinja cache. An app is now built once per
backend and process, and `checkout` puts back everything a test (or the app itself, lazily)
can change on it, so each test starts from the same state a freshly built app had:

- `app.config`: a deep copy of the config the app was built with, plus this test's database
  and dev-mailbox folder;
- `app.extensions`: the entries `create_app` made; the ones made on first use (page cache,
  tokens, URL adapter, display zones, DKIM key, OIDC client, feed bodies ...) are dropped and
  so made again from this test's config;
- the Jinja loader (tests add mail templates): put back, and the compiled templates dropped
  when it had been changed, so a test-only template never outlives its test;
- the rate limiter: Flask-Limiter keeps `enabled`, its storage and strategy on the one global
  `Limiter`, set by whichever app was initialised last (tests that build a rate-limited app of
  their own change it); its attributes are put back as this app left them;
- the database engine: a new one per test (no pool or event listener outlives its test), on
  this test's own SQLite file (a copy of the empty schema, as before) or on the process's
  PostgreSQL schema, emptied after every test.

`tests/test_app_pool.py` changes each of these and checks the next checkout is pristine.
"""

from __future__ import annotations

import copy
import sqlite3
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import Flask
from jinja2 import BaseLoader

from forum import create_app
from forum.core.extensions import db, limiter


@dataclass
class Pooled:
    """An app and what it looked like right after `create_app`."""

    app: Flask
    config: dict[str, Any]
    extensions: dict[str, Any]
    loader: BaseLoader | None
    limiter_state: dict[str, Any]


_pool: dict[str, Pooled] = {}


def pooled(key: str, config: dict[str, Any] | None = None) -> Pooled:
    """The process's app for `key` (a backend name), built from `config` the first time."""
    found = _pool.get(key)
    if found is None:
        assert config is not None, f"no {key} app built yet"
        app = create_app(config)
        found = Pooled(
            app=app,
            config=copy.deepcopy(dict(app.config)),
            extensions=dict(app.extensions),
            loader=app.jinja_env.loader,
            limiter_state=dict(vars(limiter)),
        )
        _pool[key] = found
    return found


def checkout(pool: Pooled, **config: Any) -> Flask:
    """The pooled app as freshly built, with `config` (this test's database URL, mailbox ...)
    on top, and a new engine on that database."""
    app = pool.app
    app.config.clear()
    app.config.update(copy.deepcopy(pool.config))
    app.config.update(config)
    app.extensions.clear()
    app.extensions.update(pool.extensions)
    if app.jinja_env.loader is not pool.loader:
        app.jinja_env.loader = pool.loader
        app.jinja_env.cache.clear()  # type: ignore[union-attr] - a LRUCache by default
    vars(limiter).clear()
    vars(limiter).update(pool.limiter_state)
    engines = db._app_engines[app]  # Flask-SQLAlchemy's engines for this app (no public setter)
    engines[None].dispose()
    engine = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"], **app.config["SQLALCHEMY_ENGINE_OPTIONS"])
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _no_fsync_per_commit)
    engines[None] = engine
    return app


def _no_fsync_per_commit(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    """The test's SQLite file syncs at checkpoints, not at every commit (`synchronous=NORMAL`
    in WAL mode: what a commit wrote survives a killed process, only a power cut can take it).

    The app keeps FULL (forum/core/extensions.py); here nothing outlives the test, and on the
    shared test machine an fsync per commit cost 8 ms of waiting against 0.01 ms."""
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")


def empty_all() -> None:
    """Delete every row of the current PostgreSQL schema (ours and others') and restart its
    sequences: each test starts on empty tables whose ids count from 1, as they did with
    `TRUNCATE ... RESTART IDENTITY CASCADE`.

    DELETE rather than TRUNCATE: TRUNCATE gives each of the ~60 tables and their indexes new
    files, which cost 2.2 s per test on the shared 2-core machine (load 17) against 0.2 s
    for the DELETEs of the few rows a test leaves; one round trip for all of them."""
    ours = [t.name for t in reversed(db.metadata.sorted_tables)]  # children before parents
    with db.engine.begin() as conn:
        present = conn.execute(
            sa.text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        ).scalars()
        others = [t for t in present if t not in set(ours)]  # e.g. apscheduler_jobs, outside our metadata
        deletes = [f'DELETE FROM "{name}"' for name in [*others, *ours]]  # noqa: S608 - table names: our metadata's and pg_tables'
        conn.exec_driver_sql(";".join(deletes))
        conn.execute(
            sa.text(
                "SELECT setval(format('%I.%I', schemaname, sequencename)::regclass, start_value, false)"
                " FROM pg_sequences WHERE schemaname = current_schema()"
            )
        )
