"""/manage/events/<slug>/team: who holds which role on an event; grant by email, revoke.

The guard (`guard.py`) has already checked `roles.manage` on this event before a view runs;
the rules about who may make an owner live in `forum.team.roles` and come back as messages.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_user
from werkzeug.wrappers import Response
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import Email, EqualTo, InputRequired, Length, Optional

from forum.core.extensions import db
from forum.core.validation import CheckedForm
from forum.models import Event, Officer
from forum.team import invitations, roles
from forum.web.events.manage_common import get_event
from forum.web.forms import STRIP, ConfirmForm, choices
from forum.web.helpers import commit_or_flash, form_page

bp = Blueprint("team", __name__)


class GrantForm(CheckedForm):
    email = EmailField(
        "Email address",
        validators=[
            InputRequired("Enter their email address."),
            Email("Enter an address like name@example.org."),
            Length(max=320),
        ],
        filters=STRIP,
    )
    name = StringField(
        "Name (for a new officer account)", validators=[Optional(), Length(max=200)], filters=STRIP
    )
    role = SelectField("Role", choices=choices(roles.ROLE_LABELS), default="viewer")


def _page(event: Event, form: GrantForm, status: int = 200) -> tuple[str, int]:
    return render_template(
        "team/roles.html",
        event=event,
        form=form,
        holders=roles.roles_on(event),
        labels=roles.ROLE_LABELS,
        permissions=roles.ROLE_PERMISSIONS,
        button=ConfirmForm(formdata=None),
    ), status


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
            f"{officer.email} is now {roles.ROLE_LABELS[form.role.data or '']} of “{event.title}”.", "success"
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
        flash(f"{officer.email} no longer holds a role on “{event.title}”.", "success")
    return redirect(url_for("team.index", slug=slug), code=303)


class SetPasswordForm(CheckedForm):
    password = PasswordField(
        "New password", validators=[InputRequired("Choose a password."), Length(min=10, max=200)]
    )
    again = PasswordField("The same again", validators=[EqualTo("password", "The two passwords differ.")])


@bp.route("/invitation/<token>", methods=["GET", "POST"], endpoint="accept")
def accept(token: str) -> tuple[str, int] | Response:
    """The invitation link: set a password, then straight to the events list."""
    try:
        officer = invitations.read(token)
    except invitations.InvitationError as exc:
        return render_template("team/sso_refused.html", message=str(exc), title="Invitation"), 400
    form = SetPasswordForm()
    if form.validate_on_submit():
        officer.set_password(form.password.data or "")
        db.session.commit()
        login_user(officer)
        flash(f"Welcome, {officer.email}: your password is set.", "success")
        return redirect(url_for("manage.index"), code=303)
    return form_page("team/accept.html", form, officer=officer)
