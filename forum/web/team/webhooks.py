"""/manage/events/<slug>/webhooks: an event's endpoints (add, remove) and each one's delivery
log. The guard checks `webhooks.manage` first; the rules live in forum.team.webhooks."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
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
from forum.web.events.manage_common import get_event, get_owned
from forum.web.forms import STRIP, ConfirmForm, choices, submitted
from forum.web.helpers import form_page

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


def _endpoint(event: Event, endpoint_id: int) -> WebhookEndpoint:
    return get_owned(WebhookEndpoint, endpoint_id, event, "That webhook is not one of this event's.")


@bp.route("/events/<slug>/webhooks", methods=["GET", "POST"])
def index(slug: str) -> tuple[str, int] | Response:
    event = get_event(slug)
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
            return redirect(url_for("webhooks.endpoint", slug=slug, endpoint_id=endpoint.id), code=303)
    return form_page(
        "team/webhooks.html",
        form,
        event=event,
        endpoints=webhooks.endpoints_for(event),
        labels=webhooks.KIND_LABELS,
    )


@bp.route("/events/<slug>/webhooks/<int:endpoint_id>")
def endpoint(slug: str, endpoint_id: int) -> str:
    event = get_event(slug)
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
    )


@bp.route("/events/<slug>/webhooks/<int:endpoint_id>/remove", methods=["POST"])
def remove(slug: str, endpoint_id: int) -> Response:
    event = get_event(slug)
    found = _endpoint(event, endpoint_id)
    submitted(ConfirmForm())
    db.session.delete(found)
    db.session.commit()
    flash("Removed; nothing more goes to that address.", "success")
    return redirect(url_for("webhooks.index", slug=slug), code=303)
