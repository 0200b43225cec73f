"""Officer pages for an event's registrants: counts, sign-up chart, search, mode changes,
removal, CSV export (streamed) and CSV import (upload form; the CLI has the same import)."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask import (
    Response,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import func, or_, select
from sqlalchemy.orm import contains_eager
from wtforms import BooleanField, SelectField, SubmitField

from forum.core import clock, spreadsheet
from forum.core.extensions import db
from forum.core.timezones import format_date, to_zone
from forum.core.validation import CheckedForm
from forum.mail import bounces
from forum.models import DELIVERY_MODES, Event, Participant, Subscription
from forum.models.participants import SUBSCRIPTION_STATUSES
from forum.registration.export import answers_by_subscription, export_questions
from forum.subscriptions import csv_import as subscriber_import
from forum.subscriptions import service
from forum.subscriptions.state import status_counts
from forum.web.charts import Plot, nice_max
from forum.web.events.manage_common import get_event, get_owned, officer_blueprint
from forum.web.helpers import button_post
from forum.web.subscriptions.pages import mode_choices

bp = officer_blueprint("subscribers", __name__, "/manage/events/<slug>/subscribers")

PAGE_SIZE = 200
STATUS_LABELS = {
    "pending": "Waiting for confirmation",
    "awaiting": "Waiting for approval",
    "active": "Active",
    "waitlisted": "On the waiting list",
    "unsubscribed": "Left",
    "declined": "Declined",
    "disabled": "Disabled (bounces)",
}






def get_subscription(event: Event, sub_id: int) -> Subscription:
    return get_owned(Subscription, sub_id, event, "That person is not registered for this event.")


def _subscriber(slug: str, sub_id: int) -> tuple[Event, Subscription]:
    """The event of this page and the registration a button is about (404 if not its)."""
    event = get_event(slug)
    return event, get_subscription(event, sub_id)


# --- forms -------------------------------------------------------------------------------


class ModeForm(CheckedForm):
    mode = SelectField(_l("Delivery"), choices=mode_choices())


class RemoveForm(CheckedForm):
    submit = SubmitField(_l("Remove"))


class ImportForm(CheckedForm):
    file = FileField(_l("CSV file"), validators=[FileRequired("Choose a CSV file to import.")])
    mode = SelectField(_l("Delivery for rows without a mode"), choices=mode_choices(), default="each")
    confirmed = BooleanField(
        _l("These people have already agreed to join (mark them confirmed; no mail is sent)")
    )
    submit = SubmitField(_l("Import"))


# --- the page ------------------------------------------------------------------------------


def mode_counts(event: Event) -> dict[str, int]:
    """Delivery modes of active subscribers (who actually get mail)."""
    rows = db.session.execute(
        select(Subscription.mode, func.count())
        .where(Subscription.event_id == event.id, Subscription.is_active)
        .group_by(Subscription.mode)
    ).all()
    counts = dict.fromkeys(DELIVERY_MODES, 0)
    counts.update({mode: n for mode, n in rows})
    return counts


def search(event: Event, q: str, status: str) -> tuple[list[Subscription], int]:
    query = select(Subscription).join(Participant).where(Subscription.event_id == event.id)
    if q:
        needle = q.strip().lower()
        query = query.where(
            or_(
                Participant.email_key.contains(needle, autoescape=True),
                func.lower(Participant.name).contains(needle, autoescape=True),
            )
        )
    if status in SUBSCRIPTION_STATUSES:
        query = query.where(Subscription.status == status)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    # the join already has each row's participant: load it with the row, not one query per row
    rows = db.session.scalars(
        query.options(contains_eager(Subscription.participant))
        .order_by(Participant.email_key)
        .limit(PAGE_SIZE)
    ).all()
    return list(rows), total


def render_page(event: Event, import_form: ImportForm | None = None, status_code: int = 200) -> Any:
    """The subscribers page; re-rendered with the import form's errors when an upload fails."""
    q = request.args.get("q", "")
    status = request.args.get("status", "")
    rows, total = search(event, q, status)
    page = render_template(
        "subscribers/index.html",
        event=event,
        q=q,
        status=status,
        rows=rows,
        total=total,
        page_size=PAGE_SIZE,
        statuses=STATUS_LABELS,
        modes=DELIVERY_MODES,
        by_status=status_counts(event),
        by_mode=mode_counts(event),
        chart=signup_chart(event),
        import_form=import_form or ImportForm(formdata=None),
        action_form=RemoveForm(formdata=None),
    )
    return page, status_code


