"""The moderation queue of an e-forum: held posts one by one or ticked together, for
officers and the e-forum's moderator panelists (through a hold notice's signed link)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from wtforms import SubmitField, TextAreaField
from wtforms.validators import Length, Optional

from forum.core.extensions import db
from forum.core.validation import CheckedForm
from forum.discussion import moderation as moderation_service
from forum.discussion import senders
from forum.discussion import service as discussion
from forum.discussion import threads as thread_reads
from forum.models import Event, Post
from forum.web.discussion.access import _event_or_404, _is_officer, _panelist_moderator, bp, reader_zone
from forum.web.forms import submitted


class ModerateForm(CheckedForm):
    reason = TextAreaField(
        _l("Reason (sent to the author when rejecting)"),
        validators=[Optional(), Length(max=2000)],
    )
    approve = SubmitField(_l("Approve and send"))
    always = SubmitField(_l("Approve and always accept this sender"))
    reject = SubmitField(_l("Reject"))


#: The same three decisions for every ticked post at once (checkboxes named `post`, outside
#: the form, joined to it by its id): one form, worded for many.
BULK_LABELS = {
    "reason": "Reason for rejecting the ticked posts (sent to their authors)",
    "approve": "Approve ticked",
    "always": "Approve ticked and always accept their senders",
    "reject": "Reject ticked",
}


def bulk_form() -> ModerateForm:
    form = ModerateForm(prefix="bulk")
    for name, label in BULK_LABELS.items():
        form[name].label.text = label
    return form


def _moderator_identity(event: Event) -> str:
    """Email of the officer or moderator panelist looking at the queue; 403 for anyone else."""
    if _is_officer(event):
        return str(current_user.email)
    link = _panelist_moderator(event, request.args.get("t"))
    if link is not None:
        session[f"forum_moderator_{event.id}"] = link.panelist_id
        return link.panelist.email or ""
    panelist_id = session.get(f"forum_moderator_{event.id}")
    link = next(
        (lk for lk in event.panelist_links if lk.panelist_id == panelist_id and lk.role == "moderator"),
        None,
    )
    if link is not None:
        return link.panelist.email or ""
    abort(
        403,
        description=_l("The moderation queue is for officers (sign in) and this e-forum's moderators "
        "(use the link in a hold notice)."),
    )


@bp.route("/manage/events/<slug>/moderation", methods=["GET"])
def moderation(slug: str) -> str:
    event = _event_or_404(slug)
    return _moderation_page(event, _moderator_identity(event))


def _moderation_page(
    event: Event,
    moderator: str,
    refused: ModerateForm | None = None,
    post_id: int = 0,
    bulk: ModerateForm | None = None,
) -> str:
    """The held posts, each with its form; `refused` (post `post_id`'s) keeps what was typed."""
    held = thread_reads.held_posts(event)
    forms = {post.id: ModerateForm(prefix=f"p{post.id}") for post in held}
    if refused is not None:
        forms[post_id] = refused
    return render_template(
        "discussion/moderation.html",
        event=event,
        held=held,
        forms=forms,
        bulk=bulk or bulk_form(),
        accepted=senders.accepted_senders(event),
        moderator=moderator,
        zone=reader_zone(event),
    )


@bp.route("/manage/events/<slug>/moderation/<int:post_id>", methods=["POST"])
def moderate(slug: str, post_id: int) -> ResponseReturnValue:
    event = _event_or_404(slug)
    moderator = _moderator_identity(event)
    post = db.session.get(Post, post_id)
    if post is None or post.event_id != event.id:
        abort(404, description=_l("There is no such post in this e-forum."))
    form = ModerateForm(prefix=f"p{post.id}")
    submitted(form, _("The form expired; reload the queue and try again."))
    if post.status != "held":
        flash(_("That post was already %(status)s.", status=post.status), "info")
        return redirect(url_for(".moderation", slug=event.slug))
    if form.reject.data:
        reason = (form.reason.data or "").strip()
        if not reason:
            form.reason.errors = [*form.reason.errors, _("Say why, so the author knows what to change.")]
            return _moderation_page(event, moderator, form, post.id), 400
        discussion.reject(post, reason, moderator)
        db.session.commit()
        flash(_("Rejected “%(subject)s”; the reason was mailed to %(author_display)s.", subject=post.subject, author_display=post.author_display), "success")
    elif form.always.data:
        moderation_service.moderate_many(event, [post.id], "always", moderator)
        db.session.commit()
        flash(_("Approved “%(subject)s”; %(author_email)s will always be accepted.", subject=post.subject, author_email=post.author_email), "success")
    else:
        discussion.accept(post, moderator)
        db.session.commit()
        flash(_("Approved “%(subject)s”; it was sent to the list.", subject=post.subject), "success")
    return redirect(url_for(".moderation", slug=event.slug))


@bp.route("/manage/events/<slug>/moderation/bulk", methods=["POST"])
def moderate_bulk(slug: str) -> ResponseReturnValue:
    """Approve, reject or approve-and-always-accept every ticked held post at once."""
    event = _event_or_404(slug)
    moderator = _moderator_identity(event)
    form = bulk_form()
    submitted(form, _("The form expired; reload the queue and try again."))
    ids = [int(raw) for raw in request.form.getlist("post") if raw.isdigit()]
    if not ids:
        flash(_("Tick the posts to decide first."), "info")
        return redirect(url_for(".moderation", slug=event.slug))
    action = "reject" if form.reject.data else "always" if form.always.data else "approve"
    reason = (form.reason.data or "").strip()
    if action == "reject" and not reason:
        form.reason.errors = [*form.reason.errors, _("Say why, so the authors know what to change.")]
        return _moderation_page(event, moderator, bulk=form), 400
    result = moderation_service.moderate_many(event, ids, action, moderator, reason)
    db.session.commit()
    done = len(result.rejected) if action == "reject" else len(result.approved)
    if action == "reject":
        message = ngettext("Rejected %(num)d post.", "Rejected %(num)d posts.", done)
    else:
        message = ngettext("Approved %(num)d post.", "Approved %(num)d posts.", done)
    if result.skipped:
        message += " " + ngettext(
            "%(num)d was no longer waiting.", "%(num)d were no longer waiting.", len(result.skipped)
        )
    flash(message, "success")
    return redirect(url_for(".moderation", slug=event.slug))
