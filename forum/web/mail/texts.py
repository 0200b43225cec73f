"""/manage/events/<slug>/mail-texts: the officer's intro and sign-off for each kind of mail,
with a preview (rendered by the server with sample values) and a test send to themselves."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import HiddenField, TextAreaField

from forum.core.extensions import db
from forum.core.validation import CheckedForm
from forum.mail import texts as mail_texts
from forum.web.events.manage_common import get_event, officer_blueprint

bp = officer_blueprint("mail_texts", __name__, "/manage")

PLACEHOLDER_HINT = (
    "Markdown. Placeholders: " + ", ".join(f"{{{{ {p} }}}}" for p in mail_texts.PLACEHOLDERS) + "."
)


class MailTextForm(CheckedForm):
    kind = HiddenField()
    intro = TextAreaField(
        _l("Intro paragraph"), description=_l("At the top, after the greeting. ") + PLACEHOLDER_HINT
    )
    signoff = TextAreaField(_l("Sign-off"), description=_l("Before the links at the end. ") + PLACEHOLDER_HINT)


@bp.route("/events/<slug>/mail-texts", methods=["GET", "POST"])
def edit(slug: str) -> str | tuple[str, int] | Response:
    event = get_event(slug)
    kinds = mail_texts.kinds_for(event)
    kind = request.values.get("kind") or next(iter(kinds))
    if kind not in kinds:
        kind = next(iter(kinds))
    row = mail_texts.texts_for(event, kind)
    form = MailTextForm(
        data={"kind": kind, "intro": row.intro if row else "", "signoff": row.signoff if row else ""}
    )
    preview = None
    real: mail_texts.RealMail | None = None
    status = 200
    if form.validate_on_submit():
        intro, signoff = form.intro.data or "", form.signoff.data or ""
        action = request.form.get("action", "save")
        problem = _problem(form, intro, signoff)
        if problem:
            status = 400
        elif action == "preview":
            preview = mail_texts.preview(event, intro, signoff)
            real = mail_texts.real_mail(event, kind, intro, signoff)
        elif action == "test":
            mail_texts.send_test(event, kind, intro, signoff, current_user.email, current_user.name or "")
            db.session.commit()
            flash(_("A test mail is on its way to %(email)s.", email=current_user.email), "success")
            preview = mail_texts.preview(event, intro, signoff)
            real = mail_texts.real_mail(event, kind, intro, signoff)
        else:
            mail_texts.save(event, kind, intro, signoff)
            db.session.commit()
            flash(_("Saved the texts of the %(kind)s mail.", kind=kinds[kind].lower()), "success")
            return redirect(url_for("mail_texts.edit", slug=slug, kind=kind))
    elif request.method == "POST":
        status = 400
    saved = {k for k in kinds if mail_texts.texts_for(event, k) is not None}
    return render_template(
        "manage/mail_texts.html",
        event=event,
        form=form,
        kind=kind,
        kinds=kinds,
        saved=saved,
        preview=preview,
        real=real,
        placeholders=mail_texts.PLACEHOLDERS,
    ), status


def _problem(form: MailTextForm, intro: str, signoff: str) -> bool:
    """Put a refused text's message next to its field; True if either was refused."""
    bad = False
    for field, source in ((form.intro, intro), (form.signoff, signoff)):
        try:
            mail_texts.check(source)
        except mail_texts.MailTextError as exc:
            field.errors = [*field.errors, str(exc)]
            bad = True
    return bad
