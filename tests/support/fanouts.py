"""Fan-outs in tests: write the copies of pending fan-outs, as the scheduler's outbox job does."""

from __future__ import annotations

from forum.common.fanout import ExpandReport, expand_pending, pending_count


def write_fan_outs() -> ExpandReport | None:
    """What the outbox job does before sending: write every pending fan-out's copies (commits)."""
    if not pending_count():
        return None
    report = expand_pending()
    assert report.failed == 0, f"a fan-out failed: {report}"
    return report
