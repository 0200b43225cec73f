"""E-forum discussion pages: archive, threads, permalinks, search, web posting, and the
one-document export officers summarise from. Who may read them and in which zone is
access.py; the moderation queue is moderation.py (on the same blueprint).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

from flask import Response, abort, flash, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import func, select
from wtforms import StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from forum.core import clock, timezones
from forum.core.extensions import db
from forum.core.validation import CheckedForm
from forum.discussion import search as archive_search
from forum.discussion import service as discussion
from forum.discussion import threads as thread_reads
from forum.models import Event, Post, Thread
from forum.web.discussion import moderation  # noqa: F401  (its routes join bp)
from forum.web.discussion.access import (
    _event_or_404,
    _grant,
    _is_officer,
    _remember_poster,
    _require_reader,
    _subscription_from_token,
    _with_zone_cookie,
    bp,
    poster_token,
    reader_zone,
)
from forum.web.events.public import (
    render_error,  # the site's error page (409 has no app-wide handler)
)

_BLOCKQUOTE_RE = re.compile(r"<(/?)blockquote\b[^>]*>", re.IGNORECASE)


class PostForm(CheckedForm):
    subject = StringField(_l("Subject"), validators=[Optional(), Length(max=300)])
    body = TextAreaField(
        _l("Message"),
        validators=[DataRequired(_l("Write your message.")), Length(max=100_000)],
        description=_l("Plain text; Markdown formatting such as *emphasis* and lists works."),
    )
    submit = SubmitField(_l("Post to the e-forum"))


@bp.app_template_filter("fold_quotes")
def fold_quotes(html: str) -> Markup:
    """Wrap each outermost quoted block of a (sanitised) post in a closed <details>."""
    out: list[str] = []
    depth = 0
    pos = 0
    for match in _BLOCKQUOTE_RE.finditer(html):
        closing = bool(match.group(1))
        if not closing:
            if depth == 0:
                out.append(html[pos : match.start()])
                out.append('<details class="quoted"><summary>Quoted text</summary>')
                pos = match.start()
            depth += 1
        elif depth > 0:
            depth -= 1
            if depth == 0:
                out.append(html[pos : match.end()])
                out.append("</details>")
                pos = match.end()
    if depth > 0:  # unbalanced: leave the rest as it is, closed
        out.append(html[pos:])
        out.append("</details>")
    else:
        out.append(html[pos:])
    return Markup("".join(out))  # noqa: S704 - input is sanitised post HTML; only tags added


# --- archive -------------------------------------------------------------------------------------


@bp.route("/events/<slug>/archive")
def archive(slug: str) -> Response:
    event = _event_or_404(slug)
    _require_reader(event)
    query = request.args.get("q", "").strip()[:200]
    author = request.args.get("author", "").strip()[:200]
    zone = reader_zone(event)
    since, until = _day_start(request.args.get("from"), zone), _day_start(request.args.get("to"), zone, 1)
    wanted = query or author or since or until
    results = archive_search.search(event, query, author=author, since=since, until=until) if wanted else None
    threads = thread_reads.threads(event)
    starters = _thread_starters(threads)
    html = render_template(
        "discussion/archive.html",
        event=event,
        threads=threads,
        starters=starters,
        query=query,
        author=author,
        since=request.args.get("from", "") if since else "",
        until=request.args.get("to", "") if until else "",
        results=results,
        zone=zone,
        now=clock.now(),
        can_export=_is_officer(event) and _closed(event),
        reply_token=poster_token(event),
    )
    return _with_zone_cookie(make_response(html))


def _day_start(raw: str | None, zone: str, days_after: int = 0) -> datetime | None:
    """The instant a `YYYY-MM-DD` day (plus `days_after`) starts in the reader's zone; None
    for anything else, so a hand-edited URL filters nothing rather than failing."""
    try:
        day = date.fromisoformat((raw or "").strip())
    except ValueError:
        return None
    wall = datetime.combine(day + timedelta(days=days_after), time())
    try:
        return timezones.localize(wall, zone).instant
    except timezones.TimeInputError:  # midnight skipped by a DST change: an hour later exists
        return timezones.localize(wall + timedelta(hours=1), zone).instant


def _thread_starters(threads: list[Thread]) -> dict[int, Post]:
    """Each thread's first accepted post (Thread.posts is in id order), in one query for all."""
    if not threads:
        return {}
    first_ids = (
        select(func.min(Post.id))
        .where(Post.thread_id.in_([t.id for t in threads]), Post.status == "accepted")
        .group_by(Post.thread_id)
    )
    return {
        post.thread_id: post
        for post in db.session.scalars(select(Post).where(Post.id.in_(first_ids)))
        if post.thread_id is not None
    }


