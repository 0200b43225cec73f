"""Jinja filters and globals: the one place templates get Markdown, times and zones from."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from flask import Flask, current_app, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from sqlalchemy import func, select
from werkzeug.routing import BuildError
from werkzeug.wrappers import Response

from forum.common import branding
from forum.core import clock, i18n, timezones
from forum.core.extensions import db
from forum.core.text import lines, markdown
from forum.core.validation import CheckedForm
from forum.mail import texts as mail_texts
from forum.mail.links import post_url
from forum.models import Post

# The zone list and the lines under a session time live in timezones.py (business modules
# use them too); re-exported here for the web modules and templates.
T = TypeVar("T")
display_zones = timezones.display_zones
session_zone_lines = timezones.session_zone_lines


class _Button(CheckedForm):
    """A bare POST button: the CSRF token is all there is to check."""


def confirm_page(template: str, row: Any, confirm: Callable[[Any], object], **context: Any) -> str:
    """The page of a signed confirmation link: GET shows a button, its POST confirms a
    pending `row` (`confirm`, committed), so a link scanner fetching URLs in mail never
    confirms on someone's behalf. The button's form is `form` in the template."""
    form = _Button()
    if row.status == "pending" and form.validate_on_submit():
        confirm(row)
        db.session.commit()
    return render_template(template, form=form, **context)


def form_page(template: str, form: FlaskForm, *, invalid: int = 400, **context: Any) -> tuple[str, int]:
    """A page with a form: `invalid` (400, or 422) when the form comes back with errors, so a
    refused POST is never answered as a success; the form is `form` in the template."""
    return render_template(template, form=form, **context), invalid if form.errors else 200


@dataclass(frozen=True)
class Kept(Generic[T]):
    """A change that was committed, with what the service returned."""

    value: T


Refusals = type[Exception] | tuple[type[Exception], ...]


def commit_or_flash(change: Callable[[], T], refused: Refusals = ()) -> Kept[T] | None:
    """Make `change` (a service call) and commit it. A refusal the service raises (one of
    `refused`) keeps nothing (rolled back) and is shown as an error message: None. Every
    officer and follower button that can be refused goes through this."""
    return commit_or_show(change, refused, lambda exc: flash(str(exc), "error"))


def commit_or_show(
    change: Callable[[], T], refused: Refusals, show: Callable[[Any], object]
) -> Kept[T] | None:
    """`commit_or_flash` for a form: a refusal is handed to `show` (which puts it next to the
    field it names) instead of a flash message; nothing is kept."""
    try:
        value = change()
    except refused as exc:
        db.session.rollback()
        show(exc)
        return None
    db.session.commit()
    return Kept(value)


def button_post(change: Callable[[], object], done: str, to: str, refused: Refusals = ()) -> Response:
    """A one-button POST (create, remove, promote ...): when its CSRF token checks out, make
    `change` (a service call), commit and say `done` (if anything); back to `to` either way
    (a refusal among `refused` is said as an error, nothing kept)."""
    if _Button().validate_on_submit() and commit_or_flash(change, refused) and done:
        flash(done)
    return redirect(to, code=303)


def in_zone(instant: datetime, zone: str, fmt: str = "full") -> str:
    local = timezones.to_zone(instant, zone)
    if fmt == "time":
        return timezones.format_time(local)
    if fmt == "date":
        return timezones.format_date(local)
    return f"{timezones.format_date(local)} {timezones.format_time(local)} {local.tzname()}"


#: the picker's <optgroup>s with nothing selected, by timezones.picker_key
_OPTIONS: dict[tuple[object, ...], str] = {}


def zone_options(selected: str = "") -> Markup:
    """The zone picker's `<optgroup>`s with `selected` marked (templates/_zone_options.html).

    The markup of some 450 options was most of an event page's render; it is built once per
    process and `timezones.picker_key` (the UTC day, or the instant's offsets on a DST day)
    and the selection is written into a copy (every `<option>` of that zone: it can be listed
    under Common and under its region)."""
    now = clock.now()
    key = timezones.picker_key(now)
    html = _OPTIONS.get(key)
    if html is None:
        if len(_OPTIONS) >= 64:
            _OPTIONS.clear()
        html = _OPTIONS[key] = "".join(
            f'\n<optgroup label="{escape(group)}">'
            + "".join(f'<option value="{escape(name)}">{escape(label)}</option>' for name, label in entries)
            + "</optgroup>"
            for group, entries in timezones.zone_picker(now)
        )
    if selected:
        plain = f'<option value="{escape(selected)}">'
        html = html.replace(plain, f'{plain[:-1]} selected>')
    return Markup(html)  # noqa: S704 - built above from escaped parts only


def viewer_data(sessions: list, home_zone: str) -> list[dict[str, str]]:
    """What static/js/zones.js needs to write a session's time in the viewer's zone:
    the instants (ISO 8601, UTC) and the home-zone date (to know when to show dates)."""
    return [
        {
            "start": s.starts_at.isoformat(),
            "end": s.ends_at.isoformat(),
            "home": timezones.to_zone(s.starts_at, home_zone).date().isoformat(),
        }
        for s in sessions
    ]


def held_count(event: Any) -> int:
    """Posts of an e-forum waiting for a moderator (tabs and overview show the number)."""

    if event is None or event.id is None or not event.is_eforum:
        return 0
    return db.session.scalar(
        select(func.count(Post.id)).where(Post.event_id == event.id, Post.status == "held")
    ) or 0


def event_text(event: Any) -> dict[str, str]:
    """An event's title, summary and outcomes as this page's (or mail's) reader sees them:
    in the second language when that is theirs and the officer gave it."""
    title, summary, outcomes = event.in_language(i18n.current_language())
    return {"title": title, "summary": summary, "outcomes": outcomes}


def page_lang() -> str:
    """The `lang` attribute of a page or mail: the locale in force as BCP 47 (`fr-CA`)."""
    return str(get_locale() or i18n.DEFAULT_LANGUAGE).replace("_", "-")


def endpoint_url(name: str, **values: Any) -> str | None:
    """`url_for(name)`, or None when that endpoint is not registered (yet).

    Lets shared templates link to other areas' pages only once they exist.
    """
    if name not in current_app.view_functions:
        return None
    try:
        return url_for(name, **values)
    except BuildError:
        return None


def register_template_helpers(app: Flask) -> None:
    app.jinja_env.filters["markdown"] = markdown
    app.jinja_env.filters["lines"] = lines
    app.jinja_env.filters["in_zone"] = in_zone
    app.jinja_env.filters["format_date"] = timezones.format_date
    app.jinja_env.filters["format_time"] = timezones.format_time
    app.jinja_env.globals["display_zones"] = display_zones
    app.jinja_env.globals["post_url"] = post_url
    app.jinja_env.globals["session_zone_lines"] = session_zone_lines
    app.jinja_env.globals["endpoint_url"] = endpoint_url
    app.jinja_env.globals["page_lang"] = page_lang
    app.jinja_env.globals["event_text"] = event_text
    app.jinja_env.globals["language_choices"] = lambda: i18n.LOCALE_CHOICES
    app.jinja_env.globals["viewer_data"] = viewer_data
    app.jinja_env.globals["brand"] = branding.current
    app.jinja_env.globals["mail_text"] = mail_texts.mail_text
    app.jinja_env.globals["held_count"] = held_count
    app.jinja_env.globals["zone_picker"] = lambda: timezones.zone_picker(clock.now())
    app.jinja_env.globals["zone_options_html"] = zone_options
