"""Two connections racing for the same rows: the lock tests of seats and approval."""

from __future__ import annotations

import threading
from collections.abc import Callable


def race(body: Callable[[str, bool], None], first: str, second: str, holding: threading.Event) -> None:
    """Run `body(first, True)` and `body(second, False)` in two threads and wait for both.

    The leading body sets `holding` once it holds the lock and the other waits for it; an
    error in either sets `holding` too (so the other stops waiting) and fails the test here.
    """
    errors: list[Exception] = []

    def run(email: str, lead: bool) -> None:
        try:
            body(email, lead)
        except Exception as exc:  # reported by the assertion below
            errors.append(exc)
            holding.set()

    threads = [
        threading.Thread(target=run, args=(first, True)),
        threading.Thread(target=run, args=(second, False)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
