"""`flask db upgrade` builds the whole schema, and the models need no further migration."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import create_engine, inspect, text

from forum import create_app
from forum.core.extensions import db

from .conftest import BACKENDS, PG_URL, _pg_driver_url, make_config


@contextmanager
def _empty_database(backend: str, tmp_path) -> Iterator[Flask]:  # type: ignore[no-untyped-def]
    """An app context on a database with no tables yet: a SQLite file, or a fresh
    PostgreSQL schema dropped afterwards."""
    schema = None
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'migrated.db'}"
    else:
        url, schema = _pg_driver_url(PG_URL), f"mig_{uuid.uuid4().hex[:10]}"
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    app = create_app(make_config(url, schema, tmp_path))
    try:
        with app.app_context():
            yield app
            db.engine.dispose()
    finally:
        if schema:
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_upgrade_from_empty_then_nothing_to_do(backend: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with _empty_database(backend, tmp_path) as app:
        upgrade()
        tables = set(inspect(db.engine).get_table_names())
        assert {t.name for t in db.metadata.sorted_tables} <= tables
        with db.engine.connect() as conn:
            env = app.extensions["migrate"].configure_args
            ctx = MigrationContext.configure(
                conn,
                opts={"compare_type": True, "include_name": _include_name(env)},
            )
            assert compare_metadata(ctx, db.metadata) == []
            if backend == "postgresql":  # outbox bodies use lz4, as create_all's tables do
                assert _message_compression(conn) == "l"


def _include_name(configure_args: dict):  # type: ignore[no-untyped-def]
    """The same filter migrations/env.py applies (APScheduler's table is not ours; the
    archive's full-text index is SQL the models cannot say)."""

    def include(name, type_, parents):  # type: ignore[no-untyped-def]
        if type_ == "table":
            return name != "apscheduler_jobs" and not name.startswith("post_fts")
        on_post = type_ in ("column", "index") and parents.get("table_name") == "post"
        search = {"search_language", "search_vector", "ix_post_search_vector", "search_pairs", "ix_post_search_pairs"}
        return not (on_post and name in search)

    return include


def _message_compression(conn) -> str:  # type: ignore[no-untyped-def]
    return conn.execute(
        text(
            "SELECT attcompression FROM pg_attribute"
            " WHERE attrelid = 'outbound_message'::regclass AND attname = 'message'"
        )
    ).scalar()


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b == "postgresql"])
def test_create_all_gives_outbox_bodies_lz4_on_postgresql(app, backend: str) -> None:  # type: ignore[no-untyped-def]
    with db.engine.connect() as conn:
        assert _message_compression(conn) == "l"


@pytest.mark.parametrize("backend", BACKENDS)
def test_old_rows_with_line_breaks_in_titles_are_cleaned(backend: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Titles that got in with CR/LF before the doors refused them are made one line."""
    from flask_migrate import downgrade

    with _empty_database(backend, tmp_path):
        upgrade(revision="0ecbec0e1bf4")
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO event (slug, kind, title, summary, description, learning_outcomes, audience,"
                    " registration_info, tech_requirements, conduct_url, contact_name, contact_email,"
                    " contact_phone, timezone, status, moderation, archive_public, reply_to_list, digest_hour,"
                    " reminder_offsets, created_at, updated_at)"
                    " VALUES ('x', 'eforum', :title, '', 'Two\nlines stay', '', '', '', '', '', 'Pat\tO', '', '',"
                    " 'UTC', 'draft', 'none', false, false, 18, '', :now, :now)"
                ),
                {"title": "Line one\r\nBcc: evil", "now": "2026-01-01 00:00:00+00:00"},
            )
        upgrade()
        with db.engine.connect() as conn:
            row = conn.execute(text("SELECT title, contact_name, description FROM event")).one()
        assert tuple(row) == ("Line one Bcc: evil", "Pat O", "Two\nlines stay")
        downgrade(revision="0ecbec0e1bf4")  # data only: the way down is a no-op
