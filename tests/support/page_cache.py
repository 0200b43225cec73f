"""The `cached` fixture (a pytest plugin, named in `tests/conftest.py`): every test of the
public pages' cache runs once with the copies in process memory and once in Redis, set up and
emptied the one way (test_page_cache, test_fast_pages)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from forum.web import page_cache

#: One Redis database per pytest-xdist worker (gw0: 15, gw1: 14 ...): the app prefixes its keys
#: with a hash of the database URL, which is the same for every worker on PostgreSQL (the schema
#: is a connect option), so two workers on one Redis database would read and clear each other's
#: pages (handed out one test at a time, a file's tests run on both workers at once).
REDIS_URL = f"redis://127.0.0.1:6379/{15 - int(os.environ.get('PYTEST_XDIST_WORKER', 'gw0')[2:]) % 15}"


@pytest.fixture(params=["memory", "redis"])
def cached(app: Flask, request: pytest.FixtureRequest) -> Iterator[str]:
    """The app with its page cache in process memory or in Redis (Flask-Caching)."""
    app.config["CACHE_URL"] = REDIS_URL if request.param == "redis" else ""
    app.extensions.pop("forum_page_cache", None)
    yield request.param
    page_cache.store().clear()


def returning_browser(app: Flask, client: FlaskClient) -> Callable[[], FlaskClient]:
    """A maker of new browsers that come back with `client`'s session cookie (as it is now):
    each answer is then compared from a browser the other door has not touched."""
    cookie = client.get_cookie("session")
    assert cookie is not None
    value = cookie.value

    def returning() -> FlaskClient:
        browser = app.test_client()
        browser.set_cookie("session", value)
        return browser

    return returning
