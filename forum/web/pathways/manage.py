"""Officer pages under /manage/pathways: resources, learning needs, pathways and the gaps report.

Thin views: forms validate, forum.pathways makes every change (the API goes through the
same functions), and each POST ends in a redirect or re-renders with what was typed.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any, TypeVar

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.wrappers import Response

from forum.core.extensions import db
from forum.models.pathways import LearningNeed, Pathway, PathwayStep, Resource
from forum.pathways import csv_import as importer
from forum.pathways import gaps as reports
from forum.pathways import service
from forum.team import scopes
from forum.web.charts import count_bars
from forum.web.events.manage_common import Page, officer_blueprint
from forum.web.forms import ConfirmForm, topics_choices
from forum.web.helpers import button_post, commit_or_flash, form_page
from forum.web.pathways.forms import (
    ImportForm,
    NeedForm,
    PathwayForm,
    ResourceForm,
    StepEditForm,
    StepForm,
    TopicsForm,
    need_choices,
    resolve_source,
    source_choices,
)

bp = officer_blueprint("pathways_manage", __name__, "/manage/pathways")

F = TypeVar("F", bound=FlaskForm)




def _pathway(slug: str) -> Pathway:
    item = Pathway.by_slug(slug)
    if item is None:
        abort(404, description=_l("There is no pathway at this address."))
    return item


def _form_for(form_class: type[F], row: object) -> F:
    """An edit form: filled from `row` on GET, the submission on POST."""
    return form_class(obj=row) if request.method == "GET" else form_class()


def _edit(form: FlaskForm, change: Callable[[], Any], done: str, to: str, template: str, **context: Any) -> Page:
    """An officer's edit form: `_saved` on a valid submission, else the form's page (again)."""
    return _saved(form, change, done, to) or form_page(template, form, **context)


def _saved(form: FlaskForm, change: Callable[[], Any], done: str, to: str | Callable[[Any], str]) -> Response | None:
    """On a valid submission, make `change` (a pathways service call): commit, say `done`
    and go to `to` (a URL, or one made from what `change` returned). A refusal goes on the
    form instead; None means: show the form (again)."""
    if not form.validate_on_submit():
        return None
    try:
        result = change()
    except service.PathwayError as exc:
        _form_error(form, exc)
        return None
    db.session.commit()
    if done:
        flash(done)
    return redirect(to(result) if callable(to) else to, code=303)


def _form_error(form: FlaskForm, exc: service.PathwayError) -> None:
    db.session.rollback()
    field = getattr(form, exc.field, None)
    if field is None:
        flash(str(exc), "error")
    else:
        field.errors = [*field.errors, str(exc)] if isinstance(field.errors, list) else [str(exc)]


# --- overview -------------------------------------------------------------------------------------


@bp.route("/")
def index() -> Page:
    mine = scopes.visible(current_user, "pathway")  # the administrator: all; others: their roles'
    pathways = db.session.scalars(select(Pathway).where(mine).order_by(Pathway.title)).all()
    return render_template(
        "pathways/manage/index.html",
        pathways=pathways,
        needs=db.session.scalars(select(LearningNeed).order_by(LearningNeed.position)).all(),
        resource_count=len(service.find_resources("")),
        total_minutes=service.total_minutes,
    )


@bp.route("/new", methods=["GET", "POST"])
def new_pathway() -> Page:
    form = PathwayForm()
    form.needs.choices = need_choices()
    form.topics.choices = topics_choices()
    done = _saved(
        form,
        lambda: service.save_pathway(None, **_pathway_fields(form)),
        _("Pathway saved as a draft. Add its steps next."),
        lambda item: url_for(".pathway", slug=item.slug),
    )
    return done or form_page("pathways/manage/pathway_form.html", form, item=None)


def _pathway_fields(form: PathwayForm) -> dict[str, Any]:
    chosen = set(form.needs.data or [])
    needs = [n for n in db.session.scalars(select(LearningNeed)) if n.id in chosen]
    return {
        "title": form.title.data or "",
        "slug": form.slug.data or "",
        "summary": form.summary.data or "",
        "audience": form.audience.data or "",
        "description": form.description.data or "",
        "needs": needs,
        "topics": form.topics.data or [],
    }


@bp.route("/<slug>/edit", methods=["GET", "POST"])
def edit_pathway(slug: str) -> Page:
    item = _pathway(slug)
    form = _form_for(PathwayForm, item)
    form.needs.choices = need_choices()
    form.topics.choices = topics_choices()
    if request.method == "GET":
        form.needs.data = [n.id for n in item.needs]
        form.topics.data = [t.slug for t in item.topics]
    done = _saved(
        form,
        lambda: service.save_pathway(item, **_pathway_fields(form)),
        _("Pathway saved."),
        lambda _: url_for(".pathway", slug=item.slug),
    )
    return done or form_page("pathways/manage/pathway_form.html", form, item=item)


@bp.route("/<slug>", methods=["GET", "POST"])
def pathway(slug: str) -> Page:
    """The pathway's steps, with the form that adds one."""
    item = _pathway(slug)
    form = StepForm()
    form.source.choices = source_choices()
    done = _saved(
        form,
        lambda: service.add_step(
            item, resolve_source(form.source.data), why=form.why.data or "", stage=form.stage.data or ""
        ),
        _("Step added."),
        url_for(".pathway", slug=slug) + "#steps",
    )
    return done or form_page(
        "pathways/manage/pathway.html",
        form,
        item=item,
        button=ConfirmForm(formdata=None),
        stages=service.stages(item),
        total=service.total_minutes(item),
        dead=dict((step.id, why) for step, why in service.dead_ends(item)),
        outcomes=reports.step_outcomes(item),
        minutes_of=service.minutes_of,
        funnel=reports.follower_funnel(item),
    )


