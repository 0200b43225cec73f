"""What every benchmark in bench/ shares: a database it may wreck, the standard config,
peak memory, and timing summaries.

A benchmark is pointed at a database with --database-url, so it must never touch what
is already there: `bench_app` works in a throw-away SQLite file, or in a PostgreSQL
schema of its own (search_path set per connection, as tests/conftest.py does) that it
creates and drops, even when the run fails or is interrupted. It never drops anything
it did not create.

The scripts run as `.venv/bin/python bench/<name>.py`, which puts bench/ first on
sys.path, so `from _support import ...` finds this module (after the script has put
the repository root on sys.path for `forum`).
"""

from __future__ import annotations

import os
import re
import resource
import statistics
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from forum import create_app
from forum.core.extensions import db

BASE_URL = "https://forum.example.org"
LIST_DOMAIN = "lists.forum.example.org"


def standard_config(workdir: str) -> dict[str, Any]:
    """Settings every benchmark runs with; mail goes to a dev mailbox under `workdir`."""
    return {
        "FORUM_ENV": "development",  # the dev mailbox and a fixed key; production is the default
        "SECRET_KEY": "bench",
        "BASE_URL": BASE_URL,
        "LIST_DOMAIN": LIST_DOMAIN,
        "MAIL_FROM": f"forum@{LIST_DOMAIN}",
        "MAIL_URL": "dev://",
        "DEV_MAILBOX_DIR": os.path.join(workdir, "devmail"),
        "RATELIMIT_ENABLED": False,
    }


def postgres_url(url: str) -> str:
    """The psycopg 3 form of a PostgreSQL URL; anything else is refused."""
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    raise SystemExit(f"--database-url must be a postgresql:// URL, not {url.split(':', 1)[0]}://...")


@contextmanager
def bench_app(database_url: str | None, name: str, **config: Any) -> Iterator[Flask]:
    """An app on freshly created tables (no app context pushed), cleaned up afterwards.

    No URL: a SQLite file in a temporary directory. A PostgreSQL URL: a new schema
    `bench_<name>_<pid>` in that database, dropped at the end. `config` overrides the
    standard settings.
    """
    if not re.fullmatch(r"[a-z0-9_]+", name):
        raise ValueError(f"benchmark name {name!r}: lowercase letters, digits and _ only")
    with tempfile.TemporaryDirectory(prefix=f"forum-bench-{name}-") as workdir:
        settings = standard_config(workdir) | config
        if not database_url:
            settings["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{workdir}/bench.db"
            app = create_app(settings)
            try:
                with app.app_context():
                    db.create_all()
                yield app
            finally:
                _close(app)
            return
        url = postgres_url(database_url)
        schema = f"bench_{name}_{os.getpid()}"
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        try:
            _create_schema(admin, schema)
            try:
                settings["SQLALCHEMY_DATABASE_URI"] = url
                settings["SQLALCHEMY_ENGINE_OPTIONS"] = {
                    "pool_pre_ping": True,
                    "connect_args": {"options": f"-csearch_path={schema}"},
                }
                app = create_app(settings)
                try:
                    with app.app_context():
                        db.create_all()
                    yield app
                finally:
                    _close(app)
            finally:
                _drop_schema(admin, schema)
        finally:
            admin.dispose()


def _create_schema(admin: Engine, schema: str) -> None:
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except SQLAlchemyError as exc:  # e.g. it exists already: it is not ours to use or drop
        raise SystemExit(f"cannot create schema {schema}: {exc.orig or exc}") from exc


def _drop_schema(admin: Engine, schema: str) -> None:
    """Drop our schema; if something still holds a lock on it, say so rather than hang."""
    try:
        with admin.connect() as conn:
            conn.execute(text("SET lock_timeout = '30s'"))
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    except SQLAlchemyError as exc:
        print(f"could not drop schema {schema} ({exc.orig or exc}); drop it by hand", file=sys.stderr)


def _close(app: Flask) -> None:
    """Give back every pooled connection, so the schema (or file) can go."""
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def peak_rss_mb() -> float:
    """The process's peak resident memory so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def median_p95(times: list[float]) -> tuple[float, float]:
    """Median and 95th percentile (nearest rank) of a list of timings."""
    ordered = sorted(times)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
