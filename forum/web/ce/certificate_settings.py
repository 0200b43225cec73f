"""/manage/settings/certificates: what every certificate carries besides the person and the
hours (logo, CE provider name and number, who signs), set once for the site; an event's
own wording is on its attendance page (forum/web/ce/attendance.py)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileAllowed, FileField
from werkzeug.wrappers import Response
from wtforms import BooleanField, StringField
from wtforms.validators import Length

from forum.ce import certificate_look
from forum.core.extensions import db
from forum.core.validation import CheckedForm
from forum.web.forms import STRIP

bp = Blueprint("certificate_settings", __name__, url_prefix="/manage")


class LookFields:
    """The wording fields, shared by the site's form and an event's (attendance page)."""

    provider_name = StringField(
        _l("CE provider name"),
        validators=[Length(max=200)],
        filters=STRIP,
        description=_l("The approved provider, as the accrediting body lists it."),
    )
    provider_number = StringField(
        _l("Provider number"), validators=[Length(max=100)], filters=STRIP
    )
    signatory_name = StringField(
        _l("Signed by"),
        validators=[Length(max=200)],
        filters=STRIP,
        description=_l("Printed under the signature line, e.g. the CE coordinator."),
    )
    signatory_title = StringField(_l("Their title"), validators=[Length(max=200)], filters=STRIP)


class CertificateSettingsForm(LookFields, CheckedForm):
    logo = FileField(
        _l("Logo"),
        validators=[FileAllowed(["png", "jpg", "jpeg"], _l("Upload a PNG or JPEG file."))],
        description=_l("PNG or JPEG under 300 KB, drawn above the organisation's name."),
    )
    remove_logo = BooleanField(_l("Remove the logo"))


@bp.route("/settings/certificates", methods=["GET", "POST"])
def edit() -> Response | str | tuple[str, int]:
    look = certificate_look.site_look()
    form = CertificateSettingsForm(data={name: getattr(look, name) for name in certificate_look.TEXT_FIELDS})
    if form.validate_on_submit():
        upload = request.files.get("logo")
        data = upload.read() if upload is not None and upload.filename else None
        try:
            certificate_look.save_site(
                {name: form[name].data or "" for name in certificate_look.TEXT_FIELDS},
                logo=data,
                remove_logo=bool(form.remove_logo.data),
            )
        except certificate_look.LookError as exc:
            db.session.rollback()
            form[exc.field].errors = [*form[exc.field].errors, str(exc)]
        else:
            db.session.commit()
            flash(_("Certificate settings saved. Certificates downloaded from now on carry them."), "success")
            return redirect(url_for("certificate_settings.edit"))
    status = 400 if request.method == "POST" else 200
    return render_template("ce/certificate_settings.html", form=form, has_logo=bool(look.logo)), status
