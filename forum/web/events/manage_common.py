"""What every officer page of an event shares: the `manage` blueprint (under /manage,
signed-in officers only), the event and session lookups, and the small helpers the
event, session and panelist pages (manage.py, manage_sessions.py, manage_panelists.py)
all use. Other areas' officer pages reuse `get_event` and `require_officer` from here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, abort, render_template
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response
from wtforms import Field

from forum.core.extensions import db, login
from forum.events.editing import EventChangeError
from forum.models import Event, Session

bp = Blueprint("manage", __name__, url_prefix="/manage")

Page = str | tuple[str, int] | Response
Row = TypeVar("Row")


@bp.before_request
def require_officer() -> Response | None:
    """Every page here is for signed-in officers only."""
    if not current_user.is_authenticated:
        return login.unauthorized()
    return None


def officer_blueprint(name: str, import_name: str, url_prefix: str) -> Blueprint:
    """A blueprint of officer pages (another area's, under /manage): every page in it asks
    for sign-in first, as the events' own `manage` blueprint does."""
    blueprint = Blueprint(name, import_name, url_prefix=url_prefix)
    blueprint.before_request(require_officer)
    return blueprint


def get_event(slug: str) -> Event:
    event = db.session.scalar(
        select(Event)
        .where(Event.slug == slug)
        .options(selectinload(Event.sessions), selectinload(Event.panelist_links))
    )
    if event is None:
        abort(404, description=_("There is no event at “%(slug)s”.", slug=slug))
    return event


def officer_event(slug: str) -> Event:
    """`get_event` for a page on a blueprint open to everyone (sign-in asked for here)."""
    if not current_user.is_authenticated:
        abort(login.unauthorized())
    return get_event(slug)


def get_owned(
    model: type[Row],
    row_id: int | None,
    event: Event,
    missing: str,
    event_of: Callable[[Any], int] = lambda row: row.event_id,
) -> Row:
    """A row of an event's (a session, an announcement, a webhook...) by its id in the URL or
    form; a 404 saying `missing` when there is none or it belongs to another event, so an
    officer's page can never be pointed at another event's rows."""
    row = db.session.get(model, row_id) if row_id is not None else None
    if row is None or event_of(row) != event.id:
        abort(404, description=missing)
    return row


def get_session(event: Event, session_id: int | None) -> Session:
    return get_owned(Session, session_id, event, "That session is not part of this event.")


def bad_request(template: str, **context: object) -> tuple[str, int]:
    """Re-render a form page with its errors, as a 400 (nothing typed is lost)."""
    return render_template(template, **context), 400


def people(count: int) -> str:
    """`1 person`, `3 people`, in the officer's language (a phrase the flashes place in a sentence)."""
    return ngettext("%(num)d person", "%(num)d people", count)


def show_error(field: Field, error: EventChangeError) -> None:
    """Put a refused change next to the form field it is about (the service names it)."""
    db.session.rollback()  # nothing of the refused change is kept
    field.errors = [*field.errors, str(error)]
