"""The archive's Atom feed (public archives) and its mbox export (officers; everyone for a
public archive). The rules for what each contains are in `forum.discussion.exports`."""

from __future__ import annotations

from flask import Blueprint, Response, abort, make_response, render_template, request, stream_with_context
from flask_babel import lazy_gettext as _l

from forum.core import clock
from forum.core.urls import external_url
from forum.discussion import exports
from forum.discussion.notices import permalink
from forum.web.discussion.access import _event_or_404, _is_officer
from forum.web.page_cache import cached_file

bp = Blueprint("discussion_exports", __name__)


@bp.route("/events/<slug>/archive/feed.atom")
def feed(slug: str) -> Response:
    """New threads (`?kind=threads`, the default) or every post (`?kind=posts`), newest first.
    The same for every reader: from the page cache, with an ETag of its bytes."""
    return cached_file(lambda: _feed(slug), reads=("kind",))


def _feed(slug: str) -> Response:
    event = _event_or_404(slug)
    if not (event.is_public and event.archive_public):
        abort(404, description=_l("This e-forum's archive has no public feed."))
    kind = request.args.get("kind", "threads")
    if kind not in exports.FEED_KINDS:
        abort(400, description=_l("kind must be threads or posts."))
    posts = exports.feed_posts(event, kind)
    self_url = external_url("discussion_exports.feed", slug=event.slug, kind=kind)
    updated = max((p.accepted_at for p in posts if p.accepted_at), default=event.published_at or clock.now())
    xml = render_template(
        "discussion/feed.atom.xml",
        event=event,
        posts=posts,
        links={post.id: permalink(post) for post in posts},
        kind=kind,
        self_url=self_url,
        archive_url=external_url("discussion.archive", slug=event.slug),
        updated=updated,
    )
    resp = make_response(xml)
    resp.headers["Content-Type"] = "application/atom+xml; charset=utf-8"
    return resp


@bp.route("/events/<slug>/archive/archive.mbox")
def mbox(slug: str) -> Response:
    """Every accepted post as an mbox; authors' addresses only for officers."""
    event = _event_or_404(slug)
    officer = _is_officer(event)  # a role on this event: other events' officers are readers here
    if not officer and not event.archive_public:
        abort(403, description=_l("Only program officers can export this e-forum's archive."))
    resp = Response(stream_with_context(exports.mbox_chunks(event, with_addresses=officer)))
    resp.headers["Content-Type"] = "application/mbox"
    resp.headers["Content-Disposition"] = f'attachment; filename="{event.slug}.mbox"'
    return resp
