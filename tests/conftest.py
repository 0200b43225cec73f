"""Shared fixtures: a real database per test (SQLite file, and PostgreSQL when
TEST_DATABASE_URL is set), the app, its test client, and small helpers.

PostgreSQL runs get a private schema per pytest process so parallel runs never
see each other's rows.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from werkzeug.test import TestResponse

from forum.core import clock
from forum.core.extensions import db
from forum.core.i18n import compile_catalogs
from forum.web import page_cache
from tests.support import app_pool
from tests.support.smtp import use_test_templates

#: Every calendar the suite makes is also read by a second, independent parser; the page cache's
#: tests share the `cached` fixture (memory or Redis).
pytest_plugins = ["tests.support.calendar_check", "tests.support.page_cache"]

def pytest_configure(config: pytest.Config) -> None:
    """The gettext catalogs are compiled from the committed .po files (as `make` does)."""
    compile_catalogs()


PG_URL = os.environ.get("TEST_DATABASE_URL", "")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


def _pg_driver_url(url: str) -> str:
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


@pytest.fixture(scope="session")
def pg_schema() -> Iterator[tuple[str, str]]:
    """(url, schema) of a fresh schema in the test database, dropped at the end."""
    url = _pg_driver_url(PG_URL)
    schema = f"t_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield url, schema
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


_pg_tables_ready = False


def make_config(db_url: str, schema: str | None, tmp_path) -> dict:  # type: ignore[no-untyped-def]
    engine_options: dict = {"pool_pre_ping": True}
    if schema:
        # Commits do not wait for the shared server's WAL flush (8.6 ms against 2.3 ms each on
        # the test machine); what they wrote is visible to every session all the same.
        engine_options["connect_args"] = {"options": f"-csearch_path={schema} -csynchronous_commit=off"}
    return {
        "TESTING": True,
        "FORUM_ENV": "development",  # production is the default; tests opt out like `make run`
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": db_url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
        "BASE_URL": "http://forum.test",
        "LIST_DOMAIN": "lists.forum.test",
        "MAIL_FROM": "forum@lists.forum.test",
        "MAIL_URL": "dev://",
        "DEV_MAILBOX_DIR": str(tmp_path / "devmail"),
        "RATELIMIT_ENABLED": False,
        "FORUM_TEST_SCHEMA": schema,
    }


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="session")
def sqlite_schema(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty SQLite database with the whole schema, made once per pytest process.

    `create_all` (46 tables, their indexes, the full-text tables and triggers) took as
    long as the rest of a test's set-up together; each test now gets a copy of this file,
    which is the same empty schema for a fraction of the cost. It is made through the
    process's SQLite app (tests/support/app_pool.py), which every SQLite test then reuses."""
    folder = tmp_path_factory.mktemp("schema")
    pool = app_pool.pooled("sqlite", make_config(f"sqlite:///{folder / 'forum.db'}", None, folder))
    with pool.app.app_context():
        db.create_all()
        db.session.remove()
        db.engine.dispose()  # closed: the file holds everything (no -wal/-journal left beside it)
    return folder / "forum.db"


@pytest.fixture
def app(backend: str, request: pytest.FixtureRequest, tmp_path) -> Iterator[Flask]:  # type: ignore[no-untyped-def]
    """An app on an empty, fully created schema; every row is gone after the test.

    The app object is the process's one for this backend, reset to how `create_app` left it
    (tests/support/app_pool.py): building one per test cost more than most tests."""
    global _pg_tables_ready
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_schema")
        shutil.copyfile(template, tmp_path / "forum.db")
        url, schema = f"sqlite:///{tmp_path / 'forum.db'}", None
    else:
        url, schema = request.getfixturevalue("pg_schema")
    config = make_config(url, schema, tmp_path)
    application = app_pool.checkout(app_pool.pooled(backend, config), **config)
    with application.app_context():
        if backend != "sqlite" and not _pg_tables_ready:
            db.create_all()
            _pg_tables_ready = True
        try:
            yield application
        finally:
            db.session.remove()
            page_cache.close(application)  # the version reader's own connections
            if backend != "sqlite":
                app_pool.truncate_all()
            db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture(autouse=True)
def _reset_clock() -> Iterator[None]:
    yield
    clock._source = None


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@pytest.fixture
def mail_app(app: Flask, smtp_server):  # type: ignore[no-untyped-def]
    """The app sending through the module's `smtp_server` fixture, with the test templates."""
    use_test_templates(app)
    app.config["MAIL_URL"] = smtp_server.url
    return app


@pytest.fixture
def signed_in(app: Flask, client: FlaskClient) -> FlaskClient:
    """A client signed in through the login form as the officer of tests.support.live."""
    from tests.support.live import make_officer, sign_in  # noqa: PLC0415 - live imports this module

    make_officer()
    assert sign_in(client).status_code == 302
    return client


def submit(
    client: FlaskClient, url: str, page: str | bytes, /, follow_redirects: bool = False, **fields: object
) -> TestResponse:
    """POST a form as the browser would: `fields` with the CSRF token of the `page` it is on
    (a file is a `(stream, filename)` pair: the body is multipart then). `follow_redirects`:
    answer with the page the browser lands on (where a flash message says what happened)."""
    return client.post(url, data={"csrf_token": csrf_from(page), **fields}, follow_redirects=follow_redirects)


def csrf_from(html: str | bytes) -> str:
    """The CSRF token in a rendered form, as a browser would submit it."""
    if isinstance(html, bytes):
        html = html.decode()
    match = CSRF_RE.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)