@bp.route("/events/<slug>/archive/threads/<int:thread_id>")
def thread(slug: str, thread_id: int) -> Response:
    event = _event_or_404(slug)
    _require_reader(event)
    found = db.session.get(Thread, thread_id)
    if found is None or found.event_id != event.id or not found.post_count:
        abort(404, description=_l("There is no such thread in this e-forum."))
    posts = thread_reads.accepted_posts(event, found.id)
    html = render_template(
        "discussion/thread.html",
        event=event,
        thread=found,
        tree=thread_reads.thread_tree(posts),
        zone=reader_zone(event),
        reply_token=poster_token(event),
    )
    return _with_zone_cookie(make_response(html))


@bp.route("/events/<slug>/archive/posts/<int:post_id>")
def post(slug: str, post_id: int) -> Response:
    """One post on its own page: the URL sent as Archived-At."""
    event = _event_or_404(slug)
    _require_reader(event)
    found = db.session.get(Post, post_id)
    if found is None or found.event_id != event.id or found.status != "accepted":
        abort(404, description=_l("There is no such post in this e-forum's archive."))
    html = render_template(
        "discussion/post.html",
        event=event,
        post=found,
        thread=found.thread,
        zone=reader_zone(event),
        reply_token=poster_token(event),
    )
    return _with_zone_cookie(make_response(html))


def _closed(event: Event) -> bool:
    end = event.ends_at
    return end is not None and clock.now() >= end


@bp.route("/events/<slug>/archive/export")
def export(slug: str) -> Response:
    """The whole discussion as one HTML document, for officers once the forum has closed."""
    event = _event_or_404(slug)
    if not _is_officer(event):
        abort(403, description=_l("Only program officers can export a discussion."))
    if not _closed(event):
        return render_error(409, _("The discussion can be exported after the e-forum closes."))  # type: ignore[return-value]
    threads = sorted(thread_reads.threads(event), key=lambda t: (t.created_at, t.id))
    trees = [(t, thread_reads.thread_tree(thread_reads.accepted_posts(event, t.id))) for t in threads]
    html = render_template(
        "discussion/export.html", event=event, trees=trees, zone=event.timezone, exported_at=clock.now()
    )
    resp = make_response(html)
    resp.headers["Content-Type"] = "text/html; charset=utf-8"
    resp.headers["Content-Disposition"] = f'attachment; filename="{event.slug}-discussion.html"'
    return resp


# --- posting on the web ------------------------------------------------------------------------------


@bp.route("/post/<token>", methods=["GET", "POST"])
def compose(token: str) -> ResponseReturnValue:
    sub = _subscription_from_token(token)
    if sub is None:
        abort(
            403,
            description=_l("This posting link is not valid (or your subscription is no longer active). "
            "Use the link in a recent message from the list."),
        )
    event = sub.event
    _grant("forum_readers", event.id)
    _remember_poster(event.id, token)
    parent = _reply_parent(event)
    form = PostForm()
    if parent is not None and request.method == "GET":
        form.subject.data = thread_reads.reply_subject(parent.subject)
    closed = discussion.closed_reason(event, clock.now())
    if form.validate_on_submit():
        if parent is None and not (form.subject.data or "").strip():
            form.subject.errors = [*form.subject.errors, _("Give your new thread a subject.")]
        else:
            outcome = discussion.post_from_web(sub, form.subject.data or "", form.body.data or "", parent)
            if outcome.status == "accepted":
                flash(_("Your post was sent to the e-forum."), "success")
                return redirect(url_for(".post", slug=event.slug, post_id=outcome.post.id))  # type: ignore[union-attr]
            if outcome.status == "held":
                flash(_("%(reason)s You will see it in the archive once approved.", reason=outcome.reason), "info")
                return redirect(url_for(".compose", token=token))
            form.body.errors = [*form.body.errors, outcome.reason]
    return render_template(
        "discussion/compose.html",
        event=event,
        subscription=sub,
        form=form,
        parent=parent,
        token=token,
        closed=closed,
        now=clock.now(),
        zone=reader_zone(event, sub.participant),
    )


def _reply_parent(event: Event) -> Post | None:
    raw = request.args.get("reply", "")
    if not raw.isdigit():
        return None
    post = db.session.get(Post, int(raw))
    if post is None or post.event_id != event.id or post.status != "accepted":
        return None
    return post
