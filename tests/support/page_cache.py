"""The `cached` fixture (a pytest plugin, named in `tests/conftest.py`): every test of the
public pages' cache runs once with the copies in process memory and once in Redis, set up and
emptied the one way (test_page_cache, test_fast_pages)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from forum.web import page_cache

REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture(params=["memory", "redis"])
def cached(app: Flask, request: pytest.FixtureRequest) -> Iterator[str]:
    """The app with its page cache in process memory or in Redis (Flask-Caching)."""
    app.config["CACHE_URL"] = REDIS_URL if request.param == "redis" else ""
    app.extensions.pop("forum_page_cache", None)
    yield request.param
    page_cache.store().clear()
