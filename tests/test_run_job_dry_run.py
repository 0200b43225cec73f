"""`flask forum run-job KIND --at ISO --dry-run`: what a job would do at a future instant, with
the mail it would send, and nothing stored; a future --at without it is refused, so no page or
stored status can claim that a future job already ran."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from forum.core.extensions import db
from forum.models import Attendance, Certificate, FanOut, JobRun, OutboundMessage
from tests.support.ce import after_end, attended, register, series
from tests.support.live import make_officer, sign_in

STORED = (Certificate, JobRun, OutboundMessage, FanOut)


def counts() -> dict[str, int]:
    return {m.__name__: db.session.scalar(select(func.count()).select_from(m)) or 0 for m in STORED}


def test_dry_run_prints_the_certificate_mail_and_stores_nothing(app: Flask, client: FlaskClient) -> None:
    ev = series(title="Cataloging Now")  # in 2030: far in the future
    for name in ("Ana", "Bo"):
        sub = register(ev, f"{name.lower()}@example.org", name)
        for s in ev.active_sessions:
            attended(sub, s)
    before = counts()
    runner = app.test_cli_runner()
    at = after_end(ev, days=2).isoformat()

    result = runner.invoke(args=["forum", "run-job", "ce", "--at", at, "--dry-run"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "to ana@example.org" in out and "to bo@example.org" in out
    assert "Subject: " in out and "Your certificate" in out
    assert re.search(r"Attached: certificate-cataloging-series-\w{4}-\w{4}-\w{4}\.pdf", out)
    assert "4.5 continuing-education hours" in out  # the rendered text, not a summary
    assert "would be queued; nothing was stored" in out
    code = re.search(r"verification code (\w{4}-\w{4}-\w{4})", out)
    assert code is not None

    db.session.expire_all()
    assert counts() == before == dict.fromkeys(before, 0)
    assert db.session.scalar(select(func.count()).select_from(Attendance)) == 6  # the caller's rows stay
    verify = client.get(f"/certificates/{code.group(1)}")
    assert verify.status_code == 404 and "genuine" not in verify.get_data(as_text=True)
    make_officer()
    sign_in(client)
    page = client.get(f"/manage/events/{ev.slug}/attendance/").get_data(as_text=True)
    assert "0 certificates issued so far; 0 mailed." in page

    again = runner.invoke(args=["forum", "run-job", "ce", "--at", at, "--dry-run"])
    assert again.exit_code == 0 and "to ana@example.org" in again.output  # nothing was marked done


def test_a_future_at_without_dry_run_is_refused_and_stores_nothing(app: Flask) -> None:
    ev = series()
    sub = register(ev, "ana@example.org", "Ana")
    for s in ev.active_sessions:
        attended(sub, s)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["forum", "run-job", "ce", "--at", after_end(ev, days=2).isoformat()])
    assert result.exit_code == 2
    assert "is in the future" in result.output and "--dry-run" in result.output
    db.session.expire_all()
    assert counts() == dict.fromkeys(counts(), 0)


def test_the_outbox_job_has_no_dry_run_and_help_lists_every_kind(app: Flask) -> None:
    from forum.scheduling.jobs import KINDS

    runner = app.test_cli_runner()
    refused = runner.invoke(args=["forum", "run-job", "outbox", "--dry-run"])
    assert refused.exit_code == 2 and "sends mail, which cannot be taken back" in refused.output
    helped = runner.invoke(args=["forum", "run-job", "--help"])
    assert helped.exit_code == 0 and "--dry-run" in helped.output
    listed = helped.output.split("Job kinds:")[1]
    assert all(kind in listed for kind in KINDS), listed
