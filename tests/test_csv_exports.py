"""Every CSV export an officer opens in a spreadsheet: text that a registrant or a respondent
typed never starts a cell as a formula (`=`, `+`, `-`, `@`, a tab or carriage return)."""

from __future__ import annotations

import csv
import io

from flask import Flask
from flask.testing import FlaskClient

from forum.ce import evaluations
from forum.core import clock, spreadsheet
from forum.core.extensions import db
from tests.support.ce import after_end, register, series
from tests.support.live import make_officer, sign_in

HOSTILE = ("=cmd|'/Ccalc.exe'!A0@example.org", "=1+2@example.org", "-3+4@example.org", "+5+6@example.org")
HOSTILE_TEXT = ("@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1", "=HYPERLINK(\"http://x\")")


def _cells(client: FlaskClient, url: str) -> list[str]:
    answer = client.get(url)
    assert answer.status_code == 200 and answer.mimetype == "text/csv", url
    return [c for row in csv.reader(io.StringIO(answer.get_data(as_text=True))) for c in row]


def test_no_export_starts_a_cell_with_a_formula(app: Flask, client: FlaskClient) -> None:
    ev = series()
    subs = [register(ev, email, name) for email, name in zip(HOSTILE, HOSTILE_TEXT, strict=True)]
    evaluation = evaluations.create(ev)
    db.session.commit()
    text_question = evaluation.questions[4]
    with clock.frozen(after_end(ev, hours=1)):
        for sub, said in zip(subs, HOSTILE_TEXT, strict=True):
            evaluations.save_response(evaluation, sub, {f"q{text_question.id}": said})
    db.session.commit()
    make_officer()
    sign_in(client)

    for export in ("attendance/export.csv", "subscribers/export.csv", "evaluation/results.csv"):
        cells = _cells(client, f"/manage/events/{ev.slug}/{export}")
        typed = [c for c in cells if c.lstrip("'") in HOSTILE + HOSTILE_TEXT]
        assert typed, export  # the hostile text is there, as text
        assert all(c.startswith("'") for c in typed), (export, typed)
        assert not [c for c in cells if c.startswith(spreadsheet.FORMULA_STARTS)], export


def test_numbers_stay_numbers() -> None:
    out = io.StringIO()
    spreadsheet.writer(out).writerow([-3, 1.5, None, True, "-3", "a"])
    assert out.getvalue() == "-3,1.5,,yes,'-3,a\r\n"
