"""Each test gets the process's app (tests/support/app_pool.py) as if newly built: what one
test changes on it (settings, lazily made extension state, templates, the rate limiter, the
engine, rows) is gone for the next."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from flask import Flask, render_template
from jinja2 import TemplateNotFound
from sqlalchemy import func, select

from forum import create_app
from forum.core import tokens
from forum.core.extensions import db, limiter
from forum.models import Participant
from forum.web import page_cache
from tests.conftest import make_config
from tests.support import app_pool
from tests.support.smtp import use_test_templates


def test_what_a_test_changes_on_the_shared_app_is_gone_for_the_next(
    app: Flask, backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    pool = app_pool.pooled(backend)
    assert pool.app is app
    # What tests do: settings, a test-only mail template, state made on first use, a
    # rate-limited app of their own (the limiter is one global object), rows.
    app.config["MAIL_URL"] = "smtp://127.0.0.1:1"
    app.config["OIDC_ISSUER"] = "http://provider.test"
    use_test_templates(app)
    assert render_template("mail/test_plain.txt", body="hi") == "hi"
    first_store = page_cache.store()
    tokens.make_token("preferences", 1)
    assert {"forum_page_cache", "forum_tokens"} <= set(app.extensions) - set(pool.extensions)
    create_app({**app.config, "RATELIMIT_ENABLED": True})
    assert limiter.enabled
    first_engine = db.engine  # a listener a test forgot to remove goes with it
    db.session.add(Participant(email="left@example.org", email_key="left@example.org"))
    db.session.commit()
    db.session.remove()

    # The next test's start, as the `app` fixture makes it (its own SQLite file; PostgreSQL
    # emptied after each test).
    if backend == "sqlite":
        shutil.copyfile(request.getfixturevalue("sqlite_schema"), tmp_path / "next.db")
        url, schema = f"sqlite:///{tmp_path / 'next.db'}", None
    else:
        app_pool.empty_all()
        url, schema = request.getfixturevalue("pg_schema")
    config = make_config(url, schema, tmp_path / "next")
    assert app_pool.checkout(pool, **config) is app
    assert app.extensions == pool.extensions  # what was made on first use is made again

    assert app.config["MAIL_URL"] == "dev://" and "OIDC_ISSUER" not in app.config
    assert app.config["DEV_MAILBOX_DIR"] == str(tmp_path / "next" / "devmail")
    assert {key: app.config[key] for key in pool.config} == {**pool.config, **config}
    with pytest.raises(TemplateNotFound):
        render_template("mail/test_plain.txt", body="hi")
    assert page_cache.store() is not first_store
    assert not limiter.enabled
    assert str(db.engine.url) == url and db.engine is not first_engine
    assert db.session.scalar(select(func.count(Participant.id))) == 0
    again = Participant(email="next@example.org", email_key="next@example.org")
    db.session.add(again)
    db.session.commit()
    assert again.id == 1  # ids count from 1 again (on PostgreSQL: its sequences restarted)


def test_the_sqlite_app_gets_each_test_s_own_database_file(app: Flask, backend: str, tmp_path: Path) -> None:
    """Tests and the child processes they start find the database where they always did."""
    if backend == "sqlite":
        assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'forum.db'}"
        assert db.engine.url.database == str(tmp_path / "forum.db")
    else:
        assert app.config["SQLALCHEMY_DATABASE_URI"] == str(db.engine.url)
