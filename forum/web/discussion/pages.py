"""E-forum discussion pages: archive, threads, permalinks, search, web posting,
moderation queue, and the one-document export officers summarise from.

Who may read: anyone when the archive is public; otherwise officers, moderators and
subscribers who came through their signed link (remembered in the session for the
forum). The same visit remembers a subscriber's posting link, so the archive pages
can offer "Reply" on each post. Times are shown in the reader's zone: `?tz=` or the `tz` cookie the page's
script sets from the browser, else the forum's home zone.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import func, select
from wtforms import StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from forum.core import clock, timezones
from forum.core.extensions import db
from forum.core.tokens import TokenError, read_token
from forum.core.validation import CheckedForm
from forum.discussion import moderation as moderation_service
from forum.discussion import search as archive_search
from forum.discussion import senders
from forum.discussion import service as discussion
from forum.discussion import threads as thread_reads
from forum.mail.links import token_max_age
from forum.models import Event, EventPanelist, Participant, Post, Subscription, Thread
from forum.team import roles
from forum.web.events.public import (
    render_error,  # the site's error page (409 has no app-wide handler)
)

bp = Blueprint("discussion", __name__)

_BLOCKQUOTE_RE = re.compile(r"<(/?)blockquote\b[^>]*>", re.IGNORECASE)


# --- forms ------------------------------------------------------------------------------------


class PostForm(CheckedForm):
    subject = StringField("Subject", validators=[Optional(), Length(max=300)])
    body = TextAreaField(
        "Message",
        validators=[DataRequired("Write your message."), Length(max=100_000)],
        description="Plain text; Markdown formatting such as *emphasis* and lists works.",
    )
    submit = SubmitField("Post to the e-forum")


class ModerateForm(CheckedForm):
    reason = TextAreaField(
        "Reason (sent to the author when rejecting)",
        validators=[Optional(), Length(max=2000)],
    )
    approve = SubmitField("Approve and send")
    always = SubmitField("Approve and always accept this sender")
    reject = SubmitField("Reject")


class BulkModerateForm(CheckedForm):
    """The ticked posts (checkboxes named `post`, outside this form, joined by its id)."""

    reason = TextAreaField(
        "Reason for rejecting the ticked posts (sent to their authors)",
        validators=[Optional(), Length(max=2000)],
    )
    approve = SubmitField("Approve ticked")
    always = SubmitField("Approve ticked and always accept their senders")
    reject = SubmitField("Reject ticked")


# --- access ------------------------------------------------------------------------------------


def _event_or_404(slug: str) -> Event:
    event = Event.by_slug(slug)
    if event is None or not event.is_eforum or (not event.is_public and not _is_officer(event)):
        abort(404, description="There is no e-forum here.")
    return event


def _is_officer(event: Event) -> bool:
    """A signed-in officer with a role on this event (any role: they see its drafts and
    archive); an officer of other events is a reader like anyone else here."""
    if not getattr(current_user, "is_authenticated", False):
        return False
    return roles.can(current_user, roles.EVENT_VIEW, event)  # type: ignore[arg-type]


def _grant(key: str, event_id: int) -> None:
    granted = set(session.get(key, []))
    granted.add(event_id)
    session[key] = sorted(granted)


def _granted(key: str, event_id: int) -> bool:
    return event_id in session.get(key, [])


def _remember_poster(event_id: int, token: str) -> None:
    """Keep the subscriber's signed posting link for this forum, beside the reader grant."""
    links = dict(session.get("forum_post_links", {}))
    links[str(event_id)] = token
    session["forum_post_links"] = links


def poster_token(event: Event) -> str | None:
    """The remembered posting link for this forum, while it is still valid and the forum open."""
    token = session.get("forum_post_links", {}).get(str(event.id))
    if not token:
        return None
    sub = _subscription_from_token(token)
    if sub is None or sub.event_id != event.id:
        return None
    if discussion.closed_reason(event, clock.now()):
        return None
    return token


def _subscription_from_token(token: str) -> Subscription | None:
    try:
        sub_id = read_token("post", token, token_max_age("post"))
    except TokenError:
        return None
    sub = db.session.get(Subscription, sub_id) if isinstance(sub_id, int) else None
    return sub if sub is not None and sub.is_active else None


def _panelist_moderator(event: Event, token: str | None) -> EventPanelist | None:
    """The moderator a hold notice's signed link was made for, if still a moderator."""
    if not token:
        return None
    try:
        payload = read_token("moderate", token, token_max_age("moderate"))
    except TokenError:
        return None
    if not (isinstance(payload, list) and len(payload) == 2 and payload[0] == event.id):
        return None
    return next(
        (
            link
            for link in event.panelist_links
            if link.panelist_id == payload[1] and link.role == "moderator"
        ),
        None,
    )


