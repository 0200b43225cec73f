"""An app of its own with rate limits on: the suite's apps run with them off."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask

from forum import create_app
from forum.core.extensions import db, limiter
from tests.conftest import make_config


@contextmanager
def rate_limited_app(tmp_path: Path, **settings: object) -> Iterator[Flask]:
    """For the block: an app with RATELIMIT_ENABLED (plus `settings`), its tables in a SQLite
    file of its own, and a limiter that starts and ends empty."""
    config = make_config(f"sqlite:///{tmp_path / 'limits.db'}", None, tmp_path)
    config.update(RATELIMIT_ENABLED=True, **settings)
    application = create_app(config)
    with application.app_context():
        db.create_all()
        limiter.reset()
    try:
        yield application
    finally:
        with application.app_context():
            limiter.reset()
            db.engine.dispose()