@bp.route("/<slug>/steps/<int:step_id>", methods=["GET", "POST"])
def edit_step(slug: str, step_id: int) -> Page:
    item = _pathway(slug)
    step = db.session.get(PathwayStep, step_id)
    if step is None or step.pathway_id != item.id:
        abort(404)
    form = _form_for(StepEditForm, step)
    done = _saved(
        form,
        lambda: service.update_step(step, why=form.why.data or "", stage=form.stage.data or ""),
        "",
        url_for(".pathway", slug=slug) + "#steps",
    )
    return done or render_template("pathways/manage/step_form.html", form=form, item=item, step=step)


@bp.route("/<slug>/steps/<int:step_id>/<action>", methods=["POST"])
def step_action(slug: str, step_id: int, action: str) -> Page:
    item = _pathway(slug)
    step = db.session.get(PathwayStep, step_id)
    if step is None or step.pathway_id != item.id or action not in ("up", "down", "remove"):
        abort(404)
    if ConfirmForm().validate_on_submit():
        if action == "remove":
            service.remove_step(step)
            flash(_("Step removed."))
        else:
            service.move_step(step, -1 if action == "up" else 1)
        db.session.commit()
    return redirect(url_for(".pathway", slug=slug) + "#steps", code=303)


@bp.route("/<slug>/<action>", methods=["POST"])
def status(slug: str, action: str) -> Page:
    item = _pathway(slug)
    if action not in ("publish", "unpublish", "delete"):
        abort(404)
    def delete(pathway: Pathway) -> None:
        scopes.forget(pathway)  # its roles go with it
        service.delete_pathway(pathway)

    change = {"delete": delete, "publish": service.publish, "unpublish": service.unpublish}
    title = item.title
    if ConfirmForm().validate_on_submit() and commit_or_flash(lambda: change[action](item), service.PathwayError):
        if action == "delete":
            flash(_("Deleted %(title)s.", title=title))
            return redirect(url_for(".index"), code=303)
        flash(_("Published: it is on /pathways now.") if action == "publish" else _("Back to draft."))
    return redirect(url_for(".pathway", slug=slug), code=303)


# --- resources -------------------------------------------------------------------------------------


@bp.route("/resources", methods=["GET", "POST"])
def resources() -> Page:
    form = ResourceForm()
    done = _saved(
        form,
        lambda: service.save_external(None, **_resource_fields(form)),
        _("Resource added."),
        url_for(".resources"),
    )
    return done or _resources_page(form, ImportForm(formdata=None), None)


def _resources_page(
    form: ResourceForm, import_form: ImportForm, report: importer.ImportReport | None
) -> Page:
    bad = bool(form.errors or import_form.errors)
    return render_template(
        "pathways/manage/resources.html",
        form=form,
        import_form=import_form,
        report=report,
        resources=db.session.scalars(select(Resource).order_by(Resource.kind, Resource.title)).all(),
        minutes_of=service.minutes_of,
    ), 400 if bad else 200


