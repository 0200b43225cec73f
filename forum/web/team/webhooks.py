"""/manage/events/<slug>/webhooks: an event's endpoints (add, remove) and each one's delivery
log; /manage/webhooks: the same for the site-wide ones (every event, and pathway steps). The
guard checks `webhooks.manage` on the event, or the site administrator, first; the rules live
in forum.team.webhooks."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import SelectMultipleField, URLField
from wtforms.validators import InputRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from forum.core.extensions import db
from forum.core.validation import CheckedForm
from forum.models import Event, WebhookDelivery, WebhookEndpoint
from forum.team import webhooks
from forum.web.forms import STRIP, ConfirmForm, choices

bp = Blueprint("webhooks", __name__, url_prefix="/manage")

LOG_ROWS = 100


class EndpointForm(CheckedForm):
    url = URLField(
        "Address (URL)",
        validators=[InputRequired("Enter the address that receives the notices."), Length(max=500)],
        filters=STRIP,
    )
    kinds = SelectMultipleField(
        "Send",
        choices=choices(webhooks.KIND_LABELS),
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )


def _event(slug: str) -> Event:
    event = Event.by_slug(slug)
    if event is None:
        abort(404, description=f"There is no event at “{slug}”.")
    return event


def _endpoint(event: Event | None, endpoint_id: int) -> WebhookEndpoint:
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.event_id != (event.id if event else None):
        abort(404, description="That webhook is not one of these.")
    return endpoint


def _where(event: Event | None) -> dict[str, Any]:
    """The template's link names and arguments: an event's pages, or the site's."""
    return (
        {"prefix": "webhooks.", "where": {"slug": event.slug}}
        if event
        else {"prefix": "webhooks.site_", "where": {}}
    )


def _back(event: Event | None, endpoint_id: int | None = None) -> str:
    names = _where(event)
    if endpoint_id is None:
        return url_for(names["prefix"] + "index", **names["where"])
    return url_for(names["prefix"] + "endpoint", endpoint_id=endpoint_id, **names["where"])


@bp.route("/events/<slug>/webhooks", methods=["GET", "POST"])
def index(slug: str) -> tuple[str, int] | Response:
    return _index(_event(slug))


@bp.route("/webhooks", methods=["GET", "POST"])
def site_index() -> tuple[str, int] | Response:
    return _index(None)


def _index(event: Event | None) -> tuple[str, int] | Response:
    form = EndpointForm()
    if form.validate_on_submit():
        try:
            endpoint = webhooks.add_endpoint(
                event, form.url.data or "", list(form.kinds.data or []), by_id=current_user.id
            )
        except webhooks.WebhookError as exc:
            db.session.rollback()
            form.url.errors = [*form.url.errors, str(exc)]
        else:
            db.session.commit()
            flash(
                "Added. Its signing secret is on its page; deliveries start with the next change.", "success"
            )
            return redirect(_back(event, endpoint.id), code=303)
    return render_template(
        "team/webhooks.html",
        event=event,
        form=form,
        endpoints=webhooks.endpoints_for(event),
        labels=webhooks.KIND_LABELS,
        **_where(event),
    ), 400 if form.errors else 200


@bp.route("/events/<slug>/webhooks/<int:endpoint_id>")
def endpoint(slug: str, endpoint_id: int) -> str:
    return _endpoint_page(_event(slug), endpoint_id)


@bp.route("/webhooks/<int:endpoint_id>")
def site_endpoint(endpoint_id: int) -> str:
    return _endpoint_page(None, endpoint_id)


def _endpoint_page(event: Event | None, endpoint_id: int) -> str:
    found = _endpoint(event, endpoint_id)
    log = db.session.scalars(
        select(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == found.id)
        .order_by(WebhookDelivery.id.desc())
        .limit(LOG_ROWS)
    ).all()
    return render_template(
        "team/webhook.html",
        event=event,
        endpoint=found,
        log=log,
        labels=webhooks.KIND_LABELS,
        button=ConfirmForm(),
        **_where(event),
    )


@bp.route("/events/<slug>/webhooks/<int:endpoint_id>/remove", methods=["POST"])
def remove(slug: str, endpoint_id: int) -> Response:
    return _remove(_event(slug), endpoint_id)


@bp.route("/webhooks/<int:endpoint_id>/remove", methods=["POST"])
def site_remove(endpoint_id: int) -> Response:
    return _remove(None, endpoint_id)


def _remove(event: Event | None, endpoint_id: int) -> Response:
    found = _endpoint(event, endpoint_id)
    if not ConfirmForm().validate_on_submit():
        abort(400, description="The form expired; reload the page and try again.")
    db.session.delete(found)
    db.session.commit()
    flash("Removed; nothing more goes to that address.", "success")
    return redirect(_back(event), code=303)
