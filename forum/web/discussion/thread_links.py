"""Thread controls from mail, with no login: the signed "mute this thread" and "follow only
this thread" links every list mail carries, and the page of a reader's thread choices a
digest links to.

The token names a subscription (`mail.links.threads_url`, salt "threads"); the thread is
in the path and must belong to that subscription's forum. A GET only shows a button: mail
scanners that fetch every link must not mute anything. The POST calls
`discussion.thread_choices.choose`, like the preferences page and the JSON API.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import RadioField, SubmitField
from wtforms.fields.choices import SelectChoice

from forum.core.extensions import db
from forum.core.tokens import TokenError, read_token
from forum.core.validation import CheckedForm
from forum.discussion import thread_choices
from forum.mail.links import preferences_url, token_max_age
from forum.models import Subscription, Thread, ThreadChoice

bp = Blueprint("thread_choices", __name__)

#: How many of the forum's threads the choices page lists (the most recently active).
PAGE_THREADS = 200


class ChoiceForm(CheckedForm):
    """One thread's choice; `rest` only matters when an each-message reader follows one."""

    rest = RadioField(
        _l("The rest of this e-forum"),
        choices=[
            SelectChoice("digest", _l("In a digest")),
            SelectChoice("none", _l("No mail: I read it on the web")),
            SelectChoice("keep", _l("Keep every message coming")),
        ],
        default="digest",
    )
    submit = SubmitField(_l("Confirm"))


def _subscription(token: str) -> Subscription:
    """The active subscription a threads link names, or an error page (400/410 for a bad or
    old link, 404 for a subscription that has ended)."""
    try:
        sub_id = read_token("threads", token, token_max_age("threads"))
    except TokenError as exc:
        abort(410 if exc.expired else 400, description=_("This link is not valid any more. Use the links in a recent message from the list."))
    sub = db.session.get(Subscription, sub_id) if isinstance(sub_id, int) else None
    if sub is None or not sub.is_active or not sub.event.is_eforum:
        abort(404, description=_("This subscription has ended, so there are no thread choices to make."))
    return sub


def _thread(sub: Subscription, thread_id: int) -> Thread:
    thread = thread_choices.thread_of(sub, thread_id)
    if thread is None:
        abort(404, description=_("There is no such thread in this e-forum."))
    return thread


#: What a thread link may do (the last part of its path).
ACTIONS = ("mute", "follow", "clear")


@bp.route("/threads/<token>/<int:thread_id>/<action>", methods=["GET", "POST"])
def one(token: str, thread_id: int, action: str) -> Any:
    """Mute, follow only, or let go of one thread (GET asks, POST does)."""
    if action not in ACTIONS:
        abort(404, description=_("A thread link ends in mute, follow or clear."))
    sub = _subscription(token)
    thread = _thread(sub, thread_id)
    form = ChoiceForm()
    done = False
    if form.validate_on_submit():
        rest = form.rest.data if action == "follow" and form.rest.data in thread_choices.REST_MODES else None
        thread_choices.choose(sub, thread.id, None if action == "clear" else action, rest_mode=rest)
        db.session.commit()
        done = True
    status = 400 if request.method == "POST" and not done else 200
    return render_template(
        "discussion/thread_choice.html",
        subscription=sub,
        event=sub.event,
        thread=thread,
        action=action,
        form=form,
        done=done,
        current=thread_choices.choice_of(sub, thread),
        token=token,
        preferences_url=preferences_url(sub.participant),
    ), status


@bp.route("/threads/<token>", methods=["GET"])
def page(token: str) -> Any:
    """The forum's threads, most recently active first, each with the reader's choice and buttons."""
    sub = _subscription(token)
    threads = db.session.scalars(
        select(Thread)
        .where(Thread.event_id == sub.event_id, Thread.post_count > 0)
        .order_by(Thread.last_post_at.desc(), Thread.id.desc())
        .limit(PAGE_THREADS)
    ).all()
    chosen = {
        row.thread_id: row.choice
        for row in db.session.scalars(select(ThreadChoice).where(ThreadChoice.subscription_id == sub.id))
    }
    return render_template(
        "discussion/thread_choices.html",
        subscription=sub,
        event=sub.event,
        threads=threads,
        chosen=chosen,
        form=ChoiceForm(formdata=None),
        token=token,
        preferences_url=preferences_url(sub.participant),
    )
