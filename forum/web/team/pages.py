"""/manage/events/<slug>/team: who holds which role on an event; grant by email, revoke.

The guard (`guard.py`) has already checked `roles.manage` on this event before a view runs;
the rules about who may make an owner live in `forum.team.roles` and come back as messages.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user
from werkzeug.wrappers import Response
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import Email, EqualTo, InputRequired, Length, Optional

from forum.core.extensions import db
from forum.core.validation import CheckedForm
from forum.models import Event, Officer
from forum.team import invitations, roles, scopes
from forum.web.events.manage_common import get_event
from forum.web.forms import STRIP, ConfirmForm, choices
from forum.web.helpers import commit_or_flash, form_page

bp = Blueprint("team", __name__)


class GrantForm(CheckedForm):
    email = EmailField(
        _l("Email address"),
        validators=[
            InputRequired(_l("Enter their email address.")),
            Email("Enter an address like name@example.org."),
            Length(max=320),
        ],
        filters=STRIP,
    )
    name = StringField(
        _l("Name (for a new officer account)"), validators=[Optional(), Length(max=200)], filters=STRIP
    )
    role = SelectField(_l("Role"), choices=choices(roles.ROLE_LABELS), default="viewer")


def _team_page(
    template: str, form: GrantForm, status: int, holders: Any, labels: Any, permissions: Any, **context: Any
) -> tuple[str, int]:
    """An event's team page or another kind's: the variables team/_holders.html's `team()`
    lays out (who holds a role, the grant form, each role's permissions, the revoke buttons)."""
    table = {
        "holders": holders,
        "labels": labels,
        "permissions": permissions,
        "button": ConfirmForm(formdata=None),
    }
    return render_template(template, form=form, **table, **context), status


def _page(event: Event, form: GrantForm, status: int = 200) -> tuple[str, int]:
    holders = roles.roles_on(event)
    return _team_page(
        "team/roles.html", form, status, holders, roles.ROLE_LABELS, roles.ROLE_PERMISSIONS, event=event
    )


@bp.route("/manage/events/<slug>/team", methods=["GET", "POST"])
def index(slug: str) -> tuple[str, int] | Response:
    event = get_event(slug)
    form = GrantForm()
    if form.validate_on_submit():
        try:
            officer = invitations.invite(
                event, form.email.data or "", form.role.data or "", by=current_user, name=form.name.data or ""
            )
        except roles.RoleError as exc:
            db.session.rollback()
            form.role.errors = [*form.role.errors, str(exc)]
            return _page(event, form, 400)
        db.session.commit()
        flash(
            _("%(email)s is now %(role)s of “%(title)s”.", email=officer.email, role=roles.ROLE_LABELS[form.role.data or ''], title=event.title), "success"
        )
        return redirect(url_for("team.index", slug=slug), code=303)
    return _page(event, form, 400 if form.errors else 200)


@bp.route("/manage/events/<slug>/team/<int:officer_id>/revoke", methods=["POST"])
def revoke(slug: str, officer_id: int) -> tuple[str, int] | Response:
    event = get_event(slug)
    officer = db.session.get(Officer, officer_id)
    if not ConfirmForm().validate_on_submit() or officer is None:
        return _page(event, GrantForm(formdata=None), 400)
    kept = commit_or_flash(lambda: roles.revoke(event, officer, by=current_user), roles.RoleError)
    if kept and kept.value:
        flash(_("%(email)s no longer holds a role on “%(title)s”.", email=officer.email, title=event.title), "success")
    return redirect(url_for("team.index", slug=slug), code=303)


# --- roles on other objects (a pathway, a mentoring programme): the generic scope ----------


class ObjectGrantForm(GrantForm):
    role = SelectField(_l("Role"), choices=choices(scopes.ROLE_LABELS), default="viewer")


def _object(kind: str, slug: str) -> tuple[scopes.Scope, Any]:
    scope = scopes.SCOPES.get(kind)
    found = scope.find(slug) if scope is not None else None
    if scope is None or found is None:
        abort(404, description=_("There is nothing of that kind at this address."))
    return scope, found


def _object_page(kind: str, slug: str, form: GrantForm, status: int = 200) -> tuple[str, int]:
    scope, found = _object(kind, slug)
    form.role.choices = [(role, scopes.ROLE_LABELS.get(role, role)) for role in scope.roles]
    holders = scopes.roles_on(found)
    return _team_page(
        "team/object_roles.html",
        form,
        status,
        holders,
        scopes.ROLE_LABELS,
        scope.roles,
        scope=scope,
        item=found,
    )


@bp.route("/manage/team/<kind>/<slug>", methods=["GET", "POST"])
def object_team(kind: str, slug: str) -> tuple[str, int] | Response:
    """Who holds which role on one pathway (or other registered kind); grant by email."""
    scope, found = _object(kind, slug)
    form = ObjectGrantForm()
    form.role.choices = [(role, scopes.ROLE_LABELS.get(role, role)) for role in scope.roles]
    if form.validate_on_submit():
        address = (form.email.data or "").strip().lower()
        officer = Officer.by_email(address)
        if officer is None:  # an account without a password: single sign-on, or an administrator sets one
            officer = Officer(email=address, name=form.name.data or "", is_admin=False)
            db.session.add(officer)
            db.session.flush()
        try:
            scopes.grant(found, officer, form.role.data or "", by=current_user)
        except scopes.ScopeError as exc:
            db.session.rollback()
            form.role.errors = [*form.role.errors, str(exc)]
            return _object_page(kind, slug, form, 400)
        db.session.commit()
        label = scopes.ROLE_LABELS.get(form.role.data or "", form.role.data or "")
        flash(
            _(
                "%(email)s is now %(role)s of “%(title)s”.",
                email=officer.email,
                role=label,
                title=found.title,
            ),
            "success",
        )
        return redirect(url_for("team.object_team", kind=kind, slug=slug), code=303)
    return _object_page(kind, slug, form, 400 if form.errors else 200)


@bp.route("/manage/team/<kind>/<slug>/<int:officer_id>/revoke", methods=["POST"])
def object_revoke(kind: str, slug: str, officer_id: int) -> tuple[str, int] | Response:
    found = _object(kind, slug)[1]
    officer = db.session.get(Officer, officer_id)
    if not ConfirmForm().validate_on_submit() or officer is None:
        return _object_page(kind, slug, ObjectGrantForm(formdata=None), 400)
    try:
        had = scopes.revoke(found, officer, by=current_user)
    except scopes.ScopeError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("team.object_team", kind=kind, slug=slug), code=303)
    db.session.commit()
    if had:
        flash(
            _("%(email)s no longer holds a role on “%(title)s”.", email=officer.email, title=found.title),
            "success",
        )
    return redirect(url_for("team.object_team", kind=kind, slug=slug), code=303)


class SetPasswordForm(CheckedForm):
    password = PasswordField(
        _l("New password"), validators=[InputRequired(_l("Choose a password.")), Length(min=10, max=200)]
    )
    again = PasswordField(_l("The same again"), validators=[EqualTo("password", "The two passwords differ.")])


@bp.route("/invitation/<token>", methods=["GET", "POST"], endpoint="accept")
def accept(token: str) -> tuple[str, int] | Response:
    """The invitation link: set a password, then straight to the events list."""
    try:
        officer = invitations.read(token)
    except invitations.InvitationError as exc:
        return render_template("team/sso_refused.html", message=str(exc), title="Invitation"), 400
    if officer.has_second_factor:  # a password via the link would skip the second factor
        return render_template(
            "team/sso_refused.html",
            message="This account has a second factor; sign in with it instead.",
            title="Invitation",
        ), 400
    form = SetPasswordForm()
    if form.validate_on_submit():
        officer.set_password(form.password.data or "")
        db.session.commit()
        login_user(officer)
        flash(_("Welcome, %(email)s: your password is set.", email=officer.email), "success")
        return redirect(url_for("manage.index"), code=303)
    return form_page("team/accept.html", form, officer=officer)
