"""Officer pages for an event's panelists (on the `manage` blueprint): search and attach
existing people, add new ones with their bios, change roles and order, take them off.

A panelist (their bio) outlives any one event; only the link to the event is removed.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from werkzeug.wrappers import Response

from forum.core.extensions import db
from forum.events import panelists as panelist_service
from forum.models import Event, EventPanelist, Panelist
from forum.web.events.manage_common import Page, bad_request, bp, get_event
from forum.web.forms import AttachPanelistForm, ConfirmForm, PanelistForm, PanelistOnEventForm, RoleForm


def search_panelists(query: str, limit: int = 20) -> list[Panelist]:
    """Panelists whose name, affiliation or email contains `query` (case-insensitive)."""
    needle = f"%{query.strip().lower()}%"
    return list(
        db.session.scalars(
            select(Panelist)
            .where(
                or_(
                    func.lower(Panelist.name).like(needle),
                    func.lower(Panelist.affiliation).like(needle),
                    func.lower(Panelist.email).like(needle),
                )
            )
            .order_by(Panelist.name)
            .limit(limit)
        )
    )


@bp.route("/events/<slug>/panelists")
def panelists(slug: str) -> Page:
    ev = get_event(slug)
    query = (request.args.get("q") or "").strip()
    on_event = {link.panelist_id for link in ev.panelist_links}
    results = [p for p in search_panelists(query) if p.id not in on_event] if query else []
    names = db.session.scalars(select(Panelist.name).order_by(Panelist.name).limit(500)).all()
    return render_template(
        "manage/panelists.html",
        event=ev,
        query=query,
        results=results,
        names=names,
        attach=AttachPanelistForm(formdata=None),
        role_form=RoleForm,
        confirm=ConfirmForm(),
    )


@bp.route("/events/<slug>/panelists/new", methods=["GET", "POST"])
def new_panelist(slug: str) -> Page:
    ev = get_event(slug)
    form = PanelistOnEventForm()
    if form.validate_on_submit():
        panelist = panelist_service.save_panelist(None, _bio(form))
        panelist_service.attach_panelist(ev, panelist, form.role.data)
        db.session.commit()
        flash(_("Added %(name)s.", name=panelist.name), "success")
        return redirect(url_for("manage.panelists", slug=slug))
    if request.method == "POST":
        return bad_request("manage/panelist_form.html", event=ev, form=form, panelist=None)
    return render_template("manage/panelist_form.html", event=ev, form=form, panelist=None)


def _bio(form: PanelistForm) -> dict[str, str]:
    """The form's bio fields as the service takes them (an empty box is an empty string)."""
    return {name: form[name].data or "" for name in panelist_service.PANELIST_FIELDS}


@bp.route("/events/<slug>/panelists/attach", methods=["POST"])
def attach_panelist(slug: str) -> Response:
    ev = get_event(slug)
    form = AttachPanelistForm()
    panelist = None
    if form.validate_on_submit() and (form.panelist_id.data or "").isdigit():
        panelist = db.session.get(Panelist, int(form.panelist_id.data))
    if panelist is None:
        abort(400, description=_l("Pick a panelist from the search results."))
    panelist_service.attach_panelist(ev, panelist, form.role.data)
    db.session.commit()
    flash(_("Added %(name)s as %(role)s.", name=panelist.name, role=form.role.data), "success")
    return redirect(url_for("manage.panelists", slug=slug))


@bp.route("/events/<slug>/panelists/<int:link_id>", methods=["POST"])
def panelist_link(slug: str, link_id: int) -> Response:
    """One row's buttons: change role, move up/down, remove from this event."""
    ev = get_event(slug)
    link = db.session.get(EventPanelist, link_id)
    if link is None or link.event_id != ev.id:
        abort(404, description=_l("That panelist is not on this event."))
    form = RoleForm()
    if not form.validate_on_submit():
        abort(400, description=_l("Unknown role, or the form expired."))
    action = request.form.get("action", "role")
    name = link.panelist.name
    if action == "up":
        panelist_service.move_panelist(link, -1)
    elif action == "down":
        panelist_service.move_panelist(link, 1)
    elif action == "remove":
        panelist_service.detach_panelist(link)
        flash(_("Removed %(name)s from this event (their bio stays for other events).", name=name), "success")
    else:
        panelist_service.attach_panelist(ev, link.panelist, form.role.data)  # already on it: a new role
        flash(_("%(name)s is now %(role_label)s.", name=name, role_label=link.role_label.lower()), "success")
    db.session.commit()
    return redirect(url_for("manage.panelists", slug=slug))


@bp.route("/panelists/<int:panelist_id>/edit", methods=["GET", "POST"])
def edit_panelist(panelist_id: int) -> Page:
    panelist = db.get_or_404(Panelist, panelist_id, description=_l("There is no such panelist."))
    slug = request.args.get("event") or ""
    ev = Event.by_slug(slug) if slug else None
    form = PanelistForm(obj=panelist)
    if form.validate_on_submit():
        panelist_service.save_panelist(panelist, _bio(form))
        db.session.commit()
        flash(_("Saved %(name)s.", name=panelist.name), "success")
        if ev is not None:
            return redirect(url_for("manage.panelists", slug=ev.slug))
        return redirect(url_for("manage.index"))
    context = {"event": ev, "form": form, "panelist": panelist}
    if request.method == "POST":
        return bad_request("manage/panelist_form.html", **context)
    return render_template("manage/panelist_form.html", **context)
