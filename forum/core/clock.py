"""The one source of "now", so tests and `run-job --at` can move time without sleeping."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

_source: Callable[[], datetime] | None = None


def now() -> datetime:
    """Current instant, always timezone-aware UTC."""
    value = _source() if _source is not None else datetime.now(UTC)
    if value.tzinfo is None:
        raise ValueError("clock returned a naive datetime")
    return value.astimezone(UTC)


@contextmanager
def frozen(at: datetime | Callable[[], datetime]) -> Iterator[None]:
    """Pin `now()` to an instant (or a callable) for the duration of the block."""
    global _source
    previous = _source
    _source = at if callable(at) else (lambda: at)
    try:
        yield
    finally:
        _source = previous