def _require_reader(event: Event) -> None:
    """Public archives are open; others need an officer, a moderator or a subscriber's link."""
    token = request.args.get("t")
    if token:
        sub = _subscription_from_token(token)
        is_subscriber = sub is not None and sub.event_id == event.id
        if is_subscriber:
            _remember_poster(event.id, token)
        if is_subscriber or _panelist_moderator(event, token) is not None:
            _grant("forum_readers", event.id)
    if event.archive_public or _is_officer(event) or _granted("forum_readers", event.id):
        return
    abort(
        403,
        description="This e-forum's archive is for its subscribers. "
        "Open it from the link in any message from the list.",
    )


# --- reader's zone --------------------------------------------------------------------------------


def reader_zone(event: Event, participant: Participant | None = None) -> str:
    """?tz=, then the zone remembered from it, then the participant's own (a signed posting
    link tells who reads), then the e-forum's."""
    own = participant.timezone if participant is not None else None
    return timezones.reader_zone(request.args.get("tz"), request.cookies.get("tz"), own, fallback=event.timezone)


def _with_zone_cookie(resp: Response) -> Response:
    zone = request.args.get("tz")
    if zone and timezones.is_zone(zone):
        resp.set_cookie("tz", zone, max_age=365 * 86400, samesite="Lax")
    return resp


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
        abort(404, description="There is no such thread in this e-forum.")
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
        abort(404, description="There is no such post in this e-forum's archive.")
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
        abort(403, description="Only program officers can export a discussion.")
    if not _closed(event):
        return render_error(409, "The discussion can be exported after the e-forum closes.")  # type: ignore[return-value]
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
            description="This posting link is not valid (or your subscription is no longer active). "
            "Use the link in a recent message from the list.",
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
            form.subject.errors = [*form.subject.errors, "Give your new thread a subject."]
        else:
            outcome = discussion.post_from_web(sub, form.subject.data or "", form.body.data or "", parent)
            if outcome.status == "accepted":
                flash("Your post was sent to the e-forum.", "success")
                return redirect(url_for(".post", slug=event.slug, post_id=outcome.post.id))  # type: ignore[union-attr]
            if outcome.status == "held":
                flash(f"{outcome.reason} You will see it in the archive once approved.", "info")
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


# --- moderation -----------------------------------------------------------------------------------


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
        description="The moderation queue is for officers (sign in) and this e-forum's moderators "
        "(use the link in a hold notice).",
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
    bulk: BulkModerateForm | None = None,
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
        bulk=bulk or BulkModerateForm(prefix="bulk"),
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
        abort(404, description="There is no such post in this e-forum.")
    form = ModerateForm(prefix=f"p{post.id}")
    if not form.validate_on_submit():
        abort(400, description="The form expired; reload the queue and try again.")
    if post.status != "held":
        flash(f"That post was already {post.status}.", "info")
        return redirect(url_for(".moderation", slug=event.slug))
    if form.reject.data:
        reason = (form.reason.data or "").strip()
        if not reason:
            form.reason.errors = [*form.reason.errors, "Say why, so the author knows what to change."]
            return _moderation_page(event, moderator, form, post.id), 400
        discussion.reject(post, reason, moderator)
        db.session.commit()
        flash(f"Rejected “{post.subject}”; the reason was mailed to {post.author_display}.", "success")
    elif form.always.data:
        moderation_service.moderate_many(event, [post.id], "always", moderator)
        db.session.commit()
        flash(f"Approved “{post.subject}”; {post.author_email} will always be accepted.", "success")
    else:
        discussion.accept(post, moderator)
        db.session.commit()
        flash(f"Approved “{post.subject}”; it was sent to the list.", "success")
    return redirect(url_for(".moderation", slug=event.slug))


@bp.route("/manage/events/<slug>/moderation/bulk", methods=["POST"])
def moderate_bulk(slug: str) -> ResponseReturnValue:
    """Approve, reject or approve-and-always-accept every ticked held post at once."""
    event = _event_or_404(slug)
    moderator = _moderator_identity(event)
    form = BulkModerateForm(prefix="bulk")
    if not form.validate_on_submit():
        abort(400, description="The form expired; reload the queue and try again.")
    ids = [int(raw) for raw in request.form.getlist("post") if raw.isdigit()]
    if not ids:
        flash("Tick the posts to decide first.", "info")
        return redirect(url_for(".moderation", slug=event.slug))
    action = "reject" if form.reject.data else "always" if form.always.data else "approve"
    reason = (form.reason.data or "").strip()
    if action == "reject" and not reason:
        form.reason.errors = [*form.reason.errors, "Say why, so the authors know what to change."]
        return _moderation_page(event, moderator, bulk=form), 400
    result = moderation_service.moderate_many(event, ids, action, moderator, reason)
    db.session.commit()
    done = len(result.rejected) if action == "reject" else len(result.approved)
    verb = "Rejected" if action == "reject" else "Approved"
    message = f"{verb} {done} post{'s' if done != 1 else ''}."
    if result.skipped:
        message += f" {len(result.skipped)} were no longer waiting."
    flash(message, "success")
    return redirect(url_for(".moderation", slug=event.slug))
