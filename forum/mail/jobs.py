"""The mail area's scheduler jobs: drain the outbox, and forget old mail's text.

Registered here (not in `sender` or `retention`) so those modules stay about sending and
clearing; `forum/scheduling/jobs.py` imports this module, which is all a job needs to run.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime

from forum.common.jobs import JobReport, register_job
from forum.mail.retention import clear_old_messages, cutoff
from forum.mail.sender import send_due
from forum.models import Event


def drain_outbox(at: datetime, report: JobReport, event: Event | None = None) -> None:
    """The `outbox` job: write pending fan-outs' copies (a receiver of `sending_due`), send."""
    result = send_due(worker_id=f"scheduler:{socket.gethostname()}:{os.getpid()}")
    if result.processed:  # quiet when there was nothing to send
        report.add(f"outbox: {result}", result.sent)


def retention(at: datetime, report: JobReport, event: Event | None = None) -> None:
    """Drop the bytes of mail sent long before `at`; the rows stay (see forum.mail.retention)."""
    cleared = clear_old_messages(at)
    if cleared:
        report.add(
            f"retention: cleared the text of {cleared} message(s) sent before {cutoff(at).isoformat()}"
        )


register_job("outbox", "write pending fan-outs' copies, send queued mail", drain_outbox)
register_job("retention", "clear the text of mail sent more than MAIL_KEEP_DAYS ago", retention)
