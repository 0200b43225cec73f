"""Captions and transcripts: the officer's form per material, and the files we serve.

Every rule lives in forum/webinars/captions.py; this door translates the upload and the
fields. The served files carry the material's key (`?t=`) when it is for registrants only,
so the security headers treat them as signed-link pages (no-store, no referrer).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.file import FileField
from werkzeug.wrappers import Response
from wtforms import BooleanField, SubmitField, TextAreaField, URLField
from wtforms.validators import Length

from forum.core.extensions import db, login
from forum.core.validation import CheckedForm
from forum.models import Event, Material
from forum.webinars import captions

bp = Blueprint("captions", __name__)


class CaptionsForm(CheckedForm):
    captions_url = URLField(_l("Captions link (optional)"), validators=[Length(max=500)])
    captions_file = FileField(_l("Or upload a WebVTT file (.vtt)"))
    remove_captions = BooleanField(_l("Remove the current captions"))
    transcript = TextAreaField(
        _l("Transcript (optional)"), validators=[Length(max=captions.MAX_TRANSCRIPT_CHARS)]
    )
    save = SubmitField(_l("Save"))


def _material(slug: str, material_id: int) -> tuple[Event, Material]:
    event = Event.by_slug(slug)
    material = db.session.get(Material, material_id)
    if event is None or material is None or material.session.event_id != event.id:
        abort(404, description=_("There is no such recording or material."))
    return event, material


@bp.route("/manage/events/<slug>/recordings/<int:material_id>/captions", methods=["GET", "POST"])
def edit(slug: str, material_id: int) -> Any:
    if not current_user.is_authenticated:
        return login.unauthorized()
    event, material = _material(slug, material_id)
    form = CaptionsForm(data={"captions_url": material.captions_url, "transcript": material.transcript})
    if form.validate_on_submit():
        upload = form.captions_file.data
        try:
            captions.set_captions(
                material,
                captions_url=form.captions_url.data or "",
                captions_file=upload.read() if upload and upload.filename else None,
                transcript=form.transcript.data or "",
                remove_captions=bool(form.remove_captions.data),
            )
        except captions.CaptionsError as exc:
            db.session.rollback()
            getattr(form, exc.field).errors = [str(exc)]
        else:
            released = material.hold_for_captions and material.has_captions
            db.session.commit()
            flash(
                _("Saved. The “recording available” mail that waited for captions goes out in a few minutes.")
                if released
                else _("Saved.")
            )
            return redirect(url_for("webinars.recordings_page", slug=event.slug), code=303)
    return render_template(
        "webinars/captions.html", event=event, material=material, form=form
    ), 400 if form.errors else 200


def _readable(
    slug: str, material_id: int, part: Callable[[Material], str | None], missing: str
) -> tuple[Material, str]:
    """A material's captions or transcript for this reader: a 404 when the material is not
    theirs to read (a private one without its signed link), or when it has no such part."""
    _event, material = _material(slug, material_id)
    if not captions.may_read(material, request.args.get("t")):
        abort(404, description=_("There is no such recording or material."))
    text = part(material)
    if not text:
        abort(404, description=missing)
    return material, text


@bp.route("/e/<slug>/materials/<int:material_id>/captions.vtt")
def captions_file(slug: str, material_id: int) -> Response:
    """The WebVTT file as players fetch it (text/vtt, UTF-8)."""
    material, vtt = _readable(
        slug, material_id, lambda m: m.captions_vtt, _("This material has no captions file.")
    )
    response = Response(vtt, content_type="text/vtt; charset=utf-8")
    if material.public:  # a player on the video host's page may fetch a public track
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Cache-Control"] = "public, max-age=300"
    else:  # a signed link: no browser or proxy keeps it (the HTML pages get this from security.py)
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/e/<slug>/materials/<int:material_id>/transcript")
def transcript_page(slug: str, material_id: int) -> str:
    material, transcript = _readable(
        slug, material_id, lambda m: m.transcript, _("This material has no transcript.")
    )
    paragraphs = [p.strip() for p in transcript.split("\n\n") if p.strip()]
    return render_template(
        "webinars/transcript.html", material=material, event=material.session.event, paragraphs=paragraphs
    )