@bp.route("")
def index(slug: str) -> Any:
    return render_page(get_event(slug))


# --- actions on one subscriber ----------------------------------------------------------


def _back_url(slug: str) -> str:
    """The subscribers page as the officer left it (search and status filter kept)."""
    return url_for(".index", slug=slug, q=request.form.get("q") or None, status=request.form.get("status") or None)


def _back(slug: str) -> Any:
    return redirect(_back_url(slug), code=303)


@bp.route("/<int:sub_id>/mode", methods=["POST"])
def change_mode(slug: str, sub_id: int) -> Any:
    _event, sub = _subscriber(slug, sub_id)
    form = ModeForm()
    if form.validate_on_submit():
        service.change_mode(sub, form.mode.data)
        db.session.commit()
        flash(_("%(email)s now gets: %(mode_label)s.", email=sub.participant.email, mode_label=sub.mode_label))
    else:
        flash(_("Choose one of the delivery modes."), "error")
    return _back(slug)


@bp.route("/<int:sub_id>/remove", methods=["POST"])
def remove(slug: str, sub_id: int) -> Any:
    """Take someone off the list; the row stays (as "left") so history and counts hold."""
    event, sub = _subscriber(slug, sub_id)
    done = _("%(email)s was removed from %(event)s.", email=sub.participant.email, event=event.title)
    return button_post(lambda: service.unsubscribe(sub), done, _back_url(slug))


@bp.route("/<int:sub_id>/reenable", methods=["POST"])
def reenable(slug: str, sub_id: int) -> Any:
    """Put an address disabled by bounces back on the list (its bounce count cleared)."""
    _event, sub = _subscriber(slug, sub_id)
    if RemoveForm().validate_on_submit():
        if bounces.reenable(sub):
            db.session.commit()
            flash(_("%(email)s gets mail again.", email=sub.participant.email))
        else:
            flash(_("%(email)s was not disabled by bounces.", email=sub.participant.email), "error")
    return _back(slug)


# --- CSV export and import ------------------------------------------------------------

EXPORT_COLUMNS = (
    "email",
    "name",
    "mode",
    "status",
    "source",
    "subscribed_at",
    "confirmed_at",
    "unsubscribed_at",
    "conduct_accepted_at",
    "conduct_url",
    "timezone",
)


def export_rows(event: Event, *, include_sensitive: bool = False) -> Iterator[str]:
    """CSV lines, read from the database in chunks so a big list never sits in memory; one
    column per registration question (sensitive ones only when asked), filled one chunk of
    500 registrations at a time with one query."""
    buffer = io.StringIO()
    writer = spreadsheet.writer(buffer)  # formula-safe, as every export
    questions = export_questions(event, include_sensitive=include_sensitive)
    writer.writerow([*EXPORT_COLUMNS, *(q.label for q in questions)])
    query = (
        select(
            Subscription.id,
            Participant.email,
            Participant.name,
            Subscription.mode,
            Subscription.status,
            Subscription.source,
            Subscription.created_at,
            Subscription.confirmed_at,
            Subscription.unsubscribed_at,
            Subscription.conduct_accepted_at,
            Subscription.conduct_url,
            Participant.timezone,
        )
        .join(Participant)
        .where(Subscription.event_id == event.id)
        .order_by(Subscription.id)
        .execution_options(yield_per=1000)
    )
    chunk: list[Any] = []

    def flush() -> str:
        found = answers_by_subscription([row[0] for row in chunk], questions)
        for row in chunk:
            given = found.get(row[0], {})
            writer.writerow([*row[1:], *(given.get(q.id, "") for q in questions)])
        chunk.clear()
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    for row in db.session.execute(query):
        chunk.append(row)
        if len(chunk) == 500:
            yield flush()
    yield flush()


