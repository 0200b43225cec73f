"""Officer page for the topic list (/manage/topics): add, rename, remove.

Events and pathways pick from this list on their forms and in the JSON API; the public
calendar (/calendar) filters by it and offers one feed per topic. The rules (a name, an
address no other topic has, kept on a rename) are in `forum.common.topics`.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from werkzeug.wrappers import Response
from wtforms import StringField
from wtforms.validators import Length

from forum.common import topics
from forum.core.extensions import db
from forum.models import Topic, event_topic, pathway_topic
from forum.web.events.manage_common import Page, bad_request, bp
from forum.web.forms import STRIP, CheckedForm, ConfirmForm


class TopicForm(CheckedForm):
    name = StringField(_l("Name"), validators=[Length(max=topics.MAX_NAME)], filters=STRIP)
    slug = StringField(
        _l("Address"),
        validators=[Length(max=80)],
        filters=STRIP,
        description=_l("Used in /calendar?topic=… and the topic's feed; made from the name when empty."),
    )


def _usage() -> dict[int, tuple[int, int]]:
    """topic id -> (events, pathways) filed under it, for the list."""
    counts: dict[int, tuple[int, int]] = {}
    for link, place in ((event_topic, 0), (pathway_topic, 1)):
        for topic_id, count in db.session.execute(
            select(link.c.topic_id, func.count()).group_by(link.c.topic_id)
        ):
            pair = list(counts.get(topic_id, (0, 0)))
            pair[place] = count
            counts[topic_id] = (pair[0], pair[1])
    return counts


def _save(topic: Topic | None, form: TopicForm) -> bool:
    try:
        topics.save_topic(topic, name=form.name.data or "", slug=form.slug.data or "")
    except topics.TopicError as exc:
        db.session.rollback()
        form[exc.field].errors = [*form[exc.field].errors, str(exc)]
        return False
    db.session.commit()
    return True


@bp.route("/topics", methods=["GET", "POST"], endpoint="topics")
def topics_page() -> Page:
    form = TopicForm()
    if form.validate_on_submit() and _save(None, form):
        flash(_("Topic added."), "success")
        return redirect(url_for("manage.topics"))
    context = {"form": form, "items": topics.all_topics(), "usage": _usage(), "confirm": ConfirmForm()}
    if request.method == "POST":
        return bad_request("manage/topics.html", **context)
    return render_template("manage/topics.html", **context)


@bp.route("/topics/<slug>", methods=["GET", "POST"])
def edit_topic(slug: str) -> Page:
    topic = _topic(slug)
    form = TopicForm(obj=topic)
    if form.validate_on_submit() and _save(topic, form):
        flash(_("Topic saved."), "success")
        return redirect(url_for("manage.topics"))
    if request.method == "POST":
        return bad_request("manage/topic_form.html", form=form, topic=_topic(slug))
    return render_template("manage/topic_form.html", form=form, topic=topic)


@bp.route("/topics/<slug>/delete", methods=["POST"])
def delete_topic(slug: str) -> Response:
    topic = _topic(slug)
    if not ConfirmForm().validate_on_submit():
        abort(400, description=_("The form expired. Go back, reload the page and try again."))
    name = topic.name
    topics.delete_topic(topic)
    db.session.commit()
    flash(_("Removed the topic “%(name)s”.") % {"name": name}, "success")
    return redirect(url_for("manage.topics"))


def _topic(slug: str) -> Topic:
    topic = Topic.by_slug(slug)
    if topic is None:
        abort(404, description=_("There is no such topic."))
    return topic
