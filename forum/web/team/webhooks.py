"""/manage/events/<slug>/webhooks: an event's endpoints (add, remove) and each one's delivery
log; /manage/webhooks: the same for the site-wide ones (every event, and pathway steps). The
guard checks `webhooks.manage` on the event, or the site administrator, first; the rules live
in forum.team.webhooks."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
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
        _l("Address (URL)"),
        validators=[InputRequired(_l("Enter the address that receives the notices.")), Length(max=500)],
        filters=STRIP,
    )
    kinds = SelectMultipleField(
        _l("Send"),
        choices=choices(webhooks.KIND_LABELS),
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )


def _endpoint(event: Event | None, endpoint_id: int) -> WebhookEndpoint:
    if event is not None:
        return get_owned(WebhookEndpoint, endpoint_id, event, "That webhook is not one of this event's.")
    found = db.session.get(WebhookEndpoint, endpoint_id)
    if found is None or found.event_id is not None:
        abort(404, description=_("That webhook is not one of the site-wide ones."))
    return found


def _where(event: Event | None) -> dict[str, Any]:
    """The templates' link names and arguments: an event's pages, or the site's."""
    if event is not None:
        return {"prefix": "webhooks.", "where": {"slug": event.slug}}
    return {"prefix": "webhooks.site_", "where": {}}


def _back(event: Event | None, endpoint_id: int | None = None) -> str:
    names = _where(event)
    if endpoint_id is None:
        return url_for(names["prefix"] + "index", **names["where"])
    return url_for(names["prefix"] + "endpoint", endpoint_id=endpoint_id, **names["where"])


@bp.route("/events/<slug>/webhooks", methods=["GET", "POST"])
def index(slug: str) -> tuple[str, int] | Response:
    return _index(get_event(slug))


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
                _("Added. Its signing secret is on its page; deliveries start with the next change."), "success"
            )
            return redirect(_back(event, endpoint.id), code=303)
    return form_page(
        "team/webhooks.html",
        form,
        event=event,
        endpoints=webhooks.endpoints_for(event),
        labels=webhooks.KIND_LABELS,
        **_where(event),
    )


@bp.route("/events/<slug>/webhooks/<int:endpoint_id>")
def endpoint(slug: str, endpoint_id: int) -> str:
    return _endpoint_page(get_event(slug), endpoint_id)


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
    return _remove(get_event(slug), endpoint_id)


@bp.route("/webhooks/<int:endpoint_id>/remove", methods=["POST"])
def site_remove(endpoint_id: int) -> Response:
    return _remove(None, endpoint_id)


def _remove(event: Event | None, endpoint_id: int) -> Response:
    found = _endpoint(event, endpoint_id)
    submitted(ConfirmForm())
    db.session.delete(found)
    db.session.commit()
    flash(_("Removed; nothing more goes to that address."), "success")
    return redirect(_back(event), code=303)