@bp.route("/export.csv")
def export(slug: str) -> Response:
    event = get_event(slug)
    filename = f"{event.slug}-subscribers-{clock.now():%Y%m%d}.csv"
    include_sensitive = request.args.get("include_sensitive", "") in ("1", "true", "yes")
    return Response(
        stream_with_context(export_rows(event, include_sensitive=include_sensitive)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.route("/import", methods=["POST"])
def import_csv(slug: str) -> Any:
    event = get_event(slug)
    form = ImportForm()
    if not form.validate_on_submit():
        return render_page(event, import_form=form, status_code=400)
    upload = form.file.data
    text = io.TextIOWrapper(upload.stream, encoding="utf-8-sig", errors="replace", newline="")
    report = subscriber_import.import_rows(
        event, text, confirmed=bool(form.confirmed.data), mode=form.mode.data
    )
    return render_template(
        "subscribers/import_result.html", event=event, report=report, filename=upload.filename
    )


# --- sign-up chart -------------------------------------------------------------------------


@dataclass
class Chart:
    """Geometry for an inline SVG line chart, plus the data as text for screen readers."""

    width: int
    height: int
    points: str
    y_ticks: list[tuple[float, int]]
    x_ticks: list[tuple[float, str]]
    changes: list[tuple[str, int, int, int]]  # date, joined, left, total
    total: int
    first: str
    last: str
    plot: tuple[float, float, float, float]  # left, top, right, bottom


def daily_totals(
    event: Event, today: date
) -> tuple[list[tuple[date, int]], list[tuple[date, int, int, int]]]:
    """Cumulative active subscribers per day (event's zone), and the days that changed."""
    joined: Counter[date] = Counter()
    left: Counter[date] = Counter()
    rows = db.session.execute(
        select(
            Subscription.confirmed_at,
            Subscription.unsubscribed_at,
            Subscription.status,
            Subscription.updated_at,
        ).where(Subscription.event_id == event.id, Subscription.confirmed_at.is_not(None))
    )
    for confirmed_at, unsubscribed_at, status, updated_at in rows:
        assert confirmed_at is not None  # the query keeps confirmed subscriptions only
        joined[to_zone(confirmed_at, event.timezone).date()] += 1
        if status != "active":
            ended = unsubscribed_at or updated_at or confirmed_at
            left[to_zone(ended, event.timezone).date()] += 1
    days = sorted(set(joined) | set(left))
    if not days:
        return [], []
    series, changes, total = [], [], 0
    day = days[0]
    end = max(today, days[-1])
    while day <= end:
        if day in joined or day in left:
            total += joined[day] - left[day]
            changes.append((day, joined[day], left[day], total))
        series.append((day, total))
        day += timedelta(days=1)
    return series, changes


def signup_chart(event: Event) -> Chart | None:
    today = to_zone(clock.now(), event.timezone).date()
    series, changes = daily_totals(event, today)
    if not series:
        return None
    plot = Plot()
    y_max = nice_max(max(v for _, v in series))
    n = len(series)

    def x(i: int) -> float:
        return plot.left + (plot.right - plot.left) * (i / (n - 1) if n > 1 else 0.5)

    points = " ".join(f"{x(i):.1f},{plot.y(v, y_max):.1f}" for i, (_, v) in enumerate(series))
    x_idx = sorted({0, (n - 1) // 2, n - 1})
    x_ticks = [(x(i), format_date(series[i][0], weekday=False)) for i in x_idx]
    return Chart(
        width=plot.width,
        height=plot.height,
        points=points,
        y_ticks=plot.y_ticks(y_max),
        x_ticks=x_ticks,
        changes=[(format_date(d, weekday=False), j, lft, t) for d, j, lft, t in changes],
        total=series[-1][1],
        first=format_date(series[0][0], weekday=False),
        last=format_date(series[-1][0], weekday=False),
        plot=plot.box,
    )
