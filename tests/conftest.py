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


#: The longest tests, run first (a stable sort: the rest keep pytest's order). pytest-xdist
#: hands tests to its workers in collection order, one at a time (`--maxschedchunk=1` in
#: pyproject.toml), so each worker takes the next test as it finishes one: with the long ones
#: first, both workers end within a few short tests of each other, instead of one running a
#: long test collected late (the multi-host run, ~100 s) while the other sits idle.
#: Each entry is a node id prefix, longest first: the tests over 12 s in a full run on
#: 2026-12-07 (2 workers, machine load 12-17), with those seconds per run; on a quiet machine
#: they take about a quarter of that. Update it when a test becomes one of the longest.
LONGEST_FIRST: tuple[str, ...] = (
    "tests/test_api_contract.py::test_every_operation_keeps_its_documented_contract",  # 416
    "tests/browser/test_wcag.py::test_every_page_meets_wcag_22_aa_at_desktop_and_phone_widths",  # 287
    "tests/test_fanout.py::test_a_process_killed_between_accepting_and_writing_the_copies_misses_and_doubles_nobody",  # 150
    "tests/test_sender_crash.py::test_a_sender_killed_five_times_loses_nothing_and_repeats_at_most_the_bound",  # 149
    "tests/test_multihost.py::test_a_sender_and_the_scheduler_killed_on_six_hosts_lose_no_copy_and_repeat_within_the_bound",  # 81
    "tests/browser/test_officer_experience.py::test_changed_pages_have_no_serious_violations_with_a_brand_colour",  # 64
    "tests/browser/test_pathway_flow.py::test_an_officer_builds_a_pathway_and_a_learner_gets_step_one_by_mail",  # 55
    "tests/browser/test_mentoring_cycle.py::test_a_whole_mentoring_cycle",  # 52
    "tests/test_sender_crash.py::test_two_sender_processes_share_a_2000_copy_fan_out_exactly_once",  # 48
    "tests/browser/test_https_production.py::test_subscriber_journey_over_https_in_production",  # 46
    "tests/test_sender_crash.py::test_a_sender_paused_past_its_lease_sends_nothing_after_another_took_over",  # 37
    "tests/test_fanout.py::test_a_big_list_is_written_in_steps_that_resume_without_repeating",  # 37
    "tests/browser/test_waiting_list.py::test_webinar_pages_have_no_serious_accessibility_violations",  # 33
    "tests/browser/test_calendar_overview.py::test_a_reader_filters_the_calendar_by_topic",  # 30
    "tests/browser/test_keyboard.py::test_answer_the_evaluation_with_the_keyboard",  # 28
    "tests/browser/test_waiting_list.py::test_full_series_waiting_list_then_promotion_with_invite",  # 27
    "tests/browser/test_french_journey.py::test_a_french_participant_sees_every_page_mail_and_pdf_in_french",  # 27
    "tests/browser/test_accessibility.py::test_form_states_meet_wcag_22_aa",  # 26
    "tests/browser/test_two_factor.py::test_an_officer_turns_on_two_step_sign_in_and_then_needs_a_code",  # 24
    "tests/browser/test_registration_questions.py::test_officer_builds_a_conditional_form_and_a_registrant_fills_it",  # 23
    "tests/browser/test_ce_flow.py::test_participant_answers_the_evaluation_and_downloads_the_certificate",  # 23
    "tests/browser/test_keyboard.py::test_join_a_session_from_the_mail_with_the_keyboard",  # 22
    "tests/browser/test_ce_flow.py::test_officer_ce_pages_are_accessible_and_keep_to_the_csp",  # 21
    "tests/browser/test_keyboard.py::test_subscribe_to_an_e_forum_with_the_keyboard",  # 19
    "tests/browser/test_keyboard.py::test_register_for_a_series_with_the_keyboard",  # 18
    "tests/browser/test_subscriber_flow.py::test_a_visitor_subscribes_confirms_changes_delivery_and_leaves",  # 17
    "tests/browser/test_officer_flow.py::test_officer_publishes_an_eforum_and_a_visitor_sees_it_in_their_zone",  # 17
    "tests/test_architecture.py::test_no_import_circle_counting_every_import",  # 16
    "tests/test_fanout.py::test_a_big_cancellation_is_written_in_steps_that_resume_without_repeating",  # 14
    "tests/test_ce_credit.py::test_an_officer_downloads_any_registrants_certificate_with_the_same_hours",  # 12
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """LONGEST_FIRST's tests first, in its order."""

    def rank(item: pytest.Item) -> int:
        found = (i for i, prefix in enumerate(LONGEST_FIRST) if item.nodeid.startswith(prefix))
        return next(found, len(LONGEST_FIRST))

    items.sort(key=rank)


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
                app_pool.empty_all()
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
