"""Officer view of registrants, CSV import (CLI and upload) and export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from forum.cli import forum_cli
from forum.core import clock
from forum.core.extensions import db
from forum.models import Participant, Subscription
from forum.subscriptions import csv_import as subscriber_import
from forum.subscriptions import service
from tests.conftest import csrf_from
from tests.support.subscriptions import login_officer, make_event, outbox

# 10 data rows; lines 4 (bad email), 7 (unknown mode) and 9 (repeat of line 3) are bad.
CSV_WITH_3_BAD = """email,name,mode
jay@example.org,Jay L. Colbert,each
Jeannette.Ho@Example.org,Jeannette Ho,digest
not-an-email,Broken,each
euemduan@example.org,Euemduan Osmera,
nicole@example.org,"Smeltekop, Nicole",none
weekly@example.org,Wrong Mode,weekly
megan@example.org,Megan,each
JEANNETTE.HO@example.org,Jeannette again,each

last@example.org,,digest
"""


def test_cli_import_reports_bad_lines_and_never_duplicates(app: Flask, tmp_path) -> None:  # type: ignore[no-untyped-def]
    event = make_event()
    path = tmp_path / "people.csv"
    path.write_text(CSV_WITH_3_BAD)
    runner = app.test_cli_runner()
    result = runner.invoke(forum_cli, ["import-subscribers", event.slug, str(path)])
    assert result.exit_code == 0, result.output
    assert "line 4:" in result.output and "line 7:" in result.output and "line 9:" in result.output
    bad_lines = [ln for ln in result.output.splitlines() if ln.startswith("line ")]
    assert [ln.split(":")[0] for ln in bad_lines] == ["line 4", "line 7", "line 9"]
    assert "6 added, 0 already on the list, 3 skipped (of 9 rows)" in result.output

    subs = db.session.scalars(select(Subscription).order_by(Subscription.id)).all()
    assert len(subs) == 6
    assert {s.status for s in subs} == {"pending"} and {s.source for s in subs} == {"import"}
    modes = {s.participant.email: s.mode for s in subs}
    assert modes["Jeannette.Ho@example.org"] == "digest"
    assert modes["euemduan@example.org"] == "each"  # empty mode -> --mode default
    assert modes["nicole@example.org"] == "none"
    assert db.session.scalar(
        select(Participant.name).where(Participant.email_key == "nicole@example.org")
    ) == ("Smeltekop, Nicole")
    assert len(outbox("confirm")) == 6  # unconfirmed addresses are asked to confirm

    again = runner.invoke(forum_cli, ["import-subscribers", event.slug, str(path), "--confirmed"])
    assert again.exit_code == 0
    assert "0 added, 6 already on the list, 3 skipped" in again.output
    assert db.session.scalar(select(func.count(Participant.id))) == 6
    assert db.session.scalar(select(func.count(Subscription.id))) == 6


def test_cli_import_confirmed_into_second_event(app: Flask, tmp_path) -> None:  # type: ignore[no-untyped-def]
    first, second = make_event(), make_event(slug="series", title="Series")
    path = tmp_path / "people.csv"
    path.write_text(CSV_WITH_3_BAD)
    runner = app.test_cli_runner()
    runner.invoke(forum_cli, ["import-subscribers", first.slug, str(path), "--confirmed", "--mode", "digest"])
    assert outbox() == []  # the officer vouched: no mail
    subs = db.session.scalars(select(Subscription)).all()
    assert {s.status for s in subs} == {"active"}
    assert all(s.participant.confirmed_at for s in subs)
    assert {s.participant.email: s.mode for s in subs}["euemduan@example.org"] == "digest"
    # Register once: confirmed people imported into another event join at once with a welcome.
    result = runner.invoke(forum_cli, ["import-subscribers", second.slug, str(path)])
    assert "6 added" in result.output
    assert len(outbox("welcome")) == 6 and outbox("confirm") == []
    assert db.session.scalar(select(func.count(Participant.id))) == 6


def test_cli_import_errors(app: Flask, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "p.csv"
    path.write_text("email\n")
    result = app.test_cli_runner().invoke(forum_cli, ["import-subscribers", "nope", str(path)])
    assert result.exit_code != 0 and "no event with slug 'nope'" in result.output


def test_officer_page_needs_login(app: Flask, client: FlaskClient) -> None:
    event = make_event()
    resp = client.get(f"/manage/events/{event.slug}/subscribers")
    # a visitor is sent to sign in, and comes back here afterwards; no subscriber is shown
    assert resp.status_code == 302
    assert resp.headers["Location"].startswith("/login")
    assert f"/manage/events/{event.slug}/subscribers" in unquote(resp.headers["Location"])


def test_officer_page_counts_chart_search_mode_remove(app: Flask, client: FlaskClient) -> None:
    event = make_event()
    day0 = datetime(2030, 1, 10, 15, tzinfo=UTC)
    for i, email in enumerate(["a@example.org", "b@example.org", "c@example.org"]):
        with clock.frozen(day0 + timedelta(days=i)):
            sub = service.subscribe(event, email, name=f"Person {i}", conduct_accepted=True)
            service.confirm(sub)
    service.subscribe(event, "pending@example.org", conduct_accepted=True)
    db.session.commit()
    login_officer(client)
    with clock.frozen(day0 + timedelta(days=4)):
        page = client.get(f"/manage/events/{event.slug}/subscribers")
    assert page.status_code == 200
    html = page.data.decode()
    assert "<svg" in html and 'role="img"' in html and "Active subscribers per day" in html
    assert "1/10/2030" in html and "1/14/2030" in html  # x-axis from first sign-up to today
    assert "<td>1/12/2030</td><td>1</td><td>0</td><td>3</td>" in html  # text alternative
    assert "Waiting for confirmation</th><td>1</td>" in html
    assert "Active</th><td>3</td>" in html

    found = client.get(f"/manage/events/{event.slug}/subscribers?q=PERSON 1").data.decode()
    assert "b@example.org" in found and "a@example.org" not in found

    b = db.session.scalar(
        select(Subscription).join(Participant).where(Participant.email_key == "b@example.org")
    )
    token = csrf_from(html)
    resp = client.post(
        f"/manage/events/{event.slug}/subscribers/{b.id}/mode", data={"csrf_token": token, "mode": "digest"}
    )
    assert resp.status_code == 303
    resp = client.post(f"/manage/events/{event.slug}/subscribers/{b.id}/remove", data={"csrf_token": token})
    assert resp.status_code == 303
    db.session.expire_all()
    assert b.mode == "digest" and b.status == "unsubscribed"
    after = client.get(f"/manage/events/{event.slug}/subscribers").data.decode()
    assert "Left</th><td>1</td>" in after and "b@example.org now gets: Daily digest" in after


def test_upload_import_and_export(app: Flask, client: FlaskClient) -> None:
    event = make_event()
    login_officer(client)
    page = client.get(f"/manage/events/{event.slug}/subscribers")
    token = csrf_from(page.data)
    empty = client.post(f"/manage/events/{event.slug}/subscribers/import", data={"csrf_token": token})
    assert empty.status_code == 400 and b"Choose a CSV file" in empty.data
    resp = client.post(
        f"/manage/events/{event.slug}/subscribers/import",
        data={
            "csrf_token": token,
            "mode": "each",
            "confirmed": "y",
            "file": (io.BytesIO(("\ufeff" + CSV_WITH_3_BAD).encode()), "people.csv"),
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code == 200
    html = resp.data.decode()
    assert "6 added" in html and "<td>4</td>" in html and "<td>7</td>" in html and "<td>9</td>" in html
    assert db.session.scalar(select(func.count(Subscription.id)).where(Subscription.status == "active")) == 6

    export = client.get(f"/manage/events/{event.slug}/subscribers/export.csv")
    assert export.status_code == 200 and export.mimetype == "text/csv"
    assert "attachment" in export.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(export.data.decode())))
    assert len(rows) == 6
    assert {r["email"] for r in rows} >= {"Jeannette.Ho@example.org", "last@example.org"}
    assert all(r["status"] == "active" and r["source"] == "import" for r in rows)


def test_repeats_across_batches_are_reported_and_memory_mark_respects_earlier_imports(app: Flask) -> None:
    event = make_event()
    first = subscriber_import.import_rows(
        event, ["email\n", "a@example.org\n", "b@example.org\n"], confirmed=True
    )
    assert first.added == 2
    lines = [
        "email,mode\n",
        "c@example.org,each\n",
        "d@example.org,\n",
        "A@example.org,\n",
        "c@example.org,\n",
    ]
    report = subscriber_import.import_rows(event, lines, batch_size=1)
    assert report.added == 2 and report.already == 1
    assert report.bad == [(5, "c@example.org appears earlier in the file.")]


def test_a_series_registrant_list_has_no_delivery_to_choose(app: Flask, client: FlaskClient) -> None:
    """A series has no list mail (sign-up and preferences offer no delivery), so its officer
    page shows no delivery counts, column or import choice, and an upload without one works."""
    series = make_event(slug="series", title="Webinar Series", kind="series")
    eforum = make_event()
    service.subscribe(series, "jay@example.org", conduct_accepted=True)
    db.session.commit()
    login_officer(client)
    page = client.get("/manage/events/series/subscribers").get_data(as_text=True)
    assert "jay@example.org" in page
    for word in ("Active subscribers by delivery", ">Delivery<", "Delivery for", 'name="mode"', "digest"):
        assert word not in page, word
    resp = client.post(
        "/manage/events/series/subscribers/import",
        data={
            "csrf_token": csrf_from(page),
            "confirmed": "y",
            "file": (io.BytesIO(b"email,name\nann@example.org,Ann\n"), "people.csv"),
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code == 200 and "1 added" in resp.get_data(as_text=True)
    added = db.session.scalar(select(Subscription).join(Participant).where(Participant.email == "ann@example.org"))
    assert added is not None and (added.status, added.mode) == ("active", "each")

    forum_page = client.get(f"/manage/events/{eforum.slug}/subscribers").get_data(as_text=True)
    assert "Active subscribers by delivery" in forum_page and 'name="mode"' in forum_page
