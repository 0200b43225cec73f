"""The organisation's look: `/brand.css` (the brand colour as CSS custom properties, so
it reaches every page under the strict CSP) and the officer settings page."""

from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from forum.common import branding
from forum.core.extensions import db, login
from forum.web.forms import BrandingForm

bp = Blueprint("branding", __name__)


@bp.route("/brand.css")
def stylesheet() -> Response:
    """Cached for a year under its versioned address; the ETag answers revalidations."""
    brand = branding.current()
    response = make_response(brand.stylesheet or "/* default colours */\n")
    response.mimetype = "text/css"
    response.set_etag(brand.stylesheet_version)
    if request.args.get("v") == brand.stylesheet_version:
        response.cache_control.public = True
        response.cache_control.max_age = 365 * 24 * 3600
    else:
        response.cache_control.no_cache = True
    return response.make_conditional(request)


@bp.route("/manage/settings", methods=["GET", "POST"])
def settings() -> Response | str | tuple[str, int]:
    if not current_user.is_authenticated:
        return login.unauthorized()
    brand = branding.current()
    defaults = branding.defaults()
    form = BrandingForm(data=asdict(brand))
    if form.validate_on_submit():
        branding.save({name: form[name].data or "" for name in asdict(brand)})
        db.session.commit()
        flash(_("Settings saved. Pages and new mail use them from now on."), "success")
        return redirect(url_for("branding.settings"))
    status = 400 if request.method == "POST" else 200
    return render_template("manage/settings.html", form=form, defaults=defaults), status
