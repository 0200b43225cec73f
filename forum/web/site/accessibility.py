"""The accessibility statement page (public, linked from every footer) and its editor."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import EmailField, SubmitField, TextAreaField
from wtforms.validators import Length

from forum.common import accessibility
from forum.core.extensions import db, login
from forum.core.validation import CheckedForm

bp = Blueprint("accessibility", __name__)


class StatementForm(CheckedForm):
    statement = TextAreaField(
        _l("Statement (Markdown)"), validators=[Length(max=accessibility.MAX_STATEMENT_CHARS)]
    )
    contact = EmailField(_l("Address for accommodation requests"), validators=[Length(max=254)])
    save = SubmitField(_l("Save"))


@bp.route("/accessibility")
def statement() -> str:
    return render_template("public/accessibility.html", statement=accessibility.current())


@bp.route("/manage/accessibility", methods=["GET", "POST"])
def edit() -> Any:
    if not current_user.is_authenticated:
        return login.unauthorized()
    current = accessibility.current()
    form = StatementForm(data={"statement": "" if current.is_default else current.text, "contact": current.contact})
    if form.validate_on_submit():
        try:
            accessibility.save(form.statement.data or "", form.contact.data or "")
        except accessibility.StatementError as exc:
            db.session.rollback()
            getattr(form, exc.field).errors = [str(exc)]
        else:
            db.session.commit()
            flash(_("Accessibility statement saved."), "success")
            return redirect(url_for("accessibility.edit"), code=303)
    return render_template(
        "manage/accessibility.html", form=form, default_text=accessibility.default_text()
    ), 400 if form.errors else 200
