"""E-forum discussion pages: archive, web posting, moderation queue.

Placeholder archive route so List-Archive links can be built; the e-forum issue fills it in.
"""

from flask import Blueprint, abort

bp = Blueprint("discussion", __name__)


@bp.route("/events/<slug>/archive")
def archive(slug: str):  # type: ignore[no-untyped-def]
    abort(404)