def _resource_fields(form: ResourceForm) -> dict[str, Any]:
    return {
        "title": form.title.data or "",
        "url": form.url.data or "",
        "kind": form.kind.data,
        "minutes": form.minutes.data,
        "topics": form.topics.data or "",
        "description": form.description.data or "",
    }


@bp.route("/resources/import", methods=["POST"])
def import_resources() -> Page:
    import_form = ImportForm()
    report = None
    if import_form.validate_on_submit():
        raw = import_form.file.data.read()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            import_form.file.errors = [_("The file is not UTF-8 text; save it as “CSV UTF-8” and try again.")]
        else:
            report = importer.import_resources(io.StringIO(text, newline=""))
            db.session.commit()
    return _resources_page(ResourceForm(formdata=None), import_form, report)


@bp.route("/resources/<int:resource_id>", methods=["GET", "POST"])
def edit_resource(resource_id: int) -> Page:
    resource = db.get_or_404(Resource, resource_id)
    if not resource.is_external:  # an event or session: only its topics are the officer's to set
        topics_form = _form_for(TopicsForm, resource)
        done = _saved(
            topics_form,
            lambda: service.set_internal(
                resource, topics=topics_form.topics.data or "", minutes=topics_form.minutes.data
            ),
            _("Saved."),
            url_for(".resources"),
        )
        return done or form_page("pathways/manage/resource_form.html", topics_form, resource=resource)
    form = _form_for(ResourceForm, resource)
    return _edit(
        form,
        lambda: service.save_external(resource, **_resource_fields(form)),
        _("Resource saved."),
        url_for(".resources"),
        "pathways/manage/resource_form.html",
        resource=resource,
    )


@bp.route("/resources/<int:resource_id>/delete", methods=["POST"])
def delete_resource(resource_id: int) -> Page:
    resource = db.get_or_404(Resource, resource_id)
    title = resource.display_title
    if ConfirmForm().validate_on_submit():
        if not commit_or_flash(lambda: service.delete_resource(resource), service.PathwayError):
            return redirect(url_for(".edit_resource", resource_id=resource_id), code=303)
        flash(_("Deleted %(title)s.", title=title))
    return redirect(url_for(".resources"), code=303)


# --- learning needs ----------------------------------------------------------------------------------


@bp.route("/needs", methods=["GET", "POST"])
def needs() -> Page:
    form = NeedForm()
    done = _saved(
        form,
        lambda: service.save_need(None, **_need_fields(form)),
        _("Learning need added."),
        url_for(".needs"),
    )
    return done or form_page(
        "pathways/manage/needs.html",
        form,
        needs=db.session.scalars(select(LearningNeed).order_by(LearningNeed.position)).all(),
    )


def _need_fields(form: NeedForm) -> dict[str, str]:
    return {
        "title": form.title.data or "",
        "slug": form.slug.data or "",
        "description": form.description.data or "",
    }


@bp.route("/needs/<int:need_id>", methods=["GET", "POST"])
def edit_need(need_id: int) -> Page:
    need = db.get_or_404(LearningNeed, need_id)
    form = _form_for(NeedForm, need)
    return _edit(
        form,
        lambda: service.save_need(need, **_need_fields(form)),
        _("Learning need saved."),
        url_for(".needs"),
        "pathways/manage/need_form.html",
        need=need,
    )


@bp.route("/needs/<int:need_id>/delete", methods=["POST"])
def delete_need(need_id: int) -> Page:
    need = db.get_or_404(LearningNeed, need_id)
    return button_post(
        lambda: service.delete_need(need),
        _("Deleted the learning need %(title)s.", title=need.title),
        url_for(".needs"),
    )


# --- gaps ---------------------------------------------------------------------------------------------


@bp.route("/gaps")
def gaps() -> Page:
    report = reports.gap_report()
    charts = [
        (
            funnel,
            count_bars(
                [
                    ("Started", funnel.started),
                    ("Active", funnel.active),
                    ("Completed", funnel.completed),
                    ("Paused", funnel.paused),
                    ("Left", funnel.left),
                ]
            ),
            count_bars([(f"Step {i + 1}", n) for i, n in enumerate(funnel.stopped_after)]),
            reports.step_outcomes(funnel.pathway),
        )
        for funnel in report.funnels
    ]
    return render_template("pathways/manage/gaps.html", report=report, charts=charts)
