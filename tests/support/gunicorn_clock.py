"""gunicorn settings for the production-site tests (tests/support/production.py): the worker
takes "now" from the test process, which may have frozen it (`forum.core.clock.frozen`).

Loaded with ``--config python:tests.support.gunicorn_clock``; the app served is still the
real `wsgi:app` in production mode: only its clock source is the test's.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime
from typing import Any


def _test_now() -> datetime:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.connect(os.environ["FORUM_TEST_CLOCK"])
        answer = b""
        while chunk := conn.recv(64):
            answer += chunk
    return datetime.fromisoformat(answer.decode())


def post_worker_init(worker: Any) -> None:
    """The app is loaded by now; from here on its `clock.now()` is the test's."""
    from forum.core import clock  # noqa: PLC0415 - gunicorn reads this file before the app exists

    clock._source = _test_now
